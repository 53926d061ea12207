from django.contrib import admin

from cercle.core.admin import ReadOnlyAdmin

from .models import Channel, QuotaWindow


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
        "next_poll_at",
        "unknown_account_deliveries",
        "is_active",
    )
    list_filter = ("platform", "health", "is_active")
    search_fields = ("name", "external_id", "uuid")
    list_select_related = ("workspace",)
    # Secrets stay encrypted and unseen: the admin never shows the credentials.
    exclude = ("credentials_token", "verify_token")


@admin.register(QuotaWindow)
class QuotaWindowAdmin(ReadOnlyAdmin):
    """Where each channel stands in its platform's quota windows (counted by connectors.quota)."""

    list_display = ("channel", "name", "used", "limit", "resets_at", "blocked_until")
    list_filter = ("name",)
    search_fields = ("name", "channel__name")
    list_select_related = ("channel",)
