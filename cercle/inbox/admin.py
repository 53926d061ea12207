from django.contrib import admin

from cercle.core.admin import ReadOnlyAdmin

from .models import BulkJob, Outbox


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


@admin.register(BulkJob)
class BulkJobAdmin(ReadOnlyAdmin):
    """Operators see the bulk jobs and where each stands (a failed one says why)."""

    list_display = (
        "id",
        "workspace",
        "actor",
        "operation",
        "scope",
        "state",
        "total",
        "done",
        "changed",
        "undone",
        "kept",
        "created_at",
        "finished_at",
        "undone_at",
        "error",
    )
    list_filter = ("state", "operation")
    list_select_related = ("workspace", "actor__user")
