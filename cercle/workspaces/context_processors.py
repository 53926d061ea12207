from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .middleware import member_or_none
from .queries import memberships


def workspace(request: HttpRequest) -> dict[str, Any]:
    member = member_or_none(request)
    if member is None:
        return {"member": None}
    return {
        "member": member,
        "workspace": member.workspace,
        "memberships": memberships(request.user) if request.user.is_authenticated else [],
    }
