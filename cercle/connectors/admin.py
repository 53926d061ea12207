from django.contrib import admin

from cercle.core.admin import ReadOnlyAdmin

from .models import Channel


@admin.register(Channel)
class ChannelAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "workspace",
        "platform",
        "name",
        "external_id",
        "health",
        "paused_until",
        "last_polled_at",
        "is_active",
    )
    list_filter = ("platform", "health", "is_active")
    search_fields = ("name", "external_id", "uuid")
    list_select_related = ("workspace",)
    # Secrets stay encrypted and unseen: the admin never shows the credentials.
    exclude = ("credentials_token", "verify_token")
