"""The community's members over a period: the most active, first-time or returning, advocates
and critics, and each one's sentiment message after message.

Counts are made by the database, grouped by contact; the listed contacts' latest messages
(at most `SHOWN` contacts × 3 tables × `DOTS` messages) are read in one query, numbered per
contact by a window function (`ROW_NUMBER() OVER (PARTITION BY contact …)`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from cercle.inbox.choices import Direction
from cercle.inbox.models import Contact, Message
from cercle.workspaces.models import Workspace

from .queries import Period

# Contacts listed per table.
SHOWN = 10
# Messages an advocate or a critic needs to be called one.
MIN_MESSAGES = 2
# A contact's latest messages shown as sentiment dots.
DOTS = 20


@dataclass
class Member:
    contact_id: int
    name: str
    messages: int
    positive: int
    negative: int
    first_at: datetime
    returning: bool = False
    # The contact's latest conversation in the period.
    conversation_id: int | None = None
    # Sentiments of the latest messages, oldest first ("positive", "neutral", "negative", "").
    dots: list[str] = field(default_factory=list)

    @property
    def balance(self) -> int:
        return self.positive - self.negative


@dataclass
class Members:
    period: Period
    active: int = 0
    first_time: int = 0
    returning: int = 0
    most_active: list[Member] = field(default_factory=list)
    advocates: list[Member] = field(default_factory=list)
    critics: list[Member] = field(default_factory=list)


def build_members(workspace: Workspace, period: Period) -> Members:
    result = Members(period=period)
    inbound = Message.objects.filter(
        workspace=workspace,
        direction=Direction.INBOUND,
        sent_at__gte=period.start,
        sent_at__lt=period.end,
        conversation__contact__isnull=False,
    )
    rows = (
        inbound.values("conversation__contact_id")
        .annotate(
            n=Count("id"),
            positive=Count("id", filter=Q(sentiment="positive")),
            negative=Count("id", filter=Q(sentiment="negative")),
            first=Min("sent_at"),
        )
        .order_by()
    )
    everyone = {
        row["conversation__contact_id"]: Member(
            contact_id=row["conversation__contact_id"],
            name="",
            messages=row["n"],
            positive=row["positive"],
            negative=row["negative"],
            first_at=row["first"],
        )
        for row in rows
    }
    result.active = len(everyone)
    if not everyone:
        return result
    # Contact by contact, through its conversations (the contact index) and their messages
    # (the conversation index), stopping at the first earlier message: a scan of every
    # earlier message would cost the whole history.
    earlier = Message.objects.filter(
        conversation__contact=OuterRef("pk"), direction=Direction.INBOUND, sent_at__lt=period.start
    )
    before = set(
        Contact.objects.filter(pk__in=list(everyone))
        .filter(Exists(earlier))
        .values_list("pk", flat=True)
    )
    for contact_id, member in everyone.items():
        member.returning = contact_id in before
    result.returning = len(before & set(everyone))
    result.first_time = result.active - result.returning

    members = list(everyone.values())
    result.most_active = sorted(members, key=lambda m: (-m.messages, m.contact_id))[:SHOWN]
    regulars = [m for m in members if m.messages >= MIN_MESSAGES]
    result.advocates = sorted(
        (m for m in regulars if m.balance > 0), key=lambda m: (-m.balance, -m.messages)
    )[:SHOWN]
    result.critics = sorted(
        (m for m in regulars if m.balance < 0), key=lambda m: (m.balance, -m.messages)
    )[:SHOWN]
    _describe(
        inbound,
        {m.contact_id: m for m in [*result.most_active, *result.advocates, *result.critics]},
    )
    return result


def _describe(inbound: QuerySet[Message], shown: dict[int, Member]) -> None:
    """Names, latest conversation and sentiment dots of the listed contacts: their latest
    `DOTS` messages each, numbered per contact by the database in one query."""
    names = dict(Contact.objects.filter(pk__in=list(shown)).values_list("pk", "display_name"))
    latest = (
        inbound.filter(conversation__contact_id__in=list(shown))
        .annotate(
            contact=F("conversation__contact_id"),
            rank=Window(
                RowNumber(),
                partition_by=[F("conversation__contact_id")],
                order_by=[F("sent_at").desc(), F("id").desc()],
            ),
        )
        .filter(rank__lte=DOTS)
        .values_list("contact", "rank", "sentiment", "conversation_id")
    )
    per_contact: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    for contact_id, rank, sentiment, conversation_id in latest:
        per_contact[contact_id].append((rank, sentiment or "", conversation_id))
    for contact_id, member in shown.items():
        member.name = names.get(contact_id, "")
        rows = sorted(per_contact.get(contact_id, []))  # newest first (rank 1)
        member.conversation_id = rows[0][2] if rows else None
        member.dots = [sentiment for _rank, sentiment, _conversation in reversed(rows)]
