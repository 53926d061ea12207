"""The bell in the header: `{% load notification_tags %}{% notification_bell %}`."""

from __future__ import annotations

from typing import Any

from django import template

from cercle.notifications import queries
from cercle.workspaces.models import Member

register = template.Library()


@register.inclusion_tag("notifications/_bell.html", takes_context=True)
def notification_bell(context: dict[str, Any]) -> dict[str, Any]:
    member = context.get("member")
    if not isinstance(member, Member):
        return {"hidden": True}
    latest = queries.latest_unread(member)
    return {
        "unread": queries.unread_count(member),
        "latest": latest,
        "latest_text": queries.describe(latest) if latest else "",
    }
