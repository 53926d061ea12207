from django.contrib import admin

from cercle.core.admin import ReadOnlyAdmin

from .models import Activity, Member, Workspace


@admin.register(Workspace)
class WorkspaceAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "slug", "timezone", "language", "created_at")
    search_fields = ("name", "slug")


@admin.register(Member)
class MemberAdmin(ReadOnlyAdmin):
    list_display = ("id", "workspace", "user", "role", "display_name", "is_active", "created_at")
    list_filter = ("role", "is_active")
    search_fields = ("user__username", "display_name", "workspace__name")
    list_select_related = ("workspace", "user")


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "workspace",
        "verb",
        "actor",
        "automation",
        "automation_name",
        "created_at",
    )
    list_filter = ("verb", "automation")
    list_select_related = ("workspace", "actor__user")
    raw_id_fields = ("conversation", "message", "channel", "actor")
