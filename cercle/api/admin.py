from django.contrib import admin

from cercle.core.admin import ReadOnlyAdmin

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Operators see who holds tokens; never the secret (only its hash is stored, and not shown)."""

    list_display = (
        "id",
        "workspace",
        "member",
        "name",
        "role",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("role",)
    exclude = ("token_hash",)
    list_select_related = ("workspace", "member__user")
