"""Reads of the workspaces app."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import Member


def memberships(user: Any) -> QuerySet[Member]:
    return (
        Member.objects.filter(user=user)
        .select_related("workspace", "user")
        .order_by("workspace__name")
    )


def membership_for(user: Any, workspace_id: int | None) -> Member | None:
    """The member row of `user` in the chosen workspace, else in their first workspace."""
    qs = memberships(user)
    if workspace_id is not None:
        member = qs.filter(workspace_id=workspace_id).first()
        if member is not None:
            return member
    return qs.first()
