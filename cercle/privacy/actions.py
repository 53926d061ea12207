"""Writes of the privacy app: export a contact (access), erase a contact, retention.

Owners and admins only (the roles that manage members), checked here. Erasure
and retention keep the (channel, external id) of every item they remove as a
Tombstone: the inbound upsert skips a tombstoned item, so a platform's retry,
a late edit or the next poll cannot bring an erased message back.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce

from cercle.connectors.base import ActionKind
from cercle.connectors.models import Channel
from cercle.core import clock
from cercle.inbox.choices import OUTBOX_OPEN_STATES, Delivery, Direction, OutboxState, Status
from cercle.inbox.models import (
    Contact,
    Conversation,
    Draft,
    Identity,
    Message,
    Outbox,
    Presence,
    Tombstone,
)
from cercle.inbox.receive import recount_deleted
from cercle.replies.choices import PendingState
from cercle.replies.models import PendingReply
from cercle.workspaces.actors import Actor, actor_fields, require, system
from cercle.workspaces.choices import Permission, Verb
from cercle.workspaces.models import Activity, Workspace

from .erasers import Person, erase_raw_events, keepers
from .models import RetentionPolicy
from .queries import conversations_of, identities_of, messages_of, person_contact_ids

logger = logging.getLogger(__name__)

# Owners and admins: the roles that manage members manage what is held about people.
PRIVACY_PERMISSION = Permission.MANAGE_MEMBERS
# What an erased contact is called from then on.
ERASED_NAME = "[erased]"
# Messages one retention batch deletes (one transaction).
PURGE_BATCH = 500
# Outbox actions that carry the team's words to the person: cancelled when the person is erased.
REPLY_ACTIONS = frozenset({ActionKind.REPLY, ActionKind.PRIVATE_REPLY, ActionKind.SEND_PRIVATE})
# Why a reply queued for an erased person was not sent (the Outbox row's and message's error).
CANCELLED_BY_ERASURE = "cancelled: the contact was erased before it was sent"
# The Activity verbs that make up a contact's moderation history.
MODERATION_VERBS = frozenset(
    {Verb.MODERATION_REQUESTED, Verb.MODERATED, Verb.RULE_FIRED, Verb.TAGGED, Verb.UNTAGGED}
)


def _log(workspace_id: int, verb: str, actor: Actor, **data: object) -> Activity:
    return Activity.objects.create(
        workspace_id=workspace_id,
        verb=verb,
        data=dict(data),
        created_at=clock.now(),
        **actor_fields(actor),
    )


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# --- access: export ---------------------------------------------------------------------------


def do_export_contact(actor: Actor, contact: Contact) -> dict[str, Any]:
    """Everything held about the person: contact, identities, conversations, messages, notes,
    moderation history. The export itself is logged (without its content)."""
    require(actor, PRIVACY_PERMISSION, contact.workspace_id)
    contact_ids = person_contact_ids(contact)
    identities = list(identities_of(contact_ids))
    conversations = list(
        conversations_of(contact_ids)
        .select_related("channel", "post")
        .prefetch_related("tags")
        .order_by("id")
    )
    messages = list(
        messages_of(contact.workspace_id, contact_ids)
        .select_related("author_member__user")
        .order_by("id")
    )
    history = list(
        Activity.objects.filter(
            workspace_id=contact.workspace_id,
            conversation_id__in=[c.pk for c in conversations],
        )
        .select_related("actor__user")
        .order_by("id")
    )
    person = _person(contact.workspace_id, contact_ids, identities, conversations, messages)
    drafts = list(
        Draft.objects.filter(
            workspace_id=contact.workspace_id, conversation_id__in=person.conversation_ids
        )
        .select_related("member__user")
        .order_by("id")
    )
    pending_replies = list(
        PendingReply.objects.filter(
            workspace_id=contact.workspace_id, conversation_id__in=person.conversation_ids
        )
        .select_related("author__user", "decided_by__user")
        .order_by("id")
    )
    export: dict[str, Any] = {
        "exported_at": clock.now().isoformat(),
        "workspace": contact.workspace.name,
        "contacts": [
            {
                "id": c.pk,
                "name": c.display_name,
                "avatar_url": c.avatar_url,
                "language": c.language,
                "created_at": _when(c.created_at),
                "merged_into": c.merged_into_id,
            }
            for c in Contact.objects.filter(pk__in=contact_ids).order_by("id")
        ],
        "identities": [_identity(i) for i in identities],
        "conversations": [_conversation(c) for c in conversations],
        "messages": [_message(m) for m in messages if m.direction != Direction.NOTE],
        "notes": [_message(m) for m in messages if m.direction == Direction.NOTE],
        "history": [_activity(a) for a in history],
        "moderation": [_activity(a) for a in history if a.verb in MODERATION_VERBS],
        "drafts": [_draft(d) for d in drafts],
        "pending_replies": [_pending_reply(p) for p in pending_replies],
        "queued_replies": [
            _queued(o)
            for o in Outbox.objects.filter(
                workspace_id=contact.workspace_id,
                conversation_id__in=person.conversation_ids,
                state__in=OUTBOX_OPEN_STATES,
                action__in=REPLY_ACTIONS,
            ).order_by("id")
        ],
    }
    # What higher layers keep (listening's mentions, notifications and webhook payloads).
    for keeper in keepers():
        export[keeper.name] = keeper.export(person)
    with transaction.atomic():
        _log(
            contact.workspace_id,
            Verb.CONTACT_EXPORTED,
            actor,
            contact_id=contact.pk,
            messages=len(messages),
        )
    return export


def _person(
    workspace_id: int,
    contact_ids: list[int],
    identities: list[Identity],
    conversations: list[Conversation] | list[int],
    messages: list[Message],
) -> Person:
    return Person(
        workspace_id=workspace_id,
        contact_ids=tuple(contact_ids),
        conversation_ids=tuple(c if isinstance(c, int) else c.pk for c in conversations),
        message_ids=tuple(m.pk for m in messages),
        identities=tuple((i.channel_id, i.external_id) for i in identities),
    )


def _draft(draft: Draft) -> dict[str, Any]:
    return {
        "conversation_id": draft.conversation_id,
        "member": draft.member.name,
        "mode": draft.mode,
        "text": draft.text,
        "updated_at": _when(draft.updated_at),
    }


def _pending_reply(pending: PendingReply) -> dict[str, Any]:
    return {
        "conversation_id": pending.conversation_id,
        "author": pending.author.name if pending.author else None,
        "text": pending.text,
        "private": pending.is_private,
        "state": pending.state,
        "created_at": _when(pending.created_at),
        "decided_by": pending.decided_by.name if pending.decided_by else None,
        "decided_at": _when(pending.decided_at),
        "comment": pending.comment,
    }


def _queued(outbox: Outbox) -> dict[str, Any]:
    return {
        "conversation_id": outbox.conversation_id,
        "message_id": outbox.message_id,
        "action": outbox.action,
        "state": outbox.state,
        "text": str(outbox.payload.get("text", "")),
        "created_at": _when(outbox.created_at),
    }


def _identity(identity: Identity) -> dict[str, Any]:
    return {
        "id": identity.pk,
        "platform": identity.channel.platform,
        "channel": identity.channel.name,
        "external_id": identity.external_id,
        "handle": identity.handle,
        "name": identity.display_name,
        "avatar_url": identity.avatar_url,
        "profile_url": identity.profile_url,
    }


def _conversation(conversation: Conversation) -> dict[str, Any]:
    post = conversation.post
    return {
        "id": conversation.pk,
        "channel": conversation.channel.name,
        "platform": conversation.channel.platform,
        "kind": conversation.kind,
        "status": conversation.status,
        "created_at": _when(conversation.created_at),
        "tags": sorted(t.name for t in conversation.tags.all()),
        "post": {"text": post.text, "url": post.url} if post else None,
    }


def _message(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "direction": message.direction,
        "kind": message.kind,
        "private": message.is_private,
        "external_id": message.external_id,
        "author_identity_id": message.author_identity_id,
        "team_member": message.author_member.name if message.author_member else None,
        "text": message.text,
        "url": message.url,
        "rating": message.rating,
        "language": message.language,
        "sentiment": message.sentiment,
        "intent": message.intent,
        "toxicity": message.toxicity,
        "sent_at": _when(message.sent_at),
        "received_at": _when(message.created_at),
        "edited_at": _when(message.edited_at),
        "deleted_at": _when(message.deleted_at),
        "hidden": message.is_hidden,
    }


def _activity(activity: Activity) -> dict[str, Any]:
    return {
        "at": _when(activity.created_at),
        "verb": activity.verb,
        "conversation_id": activity.conversation_id,
        "message_id": activity.message_id,
        "by": activity.actor.name if activity.actor else activity.automation_name or None,
        "data": activity.data,
    }


# --- erasure ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    contacts: int
    identities: int
    conversations: int
    messages: int
    raw_events: int
    replies_cancelled: int = 0
    pending_replies_withdrawn: int = 0
    # What each keeper of a higher layer removed or cleared (mentions, notifications).
    elsewhere: dict[str, int] = field(default_factory=dict)


def _cancel_queued_replies(person: Person, now: datetime) -> list[int]:
    """The team's replies to the person still waiting in the Outbox are not sent as written:
    each is marked failed (cancelled), its copy of the text cleared, and the cancellation
    logged in its conversation. Returns the ids of their messages.

    The rows are locked: the sender claims with SKIP LOCKED and, once this commits, finds
    them failed. A reply a worker holds at this very moment (state "sending") is already on
    its way: it is not stopped, and its copy is cleared like any delivered one.
    """
    rows = list(
        Outbox.objects.select_for_update()
        .filter(
            workspace_id=person.workspace_id,
            state__in=OUTBOX_OPEN_STATES,
            action__in=REPLY_ACTIONS,
        )
        .filter(
            Q(conversation_id__in=person.conversation_ids) | Q(message_id__in=person.message_ids)
        )
    )
    if not rows:
        return []
    Outbox.objects.filter(pk__in=[o.pk for o in rows]).update(
        state=OutboxState.FAILED,
        payload={},
        last_error=CANCELLED_BY_ERASURE,
        next_attempt_at=None,
        updated_at=now,
    )
    Activity.objects.bulk_create(
        [
            Activity(
                workspace_id=o.workspace_id,
                conversation_id=o.conversation_id,
                message_id=o.message_id,
                channel_id=o.channel_id,
                verb=Verb.DELIVERY_FAILED,
                data={"action": o.action, "error": CANCELLED_BY_ERASURE, "erased": True},
                created_at=now,
            )
            for o in rows
        ]
    )
    return [o.message_id for o in rows if o.message_id is not None]


def _withdraw_pending_replies(person: Person, now: datetime) -> int:
    """Replies to the person awaiting approval are withdrawn; every held reply loses its text."""
    pending = PendingReply.objects.filter(
        workspace_id=person.workspace_id, conversation_id__in=person.conversation_ids
    )
    withdrawn = pending.filter(state=PendingState.PENDING).update(
        state=PendingState.WITHDRAWN, decided_at=now
    )
    pending.update(text="", comment="")
    return withdrawn


def _tombstone(messages: list[Message]) -> None:
    now = clock.now()
    Tombstone.objects.bulk_create(
        [
            Tombstone(channel_id=m.channel_id, external_id=m.external_id, deleted_at=now)
            for m in messages
            if m.external_id
        ],
        ignore_conflicts=True,
    )


def do_erase_contact(actor: Actor, contact: Contact) -> Erasure:
    """Erase the person across every channel: the text and author data of their messages (and
    of the team's replies and notes in their conversations), their identities, their name.

    The rows that carry the team's work stay (conversations, counts, the Activity log), without
    the person's data; the audit records the erasure with counts only.
    """
    require(actor, PRIVACY_PERMISSION, contact.workspace_id)
    now = clock.now()
    with transaction.atomic():
        contact_ids = person_contact_ids(contact)
        conversation_ids = list(conversations_of(contact_ids).values_list("pk", flat=True))
        messages = list(
            messages_of(contact.workspace_id, contact_ids).only(
                "id", "channel_id", "external_id", "raw_event_id"
            )
        )
        identities_before = list(identities_of(contact_ids))
        person = _person(
            contact.workspace_id, contact_ids, identities_before, conversation_ids, messages
        )
        _tombstone(messages)
        raw_event_ids = {m.raw_event_id for m in messages if m.raw_event_id}
        Message.objects.filter(pk__in=[m.pk for m in messages]).update(
            text="",
            url="",
            author_identity=None,
            rating=None,
            sentiment="",
            intent="",
            toxicity=None,
            sentiment_score=None,
            intent_score=None,
            toxicity_category="",
            needs_reply=None,
            needs_reply_score=None,
            delivery_error="",
            raw_event=None,
            deleted_at=Coalesce("deleted_at", now),
        )
        # The team's replies already delivered keep no copy of their text either.
        Outbox.objects.filter(
            Q(conversation_id__in=conversation_ids) | Q(message_id__in=[m.pk for m in messages])
        ).exclude(state__in=OUTBOX_OPEN_STATES).update(payload={}, last_error="")
        # Those still waiting are not sent as written: cancelled, and they say why.
        cancelled = _cancel_queued_replies(person, now)
        Conversation.objects.filter(pk__in=conversation_ids).update(
            preview="",
            rating=None,
            message_count=0,
            status=Status.CLOSED,
            waiting_since=None,
            sla_due_at=None,
            snoozed_until=None,
        )
        # The cancelled replies say why on their message (the text itself is gone).
        Message.objects.filter(pk__in=cancelled).update(
            delivery=Delivery.FAILED, delivery_error=CANCELLED_BY_ERASURE
        )
        withdrawn = _withdraw_pending_replies(person, now)
        # The team's unsent words in these conversations, and who had them open.
        Draft.objects.filter(conversation_id__in=conversation_ids).delete()
        Presence.objects.filter(conversation_id__in=conversation_ids).update(
            conversation=None, typing_at=None
        )
        identities, _ = Identity.objects.filter(contact_id__in=contact_ids).delete()
        Contact.objects.filter(pk__in=contact_ids).update(
            display_name=ERASED_NAME, avatar_url="", language=""
        )
        raw_events = erase_raw_events(raw_event_ids)
        kept = {keeper.name: keeper.erase(person) for keeper in keepers()}
        erasure = Erasure(
            contacts=len(contact_ids),
            identities=identities,
            conversations=len(conversation_ids),
            messages=len(messages),
            raw_events=raw_events,
            replies_cancelled=len(cancelled),
            pending_replies_withdrawn=withdrawn,
            elsewhere=kept,
        )
        _log(
            contact.workspace_id,
            Verb.CONTACT_ERASED,
            actor,
            contact_id=contact.pk,
            conversations=erasure.conversations,
            messages=erasure.messages,
            identities=erasure.identities,
            replies_cancelled=erasure.replies_cancelled,
            pending_replies_withdrawn=withdrawn,
            **kept,
        )
    return erasure


# --- retention --------------------------------------------------------------------------------


def do_set_retention(actor: Actor, workspace: Workspace, message_days: int | None) -> None:
    """Keep messages `message_days` days (None: forever)."""
    require(actor, PRIVACY_PERMISSION, workspace.pk)
    if message_days is not None and message_days < 1:
        raise ValueError("message_days must be at least 1")
    with transaction.atomic():
        policy, _ = RetentionPolicy.objects.select_for_update().get_or_create(workspace=workspace)
        old, policy.message_days = policy.message_days, message_days
        policy.save(update_fields=["message_days", "updated_at"])
        if old != message_days:
            _log(workspace.pk, Verb.RETENTION_CHANGED, actor, old=old, new=message_days)


def do_purge_expired_messages(workspace_id: int, *, batch: int = PURGE_BATCH) -> int:
    """Delete one batch of the workspace's data older than its retention; returns how many rows.

    Messages first (conversations left with no message are deleted with them; the others are
    recounted), then what else holds community text or words about people: drafts and held
    replies older than the retention, and each keeper's part (listening's mentions,
    notifications and finished webhook deliveries). The drain calls it until it returns 0.
    """
    policy = RetentionPolicy.objects.filter(
        workspace_id=workspace_id, message_days__isnull=False
    ).first()
    if policy is None or policy.message_days is None:
        return 0
    cutoff = clock.now() - timedelta(days=policy.message_days)
    actor = system(workspace_id, "Retention")
    with transaction.atomic():
        messages = list(
            Message.objects.filter(workspace_id=workspace_id)
            .filter(Q(sent_at__lt=cutoff) | Q(sent_at__isnull=True, created_at__lt=cutoff))
            .only("id", "channel_id", "conversation_id", "external_id", "raw_event_id")
            .order_by("id")[:batch]
        )
        emptied = _purge_messages(messages) if messages else set()
        others = _purge_others(workspace_id, cutoff, batch)
        if not messages and not any(others.values()):
            return 0
        _log(
            workspace_id,
            Verb.MESSAGES_PURGED,
            actor,
            messages=len(messages),
            conversations=len(emptied),
            older_than=cutoff.isoformat(),
            **{name: count for name, count in others.items() if count},
        )
    return len(messages) + sum(others.values())


def _purge_messages(messages: list[Message]) -> set[int]:
    """Delete these messages (tombstoned) and the conversations they leave empty."""
    _tombstone(messages)
    raw_event_ids = {m.raw_event_id for m in messages if m.raw_event_id}
    Message.objects.filter(pk__in=[m.pk for m in messages]).delete()
    touched = {m.conversation_id for m in messages}
    emptied = set(
        Conversation.objects.filter(pk__in=touched)
        .exclude(messages__isnull=False)
        .values_list("pk", flat=True)
    )
    Conversation.objects.filter(pk__in=emptied).delete()
    by_channel: dict[int, list[Message]] = defaultdict(list)
    for m in messages:
        if m.conversation_id not in emptied:
            by_channel[m.channel_id].append(m)
    for channel in Channel.objects.filter(pk__in=by_channel):
        recount_deleted(channel, by_channel[channel.pk])
    erase_raw_events(raw_event_ids)
    return emptied


def _purge_others(workspace_id: int, cutoff: datetime, batch: int) -> dict[str, int]:
    """One batch of everything else older than the retention, by kind."""
    drafts = list(
        Draft.objects.filter(workspace_id=workspace_id, updated_at__lt=cutoff)
        .order_by("id")
        .values_list("pk", flat=True)[:batch]
    )
    Draft.objects.filter(pk__in=drafts).delete()
    held = list(
        PendingReply.objects.filter(workspace_id=workspace_id, created_at__lt=cutoff)
        .order_by("id")
        .values_list("pk", flat=True)[:batch]
    )
    PendingReply.objects.filter(pk__in=held).delete()
    counts = {"drafts": len(drafts), "pending_replies": len(held)}
    for keeper in keepers():
        counts[keeper.name] = keeper.purge(workspace_id, cutoff)
    return counts
