"""Template tags of routing: the teams a conversation can be given to (the assign control)."""

from __future__ import annotations

from django import template

from cercle.workspaces.models import Member, Team

register = template.Library()


@register.simple_tag
def assignable_teams(member: Member) -> list[Team]:
    """The teams of the member's workspace, by name (one query)."""
    return list(Team.objects.filter(workspace_id=member.workspace_id).order_by("name", "id"))
