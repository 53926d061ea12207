from django.contrib import admin

from cercle.core.admin import ReadOnlyAdmin

from .models import RawEvent


@admin.register(RawEvent)
class RawEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "workspace", "channel", "source", "status", "received_at", "error")
    list_filter = ("status", "source")
    list_select_related = ("workspace", "channel")
    raw_id_fields = ("channel",)
