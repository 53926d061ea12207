from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .choices import Permission
from .middleware import member_or_none, request_memberships_of


def workspace(request: HttpRequest) -> dict[str, Any]:
    member = member_or_none(request)
    if member is None:
        return {"member": None}
    return {
        "member": member,
        "workspace": member.workspace,
        # Read by the middleware with the member (no second query).
        "memberships": request_memberships_of(request),
        # The settings pages and the user menu link the audit log for these members only.
        "can_manage_members": member.can(Permission.MANAGE_MEMBERS),
    }
