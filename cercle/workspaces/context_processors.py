from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .queries import memberships


def workspace(request: HttpRequest) -> dict[str, Any]:
    member = getattr(request, "member", None)
    if member is None:
        return {"member": None}
    return {
        "member": member,
        "workspace": member.workspace,
        "memberships": memberships(request.user) if request.user.is_authenticated else [],
    }
