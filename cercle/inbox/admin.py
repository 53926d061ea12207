from django.contrib import admin

from cercle.core.admin import ReadOnlyAdmin

from .models import Outbox


@admin.register(Outbox)
class OutboxAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "workspace",
        "channel",
        "action",
        "state",
        "attempts",
        "next_attempt_at",
        "last_error",
        "platform_id",
    )
    list_filter = ("state", "action")
    list_select_related = ("workspace", "channel")
    raw_id_fields = ("message", "conversation", "channel")
