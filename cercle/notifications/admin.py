from django.contrib import admin

from cercle.core.admin import ReadOnlyAdmin

from .models import LogCursor, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ("id", "workspace", "name", "is_active", "created_at")
    list_filter = ("is_active",)
    list_select_related = ("workspace",)
    # Never the encrypted secret, nor the URL (it may carry a token).
    fields = ("workspace", "name", "events", "is_active", "start_after", "created_at")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "endpoint",
        "event_type",
        "state",
        "attempts",
        "last_status",
        "next_attempt_at",
        "last_error",
    )
    list_filter = ("state",)
    list_select_related = ("endpoint",)
    raw_id_fields = ("endpoint", "activity")


@admin.register(LogCursor)
class LogCursorAdmin(ReadOnlyAdmin):
    list_display = ("name", "last_id", "updated_at")
