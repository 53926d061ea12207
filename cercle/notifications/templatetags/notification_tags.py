"""The bell in the header: `{% load notification_tags %}{% notification_bell %}`.

`header_facts(member)` reads, in one query, what every full page's header shows of the
member's workspace: the bell's unread count and newest unread notification, the number of
replies awaiting approval (`replies_tags.approvals_waiting`) and whether a crisis alert runs
(`moderation_tags.crisis_banner`). Read afresh on each request (no cache: a notification
read, a reply approved or an alert ended shows on the next page); kept on the member object
so the three tags share it within one request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template
from django.db.models import Exists, F, Func, IntegerField, Subquery
from django.db.models.functions import Coalesce

from cercle.moderation.models import CrisisAlert
from cercle.notifications import queries
from cercle.notifications.models import Notification
from cercle.replies.queries import approval_queue
from cercle.workspaces.models import Member

register = template.Library()

_FACTS_ATTRIBUTE = "_header_facts"


@dataclass(frozen=True)
class HeaderFacts:
    unread: int
    latest_unread_id: int | None
    approvals_waiting: int
    crisis_running: bool


def _count(qs: Any) -> Coalesce:
    """`SELECT COUNT(*)` of `qs` as a scalar subquery (no GROUP BY: one row whatever matches)."""
    counted = qs.order_by().values(n=Func(F("pk"), function="COUNT"))
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def header_facts(member: Member) -> HeaderFacts:
    """The header's counts for `member`, in one query (memoized on this member object)."""
    cached = getattr(member, _FACTS_ATTRIBUTE, None)
    if isinstance(cached, HeaderFacts):
        return cached
    unread = Notification.objects.filter(member=member, in_app=True, read_at__isnull=True)
    row = (
        Member.objects.filter(pk=member.pk)
        .values(
            unread=_count(unread),
            latest_unread_id=Subquery(unread.order_by("-id").values("id")[:1]),
            approvals_waiting=_count(approval_queue(member)),
            crisis_running=Exists(
                CrisisAlert.objects.filter(workspace_id=member.workspace_id, ended_at__isnull=True)
            ),
        )
        .first()
    )
    facts = HeaderFacts(
        unread=int(row["unread"]) if row else 0,
        latest_unread_id=row["latest_unread_id"] if row else None,
        approvals_waiting=int(row["approvals_waiting"]) if row else 0,
        crisis_running=bool(row["crisis_running"]) if row else False,
    )
    setattr(member, _FACTS_ATTRIBUTE, facts)
    return facts


@register.inclusion_tag("notifications/_bell.html", takes_context=True)
def notification_bell(context: dict[str, Any]) -> dict[str, Any]:
    member = context.get("member")
    if not isinstance(member, Member):
        return {"hidden": True}
    facts = header_facts(member)
    # The newest unread one is read (with who did what) only when there is one.
    latest = queries.latest_unread(member) if facts.latest_unread_id is not None else None
    return {
        "unread": facts.unread,
        "latest": latest,
        "latest_text": queries.describe(latest) if latest else "",
    }
