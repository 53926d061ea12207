"""The inbound upsert: Incoming items → contacts, posts, conversations, messages, activity.

Works on whole batches (one channel at a time) with a fixed number of queries
per batch, not per item: the ingest worker drains hundreds of RawEvents at once.
Called only from `inbox.actions.do_receive` and `connectors.actions`, inside
their transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from cercle.connectors.base import Incoming, Op
from cercle.connectors.models import Channel
from cercle.moderation.classify import classify_messages
from cercle.moderation.rules import apply_rules
from cercle.workflow.routing import route_conversations

from .choices import ConversationKind, Delivery, Direction, Kind, Status, Verb
from .models import Activity, Contact, Conversation, Identity, Message, Post, Tombstone

PREVIEW_LENGTH = 300
# SQLite allows 32766 bound parameters; keep IN lists well below.
CHUNK = 900


@dataclass
class ReceiveResult:
    """What one batch changed, for callers and tests."""

    created: list[Message] = field(default_factory=list)
    edited: list[Message] = field(default_factory=list)
    deleted: list[Message] = field(default_factory=list)
    skipped: int = 0
    conversations: list[Conversation] = field(default_factory=list)

    def merge(self, other: ReceiveResult) -> None:
        self.created += other.created
        self.edited += other.edited
        self.deleted += other.deleted
        self.skipped += other.skipped
        self.conversations += other.conversations


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def thread_key(item: Incoming) -> tuple[str, str]:
    """(thread key, conversation kind) of an item: DESIGN.md §1 threading rules."""
    if item.thread_ref:
        return f"private:{item.thread_ref}", ConversationKind.PRIVATE
    if item.kind == Kind.REVIEW:
        return f"item:{item.external_id}", ConversationKind.REVIEW
    author = item.author.external_id if item.author else "unknown"
    if item.post is not None:
        return f"post:{item.post.external_id}:author:{author}", ConversationKind.THREAD
    if item.kind == Kind.MENTION:
        return f"item:{item.external_id}", ConversationKind.MENTION
    return f"author:{author}", ConversationKind.THREAD


def _collapse(items: Sequence[tuple[Incoming, int | None]]) -> list[tuple[Incoming, int | None]]:
    """One entry per external id, in arrival order; a delete anywhere wins over upserts."""
    latest: dict[str, tuple[Incoming, int | None]] = {}
    for item, raw_id in items:
        previous = latest.get(item.external_id)
        if previous is not None and previous[0].op == Op.DELETE:
            continue
        latest[item.external_id] = (item, raw_id)
    return list(latest.values())


def receive_items(channel: Channel, items: Sequence[tuple[Incoming, int | None]]) -> ReceiveResult:
    """Upsert `items` (each with the id of the RawEvent it came from) for one channel."""
    result = ReceiveResult()
    if not items:
        return result
    now = timezone.now()
    entries = _collapse(items)
    result.skipped = len(items) - len(entries)
    ids = [item.external_id for item, _ in entries]

    existing: dict[str, Message] = {}
    tombstoned: set[str] = set()
    for chunk in _chunks(ids):
        for message in Message.objects.filter(channel=channel, external_id__in=chunk):
            existing[message.external_id or ""] = message
        tombstoned.update(
            Tombstone.objects.filter(channel=channel, external_id__in=chunk).values_list("external_id", flat=True)
        )

    activities: list[Activity] = []
    new_entries: list[tuple[Incoming, int | None]] = []
    changed: list[Message] = []
    new_tombstones: list[Tombstone] = []
    for item, raw_id in entries:
        message = existing.get(item.external_id)
        if item.op == Op.DELETE:
            if item.external_id not in tombstoned:
                new_tombstones.append(Tombstone(channel=channel, external_id=item.external_id, deleted_at=now))
            if message is not None and message.deleted_at is None:
                message.deleted_at = now
                changed.append(message)
                result.deleted.append(message)
                activities.append(_activity(message, Verb.DELETED, now))
            continue
        if item.external_id in tombstoned or (message is not None and message.deleted_at is not None):
            result.skipped += 1  # a late add or edit of a deleted item
            continue
        if message is None:
            new_entries.append((item, raw_id))
            continue
        if item.text and item.text != message.text and message.direction == Direction.INBOUND:
            message.text = item.text
            message.edited_at = now
            message.language = ""
            changed.append(message)
            result.edited.append(message)
            activities.append(_activity(message, Verb.EDITED, now))
        elif item.is_hidden != message.is_hidden and message.direction == Direction.INBOUND:
            message.is_hidden = item.is_hidden
            changed.append(message)
        else:
            result.skipped += 1
    if result.edited:
        classify_messages(result.edited)
    if changed:
        Message.objects.bulk_update(changed, ["text", "edited_at", "deleted_at", "language", "is_hidden"])
    if new_tombstones:
        Tombstone.objects.bulk_create(new_tombstones, ignore_conflicts=True)

    if new_entries:
        _create_new(channel, new_entries, now, result, activities)
    Activity.objects.bulk_create(activities)
    return result


def _activity(message: Message, verb: str, now: datetime, **data: object) -> Activity:
    return Activity(
        workspace_id=message.workspace_id,
        conversation_id=message.conversation_id,
        message=message,
        channel_id=message.channel_id,
        verb=verb,
        data=dict(data),
        created_at=now,
    )


def _resolve_identities(channel: Channel, entries: Sequence[tuple[Incoming, int | None]]) -> dict[str, Identity]:
    authors = {}
    for item, _ in entries:
        if item.author is not None and not item.from_brand:
            authors[item.author.external_id] = item.author
    identities: dict[str, Identity] = {}
    keys = list(authors)
    for chunk in _chunks(keys):
        for identity in Identity.objects.filter(channel=channel, external_id__in=chunk):
            identities[identity.external_id] = identity
    missing = [authors[k] for k in keys if k not in identities]
    if missing:
        contacts = Contact.objects.bulk_create(
            [
                Contact(
                    workspace_id=channel.workspace_id,
                    display_name=(a.name or a.handle or a.external_id)[:200],
                    avatar_url=a.avatar_url[:500],
                )
                for a in missing
            ]
        )
        created = Identity.objects.bulk_create(
            [
                Identity(
                    workspace_id=channel.workspace_id,
                    channel=channel,
                    contact=contact,
                    external_id=a.external_id,
                    handle=a.handle[:200],
                    display_name=a.name[:200],
                    avatar_url=a.avatar_url[:500],
                    profile_url=a.profile_url[:500],
                )
                for a, contact in zip(missing, contacts, strict=True)
            ]
        )
        identities.update({i.external_id: i for i in created})
    return identities


def _resolve_posts(channel: Channel, entries: Sequence[tuple[Incoming, int | None]]) -> dict[str, Post]:
    refs = {item.post.external_id: item.post for item, _ in entries if item.post is not None}
    posts: dict[str, Post] = {}
    keys = list(refs)
    for chunk in _chunks(keys):
        for post in Post.objects.filter(channel=channel, external_id__in=chunk):
            posts[post.external_id] = post
    missing = [refs[k] for k in keys if k not in posts]
    if missing:
        created = Post.objects.bulk_create(
            [
                Post(
                    workspace_id=channel.workspace_id,
                    channel=channel,
                    external_id=r.external_id,
                    text=r.text,
                    url=r.url[:500],
                    thumbnail_url=r.thumbnail_url[:500],
                    published_at=r.published_at,
                )
                for r in missing
            ]
        )
        posts.update({p.external_id: p for p in created})
    return posts


def _create_new(
    channel: Channel,
    entries: Sequence[tuple[Incoming, int | None]],
    now: datetime,
    result: ReceiveResult,
    activities: list[Activity],
) -> None:
    identities = _resolve_identities(channel, entries)
    posts = _resolve_posts(channel, entries)

    keyed = [(item, raw_id, *thread_key(item)) for item, raw_id in entries]
    conversations: dict[str, Conversation] = {}
    keys = list(dict.fromkeys(k for _, _, k, _ in keyed))
    for chunk in _chunks(keys):
        for conversation in Conversation.objects.filter(channel=channel, thread_key__in=chunk):
            conversations[conversation.thread_key] = conversation
    to_create: dict[str, Conversation] = {}
    for item, _, key, conv_kind in keyed:
        if key in conversations or key in to_create:
            continue
        identity = identities.get(item.author.external_id) if item.author else None
        if identity is None:
            # A brand echo or an authorless item opening a thread: attach to a placeholder contact.
            identity = _brand_identity(channel, identities)
        post = posts.get(item.post.external_id) if item.post else None
        to_create[key] = Conversation(
            workspace_id=channel.workspace_id,
            channel=channel,
            contact_id=identity.contact_id,
            post=post,
            thread_key=key,
            kind=conv_kind,
            status=Status.NEW,
            last_activity_at=now,
        )
    if to_create:
        conversations.update({c.thread_key: c for c in Conversation.objects.bulk_create(list(to_create.values()))})

    messages: list[Message] = []
    for item, raw_id, key, _ in keyed:
        conversation = conversations[key]
        identity = identities.get(item.author.external_id) if item.author and not item.from_brand else None
        messages.append(
            Message(
                workspace_id=channel.workspace_id,
                channel=channel,
                conversation=conversation,
                external_id=item.external_id,
                parent_external_id=item.parent_external_id[:200],
                direction=Direction.OUTBOUND if item.from_brand else Direction.INBOUND,
                kind=item.kind,
                is_private=item.is_private or bool(item.thread_ref),
                author_identity=identity,
                text=item.text,
                url=item.url[:500],
                rating=item.rating,
                sent_at=item.sent_at or now,
                is_hidden=item.is_hidden,
                delivery=Delivery.SENT if item.from_brand else "",
                raw_event_id=raw_id,
            )
        )
    inbound = [m for m in messages if m.direction == Direction.INBOUND]
    classify_messages(inbound)
    Message.objects.bulk_create(messages)
    apply_rules(inbound)
    result.created += messages

    touched: dict[int, Conversation] = {}
    for message in messages:
        conversation = message.conversation
        touched[conversation.pk] = conversation
        conversation.message_count += 1
        when = message.sent_at or now
        conversation.last_activity_at = max(conversation.last_activity_at or when, when)
        if message.direction == Direction.INBOUND:
            if conversation.last_inbound_at is None or when >= conversation.last_inbound_at:
                conversation.last_inbound_at = when
                conversation.preview = " ".join(message.text.split())[:PREVIEW_LENGTH]
                conversation.last_kind = message.kind
                conversation.language = message.language or conversation.language
                if message.rating is not None:
                    conversation.rating = message.rating
            if conversation.waiting_since is None:
                conversation.waiting_since = when
            if conversation.status in (Status.CLOSED, Status.SNOOZED):
                previous = conversation.status
                conversation.status = Status.OPEN
                conversation.snoozed_until = None
                activities.append(
                    _activity(message, Verb.STATUS_CHANGED, now, old=previous, new=Status.OPEN, reason="new_message")
                )
        activities.append(_activity(message, Verb.RECEIVED, now, kind=message.kind))
    route_conversations(list(touched.values()))
    Conversation.objects.bulk_update(
        list(touched.values()),
        [
            "message_count",
            "last_activity_at",
            "last_inbound_at",
            "preview",
            "last_kind",
            "language",
            "rating",
            "waiting_since",
            "status",
            "snoozed_until",
            "sla_due_at",
            "priority",
        ],
    )
    result.conversations += list(touched.values())


def _brand_identity(channel: Channel, identities: dict[str, Identity]) -> Identity:
    """The channel's own identity (the brand), for conversations opened by our own items."""
    key = f"brand:{channel.external_id or channel.pk}"
    if key in identities:
        return identities[key]
    identity = Identity.objects.filter(channel=channel, external_id=key).first()
    if identity is None:
        contact = Contact.objects.create(workspace_id=channel.workspace_id, display_name=channel.name)
        identity = Identity.objects.create(
            workspace_id=channel.workspace_id, channel=channel, contact=contact, external_id=key, display_name=channel.name
        )
    identities[key] = identity
    return identity
