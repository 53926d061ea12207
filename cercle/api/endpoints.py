"""The routes of `/api/v1/`: thin functions over the inbox's queries and actions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from ninja import Query, Router
from ninja.responses import Status

from cercle.core import clock
from cercle.inbox import collision
from cercle.inbox import queries as inbox_queries
from cercle.inbox.actions import (
    do_add_note,
    do_assign_conversation,
    do_change_status,
    do_tag_conversation,
    do_untag_conversation,
)
from cercle.inbox.collision import Collision, Seen
from cercle.inbox.models import Contact, Conversation, Message
from cercle.insights.metrics import Summary
from cercle.insights.queries import Period
from cercle.insights.report import build_report
from cercle.replies.actions import do_submit_reply
from cercle.replies.models import PendingReply

from . import queries
from .models import TokenMember
from .paging import Key, Ordering, page
from .schemas import (
    AssignIn,
    ChannelOut,
    CollisionOut,
    ContactDetail,
    ContactPage,
    ContactParams,
    ConversationDetail,
    ConversationFilters,
    ConversationOut,
    ConversationPage,
    Error,
    InsightsOut,
    MemberOut,
    MessageOut,
    MessagePage,
    PageParams,
    PendingReplyOut,
    ReplyIn,
    StatusIn,
    TagIn,
    TagOut,
    TextIn,
    TokenInfo,
)

router = Router()

# The inbox's sorts as total orders (NULLs last on every database), for keyset paging.
CONVERSATION_ORDERINGS = {
    "waiting": Ordering(
        "waiting",
        (
            Key("answered"),
            Key("priority", descending=True),
            Key("waiting_since", nullable=True),
            Key("last_activity_at", descending=True, nullable=True),
            Key("id"),
        ),
        # Whoever waits for an answer first, as in the inbox (inbox.queries._sorted).
        annotations=(
            (
                "answered",
                ExpressionWrapper(Q(waiting_since__isnull=True), output_field=BooleanField()),
            ),
        ),
    ),
    "newest": Ordering(
        "newest",
        (Key("last_activity_at", descending=True, nullable=True), Key("id", descending=True)),
    ),
    "priority": Ordering(
        "priority",
        (
            Key("priority", descending=True),
            Key("sla_due_at", nullable=True),
            Key("waiting_since", nullable=True),
            Key("id"),
        ),
    ),
}
MESSAGES_ORDER = Ordering("messages", (Key("id"),))
CONTACTS_ORDER = Ordering("contacts", (Key("id", descending=True),))
INSIGHT_PERIODS = (7, 30, 90)

READ: dict[int | str, Any] = {401: Error, 404: Error, 429: Error}
WRITE: dict[int | str, Any] = {**READ, 403: Error, 422: Error}


def actor(request: HttpRequest) -> TokenMember:
    """The token's member, capped at the token's role (set by `auth.TokenAuth`)."""
    member: TokenMember = request.api_actor  # type: ignore[attr-defined]
    return member


# --- serialisation ---------------------------------------------------------------------


def conversation_out(c: Conversation) -> dict[str, Any]:
    return {
        "id": c.pk,
        "status": c.status,
        "priority": c.priority,
        "kind": c.kind,
        "channel": {"id": c.channel.pk, "name": c.channel.name, "platform": c.channel.platform},
        "contact": {"id": c.contact.pk, "name": c.contact.display_name},
        "assignee": {"id": c.assignee.pk, "name": c.assignee.name} if c.assignee else None,
        "tags": [{"id": t.pk, "name": t.name, "color": t.color} for t in c.tags.all()],
        "preview": c.preview,
        "last_kind": c.last_kind,
        "language": c.language,
        "rating": c.rating,
        "message_count": c.message_count,
        "post_url": c.post.url if c.post else "",
        "waiting_since": c.waiting_since,
        "sla_due_at": c.sla_due_at,
        "first_response_at": c.first_response_at,
        "last_inbound_at": c.last_inbound_at,
        "last_activity_at": c.last_activity_at,
        "snoozed_until": c.snoozed_until,
        "created_at": c.created_at,
    }


def _author(m: Message) -> str:
    if m.author_member is not None:
        return m.author_member.name
    if m.author_identity is not None:
        return m.author_identity.display_name or m.author_identity.handle
    return ""


def message_out(m: Message) -> dict[str, Any]:
    return {
        "id": m.pk,
        "conversation_id": m.conversation_id,
        "direction": m.direction,
        "kind": m.kind,
        "is_private": m.is_private,
        "author": _author(m),
        "author_member_id": m.author_member_id,
        "author_contact_id": m.author_identity.contact_id if m.author_identity else None,
        "text": m.text,
        "url": m.url,
        "rating": m.rating,
        "language": m.language,
        "language_score": m.language_score,
        "sentiment": m.sentiment,
        "intent": m.intent,
        "toxicity": m.toxicity,
        "delivery": m.delivery,
        "delivery_error": m.delivery_error,
        "is_hidden": m.is_hidden,
        "sent_at": m.sent_at,
        "created_at": m.created_at,
        "edited_at": m.edited_at,
        "deleted_at": m.deleted_at,
    }


def _fresh(request: HttpRequest, pk: int) -> dict[str, Any]:
    """The conversation as it is now (after an action), as the API shows it."""
    return conversation_out(inbox_queries.conversation_for(actor(request), pk))


def _message(request: HttpRequest, message: Message) -> dict[str, Any]:
    return message_out(queries.messages_of(message.conversation).get(pk=message.pk))


# What a route does to a conversation it loaded: an action, as the token's member.
Act = Callable[[TokenMember, Conversation], object]


def _acted(request: HttpRequest, conversation_id: int, act: Act) -> dict[str, Any]:
    """The shape of the conversation routes: load the conversation in the token's workspace
    (another workspace's is a 404), act on it, return it as it is now."""
    member = actor(request)
    act(member, inbox_queries.conversation_for(member, conversation_id))
    return _fresh(request, conversation_id)


def _written(
    request: HttpRequest,
    conversation_id: int,
    write: Callable[[TokenMember, Conversation], Message],
) -> Status[Any]:
    """The same shape for the routes that write a message: 201 with the message."""
    member = actor(request)
    message = write(member, inbox_queries.conversation_for(member, conversation_id))
    return Status(201, _message(request, message))


def _summary(s: Summary) -> dict[str, Any]:
    return {
        "waits": s.waits,
        "answered": s.answered,
        "automated": s.automated,
        "closed_unanswered": s.closed_unanswered,
        "answered_share": s.answered_share,
        "median_seconds": s.median_seconds,
        "p90_seconds": s.p90_seconds,
        "median_business_seconds": s.median_business_seconds,
        "p90_business_seconds": s.p90_business_seconds,
    }


# --- who am I ----------------------------------------------------------------------------


@router.get("/me", response={200: TokenInfo, **READ}, tags=["token"])
def me(request: HttpRequest) -> dict[str, Any]:
    """The token's workspace, member and effective role."""
    member = actor(request)
    token = request.api_token  # type: ignore[attr-defined]
    return {
        "workspace": member.workspace.slug,
        "member": {"id": member.pk, "name": member.name},
        "role": member.token_role,
        "expires_at": token.expires_at,
    }


# --- conversations ----------------------------------------------------------------------


def _inbox_filters(params: ConversationFilters) -> inbox_queries.InboxFilters:
    """The inbox's own parser reads the same names as the inbox page's URL."""
    query = QueryDict(mutable=True)
    values = {
        "view": params.view,
        "status": params.status,
        "channel": params.channel,
        "platform": params.platform,
        "kind": params.kind,
        "language": params.language,
        "assignee": params.assignee,
        "tag": params.tag,
        "from": params.date_from.isoformat() if params.date_from else None,
        "to": params.date_to.isoformat() if params.date_to else None,
        "q": params.q,
        "scope": params.scope,
        "sort": params.sort,
    }
    for name, value in values.items():
        if value not in (None, ""):
            query[name] = str(value)
    return inbox_queries.InboxFilters.from_query(query)


@router.get("/conversations", response={200: ConversationPage, 400: Error, **READ}, tags=["inbox"])
def list_conversations(request: HttpRequest, params: Query[ConversationFilters]) -> dict[str, Any]:
    """The inbox's list: the same views, filters, search and sorts, paged by cursor."""
    member = actor(request)
    filters = _inbox_filters(params)
    qs = inbox_queries.filtered_conversations(member, filters)
    if filters.tag:
        qs = qs.distinct()
    result = page(
        queries.conversations_with_rows(qs),
        CONVERSATION_ORDERINGS[filters.sort],
        params.cursor,
        params.limit,
    )
    return {
        "items": [conversation_out(c) for c in result.rows],
        "next_cursor": result.next_cursor,
    }


@router.get(
    "/conversations/{conversation_id}", response={200: ConversationDetail, **READ}, tags=["inbox"]
)
def get_conversation(request: HttpRequest, conversation_id: int) -> dict[str, Any]:
    """The conversation, and `seen`: what this read saw, for a reply's collision check."""
    conversation = _fresh(request, conversation_id)
    return {**conversation, "seen": collision.latest_activity_id(conversation_id)}


@router.get(
    "/conversations/{conversation_id}/messages",
    response={200: MessagePage, 400: Error, **READ},
    tags=["inbox"],
)
def list_messages(
    request: HttpRequest, conversation_id: int, params: Query[PageParams]
) -> dict[str, Any]:
    """The conversation's messages (inbound, outbound and notes), oldest first."""
    conversation = inbox_queries.conversation_for(actor(request), conversation_id)
    result = page(queries.messages_of(conversation), MESSAGES_ORDER, params.cursor, params.limit)
    return {"items": [message_out(m) for m in result.rows], "next_cursor": result.next_cursor}


@router.post(
    "/conversations/{conversation_id}/reply",
    response={201: MessageOut, 202: PendingReplyOut, 409: CollisionOut, **WRITE},
    tags=["inbox"],
)
def reply(request: HttpRequest, conversation_id: int, body: ReplyIn) -> Status[Any]:
    """Answer on the platform: the reply is queued and sent by the worker (`delivery`).

    When the workspace's approval policy holds this member's replies, nothing is sent yet:
    202 with the reply waiting for an approver. With `seen` (the `seen` of the conversation's
    GET), the inbox's collision check applies: when somebody else replied, assigned or changed
    the status since, nothing is sent and the answer is 409 with what changed."""
    member = actor(request)
    conversation = inbox_queries.conversation_for(member, conversation_id)
    seen = Seen(activity_id=body.seen) if body.seen is not None else None
    try:
        sent = do_submit_reply(member, conversation, body.text, private=body.private, seen=seen)
    except Collision as exc:
        return Status(409, _collision(exc))
    if isinstance(sent, PendingReply):
        return Status(202, _pending(sent))
    return Status(201, _message(request, sent))


def _collision(exc: Collision) -> dict[str, Any]:
    return {
        "detail": "Not sent: the conversation changed since it was read.",
        "changes": [
            {
                "verb": c.verb,
                "who": c.who,
                "when": c.when,
                "data": c.data,
                "excerpt": c.excerpt,
            }
            for c in exc.changes
        ],
        "seen": exc.latest_id,
    }


def _pending(p: PendingReply) -> dict[str, Any]:
    return {
        "id": p.pk,
        "conversation_id": p.conversation_id,
        "state": p.state,
        "text": p.text,
        "is_private": p.is_private,
        "created_at": p.created_at,
    }


@router.post(
    "/conversations/{conversation_id}/notes", response={201: MessageOut, **WRITE}, tags=["inbox"]
)
def add_note(request: HttpRequest, conversation_id: int, body: TextIn) -> Status[Any]:
    """An internal note: seen by the team, never sent."""
    return _written(
        request,
        conversation_id,
        lambda member, conversation: do_add_note(member, conversation, body.text),
    )


@router.post(
    "/conversations/{conversation_id}/assign",
    response={200: ConversationOut, **WRITE},
    tags=["inbox"],
)
def assign(request: HttpRequest, conversation_id: int, body: AssignIn) -> dict[str, Any]:
    """Give the conversation to a member of the workspace (`null`: unassign)."""

    def act(member: TokenMember, conversation: Conversation) -> None:
        assignee = inbox_queries.member_for(member, body.assignee_id) if body.assignee_id else None
        do_assign_conversation(member, conversation, assignee)

    return _acted(request, conversation_id, act)


def _aware(when: datetime | None) -> datetime | None:
    if when is None or timezone.is_aware(when):
        return when
    return when.replace(tzinfo=UTC)


@router.post(
    "/conversations/{conversation_id}/status",
    response={200: ConversationOut, **WRITE},
    tags=["inbox"],
)
def change_status(request: HttpRequest, conversation_id: int, body: StatusIn) -> dict[str, Any]:
    """Close, reopen, set pending, or snooze until a time (a time without zone is UTC)."""
    return _acted(
        request,
        conversation_id,
        lambda member, conversation: do_change_status(
            member, conversation, body.status, snooze_until=_aware(body.snooze_until)
        ),
    )


@router.post(
    "/conversations/{conversation_id}/tags",
    response={200: ConversationOut, **WRITE},
    tags=["inbox"],
)
def add_tag(request: HttpRequest, conversation_id: int, body: TagIn) -> dict[str, Any]:
    """Put a tag on the conversation (created when the workspace has none of that name)."""
    return _acted(
        request,
        conversation_id,
        lambda member, conversation: do_tag_conversation(member, conversation, body.name),
    )


@router.delete(
    "/conversations/{conversation_id}/tags/{tag_id}",
    response={200: ConversationOut, **WRITE},
    tags=["inbox"],
)
def remove_tag(request: HttpRequest, conversation_id: int, tag_id: int) -> dict[str, Any]:
    return _acted(
        request,
        conversation_id,
        lambda member, conversation: do_untag_conversation(
            member, conversation, inbox_queries.tag_for(member, tag_id)
        ),
    )


@router.get("/tags", response={200: list[TagOut], **READ}, tags=["inbox"])
def list_tags(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {"id": t.pk, "name": t.name, "color": t.color}
        for t in inbox_queries.workspace_tags(actor(request))
    ]


# --- contacts, channels, members ----------------------------------------------------


def contact_row(c: Contact) -> dict[str, Any]:
    return {
        "id": c.pk,
        "display_name": c.display_name,
        "language": c.language,
        "created_at": c.created_at,
    }


@router.get("/contacts", response={200: ContactPage, 400: Error, **READ}, tags=["contacts"])
def list_contacts(request: HttpRequest, params: Query[ContactParams]) -> dict[str, Any]:
    """The workspace's contacts, newest first, optionally by part of the name."""
    qs = queries.contacts_of(actor(request), params.q or "")
    result = page(qs, CONTACTS_ORDER, params.cursor, params.limit)
    return {"items": [contact_row(c) for c in result.rows], "next_cursor": result.next_cursor}


@router.get("/contacts/{contact_id}", response={200: ContactDetail, **READ}, tags=["contacts"])
def get_contact(request: HttpRequest, contact_id: int) -> dict[str, Any]:
    """A contact, their identities on each channel and their latest conversations."""
    contact = queries.contact_for(actor(request), contact_id)
    return {
        **contact_row(contact),
        "identities": [
            {
                "id": i.pk,
                "channel_id": i.channel_id,
                "handle": i.handle,
                "display_name": i.display_name,
                "profile_url": i.profile_url,
            }
            for i in contact.identities.order_by("id")
        ],
        "conversation_ids": queries.contact_conversation_ids(contact),
    }


@router.get("/channels", response={200: list[ChannelOut], **READ}, tags=["channels"])
def list_channels(request: HttpRequest) -> list[dict[str, Any]]:
    """The workspace's channels and their health (never their credentials or settings)."""
    return [
        {
            "id": c.pk,
            "name": c.name,
            "platform": c.platform,
            "health": c.health,
            "is_active": c.is_active,
            "paused_until": c.paused_until,
            "last_polled_at": c.last_polled_at,
            "created_at": c.created_at,
        }
        for c in queries.channels_of(actor(request))
    ]


@router.get("/members", response={200: list[MemberOut], **READ}, tags=["workspace"])
def list_members(request: HttpRequest) -> list[dict[str, Any]]:
    """The workspace's members (ids to assign conversations to)."""
    return [
        {"id": m.pk, "name": m.name, "role": m.role, "is_active": m.is_active}
        for m in queries.members_of(actor(request))
    ]


# --- insights ------------------------------------------------------------------------------


@router.get("/insights", response={200: InsightsOut, **READ}, tags=["insights"])
def insights(request: HttpRequest, days: int = 30) -> dict[str, Any]:
    """The dashboard's figures over the last 7, 30 or 90 days (another number counts as 30)."""
    days = days if days in INSIGHT_PERIODS else 30
    workspace = actor(request).workspace
    report = build_report(
        workspace, Period.local_days(days, clock.now(), ZoneInfo(workspace.timezone))
    )
    return {
        "start": report.period.start,
        "end": report.period.end,
        "business_hours": report.clock_name,
        "first_response": _summary(report.first),
        "every_response": _summary(report.every),
        "resolution_median_seconds": report.resolution_median_seconds,
        "resolution_median_business_seconds": report.resolution_median_business_seconds,
        "breakdowns": {
            name: [
                {"key": row.key, "label": row.label, "summary": _summary(row.summary)}
                for row in rows
            ]
            for name, rows in report.breakdowns.items()
        },
        "daily": [[day, count] for day, count in report.daily],
        "heatmap": report.heatmap,
    }
