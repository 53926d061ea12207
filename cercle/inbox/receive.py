"""The inbound upsert: Incoming items → contacts, posts, conversations, messages, activity.

Works on whole batches (one channel at a time) with a fixed number of queries
per batch, never per item: the ingest worker drains hundreds of RawEvents at
once. Called only from `inbox.actions.do_receive` and `connectors.actions`,
inside their transaction.

The queries of one batch, whatever its size (each lookup is chunked below
SQLite's parameter limit):

1. messages and tombstones already known for the batch's external ids;
2. identities and posts already known; INSERT the missing contacts,
   identities and posts;
3. the conversations the batch threads into, locked (`SELECT … FOR UPDATE`
   on PostgreSQL, so two workers never lose each other's counts; SQLite
   serialises writers anyway);
4. INSERT the new conversations with their final counters, then the
   messages, then the activity rows;
5. one `executemany` UPDATE by primary key for the conversations whose
   counters, preview or routing changed, and one for edited/deleted messages
   (no `CASE` expression: `bulk_update` builds one per field and row, which
   is slow to compile and to run on SQLite).

Uniqueness is the database's job: the unique indexes on (channel,
external_id) and (channel, thread_key) refuse a duplicate whatever happens;
the ingest action retries a batch that hit one. On PostgreSQL the upserts of
one channel are also serialised by a transaction-level advisory lock, so that
a delete racing the add of the same item, in two workers, cannot both land.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from cercle.connectors.base import POST_KIND, Author, Incoming, Op, PostRef
from cercle.connectors.models import Channel
from cercle.core.db_bulk import any_of, build, insert_rows, insert_values, update_rows
from cercle.inbox import stages
from cercle.inbox.choices import ConversationKind, Delivery, Direction, Enrichment, Kind, Status
from cercle.inbox.models import (
    Contact,
    Conversation,
    Identity,
    InboxSettings,
    Message,
    Post,
    Tombstone,
)
from cercle.workspaces.choices import Verb
from cercle.workspaces.models import Activity

PREVIEW_LENGTH = 300
# First key of the advisory lock that serialises one channel's upserts (PostgreSQL).
LOCK_NAMESPACE = 0x43524345  # "CRCE"
# SQLite allows 32766 bound parameters (999 before 3.32); keep IN lists well below.
CHUNK = 900

# What the pipeline reads of a known message to decide on an edit, a delete or a duplicate.
MESSAGE_FIELDS = (
    "id",
    "workspace_id",
    "channel_id",
    "conversation_id",
    "external_id",
    "direction",
    "kind",
    "text",
    "language",
    "language_score",
    "classified_by",
    "edited_at",
    "deleted_at",
    "is_hidden",
    "version_at",
    "version_seq",
    "enrichment",
)
# What an edit, a delete or a hide on the platform changes on our copy.
MESSAGE_CHANGE_FIELDS = (
    "text",
    "edited_at",
    "deleted_at",
    "language",
    "language_score",
    "classified_by",
    "is_hidden",
    "classified_at",
    "version_at",
    "version_seq",
)
# What the enrich step fills in on an item that arrived with ids only.
MESSAGE_FILL_FIELDS = (
    "text",
    "url",
    "author_identity",
    "sent_at",
    "language",
    "language_score",
    "classified_by",
    "is_hidden",
    "enrichment",
    "version_at",
    "version_seq",
    "classified_at",
)
# The conversation fields the pipeline maintains and routing may set.
CONVERSATION_FIELDS = (
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
    "snooze_until_reply",
    "sla_due_at",
    "priority",
    "assignee_id",
)
# Read with a conversation: the above plus what threading and routing look at.
CONVERSATION_READ_FIELDS = (
    "id",
    "workspace_id",
    "channel_id",
    "contact_id",
    "post_id",
    "thread_key",
    "kind",
    "team_id",
    "first_response_at",
    "merged_into_id",
    *CONVERSATION_FIELDS,
)
# Following merged_into pointers stops after this many hops (a chain, never a cycle).
MAX_MERGE_HOPS = 10


@dataclass
class ReceiveResult:
    """What one batch changed, for callers and tests."""

    created: list[Message] = field(default_factory=list)
    edited: list[Message] = field(default_factory=list)
    deleted: list[Message] = field(default_factory=list)
    # Items that had arrived with ids only, completed by the enrich step.
    filled: list[Message] = field(default_factory=list)
    skipped: int = 0
    conversations: list[Conversation] = field(default_factory=list)
    # Conversation id → the contact of its author, found by the enrich step.
    authors: dict[int, int] = field(default_factory=dict)
    # (channel id, post id) of the posts created without text, link or publication
    # time: the pipeline asks their platform for them (post enrichment).
    bare_posts: list[tuple[int, int]] = field(default_factory=list)

    def merge(self, other: ReceiveResult) -> None:
        self.created += other.created
        self.edited += other.edited
        self.deleted += other.deleted
        self.filled += other.filled
        self.authors.update(other.authors)
        self.skipped += other.skipped
        self.conversations += other.conversations
        self.bare_posts += other.bare_posts


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


_Cleaned = TypeVar("_Cleaned", Incoming, Author, PostRef)

# The string fields of an item and of its parts, cleaned of what no database stores.
_ITEM_STRINGS = ("external_id", "kind", "text", "parent_external_id", "thread_ref", "url")
_AUTHOR_STRINGS = ("external_id", "name", "handle", "avatar_url", "profile_url")
_POST_STRINGS = ("external_id", "text", "url", "thumbnail_url")
# NUL (PostgreSQL refuses it in text) and lone UTF-16 surrogates (JSON's "\\ud800" decodes
# to one; no UTF-8 encoder takes it, so SQLite and PostgreSQL both refuse the row).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def clean_text(value: str) -> str:
    """`value` without NUL characters and with lone surrogates replaced by U+FFFD."""
    if value.isascii():
        return value.replace("\x00", "") if "\x00" in value else value
    if _UNSTORABLE.search(value) is None:
        return value
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else REPLACEMENT, value)


def clean_item(item: Incoming) -> Incoming:
    """The item with every string storable (itself when all already are).

    One such character sent by a platform would otherwise fail the whole batch
    (the database refuses the row) and lose the other items of its event.
    """
    author, post = item.author, item.post
    if author is not None:
        author = _clean_strings(author, _AUTHOR_STRINGS)
    if post is not None:
        post = _clean_strings(post, _POST_STRINGS)
    cleaned = _clean_strings(item, _ITEM_STRINGS)
    if author is item.author and post is item.post:
        return cleaned
    return replace(cleaned, author=author, post=post)


def _clean_strings(obj: _Cleaned, names: tuple[str, ...]) -> _Cleaned:
    for name in names:
        value = getattr(obj, name)
        if clean_text(value) is not value:
            cleaned: dict[str, Any] = {n: clean_text(getattr(obj, n)) for n in names}
            return replace(obj, **cleaned)
    return obj


def _supersedes(new: Incoming, old: Incoming) -> bool:
    """Whether `new`, arrived after `old` (same item, same batch), describes a later state."""
    if old.op == Op.DELETE:
        return False  # a deletion is final
    if new.op == Op.DELETE:
        return True
    if new.changed_at is not None and old.changed_at is not None:
        return new.changed_at >= old.changed_at
    return True  # arrival order


def _collapse(items: Sequence[tuple[Incoming, int | None]]) -> list[tuple[Incoming, int | None]]:
    """One entry per external id, in arrival order: its newest state; a delete wins over upserts."""
    latest: dict[str, tuple[Incoming, int | None]] = {}
    for item, raw_id in items:
        item = clean_item(item)
        previous = latest.get(item.external_id)
        if previous is not None and not _supersedes(item, previous[0]):
            continue
        latest[item.external_id] = (item, raw_id)
    return list(latest.values())


def _is_newer(item: Incoming, raw_id: int | None, message: Message) -> bool:
    """Whether a delivery of a known item is newer than the state we hold.

    By the platform's time where both have one, else by arrival (the RawEvent
    ids only grow). A delivery with no way to tell (no time, no raw event) is
    applied, as are rows stored before versions were kept.
    """
    if (
        item.changed_at is not None
        and message.version_at is not None
        and item.changed_at != message.version_at
    ):
        return item.changed_at > message.version_at
    if raw_id is None or message.version_seq is None:
        return True
    return raw_id > message.version_seq


def _stamp(message: Message, item: Incoming, raw_id: int | None) -> None:
    """Record on `message` the version of the delivery just applied."""
    if item.changed_at is not None:
        message.version_at = item.changed_at
    if raw_id is not None:
        message.version_seq = raw_id


def _lock_channel(channel: Channel) -> None:
    """Serialise the upserts of one channel until the transaction ends (PostgreSQL).

    Without it a delete and the add of the same item, handled by two workers
    at once, each miss the other's uncommitted row: the tombstone lands, and
    so does the message. SQLite already runs one writer at a time; PostgreSQL
    workers still run in parallel across channels.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, channel.pk % 2**31]
            )


def _known(channel: Channel, ids: Sequence[str]) -> tuple[dict[str, Message], set[str]]:
    """The messages and tombstones the channel already has for these external ids."""
    existing: dict[str, Message] = {}
    tombstoned: set[str] = set()
    for chunk in _chunks(ids):
        known = Message.objects.filter(any_of(Message, "external_id", chunk), channel=channel).only(
            *MESSAGE_FIELDS
        )
        existing.update((m.external_id or "", m) for m in known)
        tombstoned.update(
            Tombstone.objects.filter(
                any_of(Tombstone, "external_id", chunk), channel=channel
            ).values_list("external_id", flat=True)
        )
    return existing, tombstoned


@dataclass
class _Sorted:
    """One batch's entries sorted into what to write, before anything is written."""

    channel: Channel
    now: datetime
    result: ReceiveResult
    existing: dict[str, Message]
    tombstoned: set[str]
    activities: list[dict[str, Any]] = field(default_factory=list)
    new_entries: list[tuple[Incoming, int | None]] = field(default_factory=list)
    changed: list[Message] = field(default_factory=list)
    fills: list[tuple[Incoming, int | None, Message]] = field(default_factory=list)
    new_tombstones: list[Tombstone] = field(default_factory=list)

    def add(self, item: Incoming, raw_id: int | None) -> None:
        message = self.existing.get(item.external_id)
        if item.op == Op.DELETE:
            self._delete(item, raw_id, message)
        elif item.external_id in self.tombstoned or (
            message is not None and message.deleted_at is not None
        ):
            self.result.skipped += 1  # a late add or edit of a deleted item
        elif message is None:
            self.new_entries.append((item, raw_id))
        elif message.enrichment == Enrichment.LOADING and not item.needs_enrichment:
            self.fills.append((item, raw_id, message))
        else:
            self._change(item, raw_id, message)

    def _delete(self, item: Incoming, raw_id: int | None, message: Message | None) -> None:
        if item.external_id not in self.tombstoned:
            self.new_tombstones.append(
                Tombstone(channel=self.channel, external_id=item.external_id, deleted_at=self.now)
            )
        if message is not None and message.deleted_at is None:
            message.deleted_at = self.now
            _stamp(message, item, raw_id)
            self.changed.append(message)
            self.result.deleted.append(message)
            self.activities.append(_activity(message, Verb.DELETED, self.now))

    def _change(self, item: Incoming, raw_id: int | None, message: Message) -> None:
        change = _apply_change(message, item, raw_id, self.now)
        if not change:
            self.result.skipped += 1
            return
        self.changed.append(message)
        if change == _EDITED:
            self.result.edited.append(message)
            self.activities.append(_activity(message, Verb.EDITED, self.now))


def receive_items(channel: Channel, items: Sequence[tuple[Incoming, int | None]]) -> ReceiveResult:
    """Upsert `items` (each with the id of the RawEvent it came from) for one channel.

    A known item changes only when the delivery is newer than the state we hold
    (`_is_newer`): a re-sent or reordered delivery changes nothing and logs nothing.
    """
    result = ReceiveResult()
    if not items:
        return result
    _lock_channel(channel)
    now = timezone.now()
    # A delivery about one of the brand's own posts stores the post, no message.
    posts_only = [(clean_item(i), r) for i, r in items if i.kind == POST_KIND and i.post]
    if posts_only:
        _resolve_posts(channel, posts_only, result)
        items = [(i, r) for i, r in items if i.kind != POST_KIND]
    entries = _collapse(items)
    result.skipped = len(items) - len(entries)
    existing, tombstoned = _known(channel, [item.external_id for item, _ in entries])
    batch = _Sorted(channel, now, result, existing, tombstoned)
    for item, raw_id in entries:
        batch.add(item, raw_id)
    if result.edited:
        stages.classify(result.edited)
    update_rows(Message, batch.changed, MESSAGE_CHANGE_FIELDS)
    if batch.new_tombstones:
        Tombstone.objects.bulk_create(batch.new_tombstones, ignore_conflicts=True)
    if batch.fills:
        _fill(channel, batch.fills, now, result)
    if batch.new_entries:
        _create_new(channel, batch.new_entries, now, result, batch.activities)
    _recount(channel, result)
    insert_values(Activity, batch.activities)
    # Rules act through the inbox's actions on the rows just written, so they run last:
    # nothing of this batch writes after them (an earlier run would be overwritten).
    stages.apply_rules([m for m in result.created if m.direction == Direction.INBOUND])
    return result


_EDITED = "edited"
_CHANGED = "changed"


def _apply_change(message: Message, item: Incoming, raw_id: int | None, now: datetime) -> str:
    """Apply a delivery of a known item when it is newer.

    Returns "" when there is nothing to write, `_EDITED` when the text changed
    (logged as an edit), `_CHANGED` otherwise (hidden, or only a newer version).
    Only inbound items follow the platform: our own replies are ours to change.
    """
    if message.direction != Direction.INBOUND or not _is_newer(item, raw_id, message):
        return ""
    text_changed = bool(item.text) and item.text != message.text
    hidden_changed = item.is_hidden != message.is_hidden
    later = (
        item.changed_at is not None
        and message.version_at is not None
        and item.changed_at > message.version_at
    )
    if not (text_changed or hidden_changed or later):
        return ""  # the same state again: nothing to write
    if text_changed:
        message.text = item.text
        message.edited_at = now
        message.language = ""
        message.language_score = None
        # New text, new labels: the classify_pending drain picks it up again.
        message.classified_at = None
    message.is_hidden = item.is_hidden
    _stamp(message, item, raw_id)
    return _EDITED if text_changed else _CHANGED


def _fill(
    channel: Channel,
    fills: Sequence[tuple[Incoming, int | None, Message]],
    now: datetime,
    result: ReceiveResult,
) -> None:
    """Complete items that arrived with ids only with what the enrich step fetched.

    Not an edit (nothing is logged as edited): the item is shown for the first
    time. Its conversation, opened with an unknown author, gets the real one.
    """
    authors = _resolve_authors(channel, [(item, raw_id) for item, raw_id, _ in fills])
    filled = []
    for item, raw_id, message in fills:
        author = authors.get(item.author.external_id) if item.author else None
        message.text = item.text
        message.url = item.url[:500]
        message.author_identity_id = author.identity_id if author else None
        message.sent_at = item.sent_at or message.sent_at
        message.language = ""
        message.language_score = None
        message.classified_at = None
        message.is_hidden = item.is_hidden
        message.enrichment = Enrichment.NONE
        _stamp(message, item, raw_id)
        filled.append(message)
        if author is not None:
            result.authors[message.conversation_id] = author.contact_id
    # Classified and put through the rules now that the text is known (a rule
    # fires at most once per message, so one that fired on the empty item does not again).
    inbound = [m for m in filled if m.direction == Direction.INBOUND]
    stages.classify(inbound)
    update_rows(Message, filled, MESSAGE_FILL_FIELDS)
    stages.apply_rules(inbound)
    result.filled += filled


def recount_deleted(channel: Channel, messages: Sequence[Message]) -> None:
    """Counters and preview of conversations whose `messages` were just deleted by us.

    For deletions that do not come through `receive_items` (the team deleting
    an item from Cercle): the platform's later notice finds them deleted already.
    """
    _recount(channel, ReceiveResult(deleted=list(messages)))


def _recount(channel: Channel, result: ReceiveResult) -> None:
    """Keep the counters and the preview of conversations whose items changed (one query).

    A deleted item no longer counts; the preview shows the latest inbound item
    that is not deleted, as edited; a conversation opened by an item of unknown
    author takes the author the enrich step found.
    """
    deleted: dict[int, int] = {}
    for message in result.deleted:
        deleted[message.conversation_id] = deleted.get(message.conversation_id, 0) + 1
    ids = set(deleted) | {m.conversation_id for m in result.edited} | set(result.authors)
    if not ids:
        return
    latest = Message.objects.filter(
        conversation_id=OuterRef("pk"), direction=Direction.INBOUND, deleted_at__isnull=True
    ).order_by("-sent_at", "-id")
    unknown = _unknown_identity_key(channel)
    rows = (
        Conversation.objects.select_for_update(of=("self",))
        .filter(channel=channel, pk__in=sorted(ids))
        .annotate(
            latest_text=Subquery(latest.values("text")[:1]),
            unknown_author=Exists(
                Identity.objects.filter(
                    channel=channel, external_id=unknown, contact_id=OuterRef("contact_id")
                )
            ),
        )
        .only("id", "contact_id", "message_count", "preview")
        .order_by("id")
    )
    updated = []
    for conversation in rows:
        before = (conversation.message_count, conversation.preview, conversation.contact_id)
        conversation.message_count = max(
            0, conversation.message_count - deleted.get(conversation.pk, 0)
        )
        conversation.preview = " ".join((conversation.latest_text or "").split())[:PREVIEW_LENGTH]
        if conversation.unknown_author and conversation.pk in result.authors:
            conversation.contact_id = result.authors[conversation.pk]
        if (conversation.message_count, conversation.preview, conversation.contact_id) != before:
            updated.append(conversation)
    update_rows(Conversation, updated, ["message_count", "preview", "contact"])


def _activity(message: Message, verb: str, now: datetime, **data: Any) -> dict[str, Any]:
    """An Activity row about `message`, for `insert_values`."""
    return {
        "workspace_id": message.workspace_id,
        "conversation_id": message.conversation_id,
        "message_id": message.pk,
        "channel_id": message.channel_id,
        "verb": verb,
        "data": data,
        "created_at": now,
    }


@dataclass(frozen=True, slots=True)
class _Author:
    """A resolved author: the ids a message and a conversation point to."""

    identity_id: int
    contact_id: int


def _resolve_authors(
    channel: Channel, entries: Sequence[tuple[Incoming, int | None]]
) -> dict[str, _Author]:
    """Identity and contact ids of every (non-brand) author of `entries`, creating the missing ones."""
    authors = {}
    for item, _ in entries:
        if item.author is not None and not item.from_brand:
            authors[item.author.external_id] = item.author
    resolved: dict[str, _Author] = {}
    keys = list(authors)
    recounted: list[Identity] = []  # known identities whose follower count changed
    for chunk in _chunks(keys):
        rows = Identity.objects.filter(
            any_of(Identity, "external_id", chunk), channel=channel
        ).values_list("external_id", "id", "contact_id", "followers")
        for external_id, identity_id, contact_id, followers in rows:
            resolved[external_id] = _Author(identity_id, contact_id)
            told = authors[external_id].followers
            if told is not None and told != followers:
                recounted.append(Identity(pk=identity_id, followers=told))
    if recounted:
        update_rows(Identity, recounted, ["followers"])
    missing = [authors[k] for k in keys if k not in resolved]
    if missing:
        contact_ids = insert_values(
            Contact,
            [
                {
                    "workspace_id": channel.workspace_id,
                    "display_name": (a.name or a.handle or a.external_id)[:200],
                    "avatar_url": a.avatar_url[:500],
                }
                for a in missing
            ],
            returning=True,
        )
        identity_ids = insert_values(
            Identity,
            [
                {
                    "workspace_id": channel.workspace_id,
                    "channel_id": channel.pk,
                    "contact_id": contact_id,
                    "external_id": a.external_id,
                    "handle": a.handle[:200],
                    "display_name": a.name[:200],
                    "avatar_url": a.avatar_url[:500],
                    "profile_url": a.profile_url[:500],
                    "followers": a.followers,
                }
                for a, contact_id in zip(missing, contact_ids, strict=True)
            ],
            returning=True,
        )
        for a, identity_id, contact_id in zip(missing, identity_ids, contact_ids, strict=True):
            resolved[a.external_id] = _Author(identity_id, contact_id)
    return resolved


_POST_DETAILS = ("text", "url", "thumbnail_url", "published_at")


def _fill_blanks(post: Post, ref: PostRef) -> bool:
    """Copy onto `post` the details `ref` has and `post` lacks; whether anything changed."""
    changed = False
    for name, value in (
        ("text", ref.text),
        ("url", ref.url[:500]),
        ("thumbnail_url", ref.thumbnail_url[:500]),
        ("published_at", ref.published_at),
    ):
        if value and not getattr(post, name):
            setattr(post, name, value)
            changed = True
    return changed


def _is_bare(ref: PostRef) -> bool:
    return not (ref.text and ref.url and ref.published_at)


def fill_post_details(channel: Channel, refs: Sequence[PostRef]) -> list[int]:
    """Fill the blanks of the channel's known posts from `refs`; the ids of the posts changed.

    Only the posts of `channel` are read (another channel's post of the same id is
    not touched) and none is created; a detail already stored is never overwritten.
    """
    by_id = {r.external_id: _clean_strings(r, _POST_STRINGS) for r in refs if r.external_id}
    changed: list[Post] = []
    for chunk in _chunks(list(by_id)):
        for post in Post.objects.filter(channel=channel, external_id__in=chunk).only(
            "id", "external_id", *_POST_DETAILS
        ):
            if _fill_blanks(post, by_id[post.external_id]):
                changed.append(post)
    if changed:
        Post.objects.bulk_update(changed, _POST_DETAILS)
    return [p.pk for p in changed]


def _resolve_posts(
    channel: Channel,
    entries: Sequence[tuple[Incoming, int | None]],
    result: ReceiveResult | None = None,
) -> dict[str, int]:
    """Post id of every post `entries` hang under, creating the missing ones."""
    refs = {item.post.external_id: item.post for item, _ in entries if item.post is not None}
    posts: dict[str, int] = {}
    keys = list(refs)
    blanks: list[Post] = []
    for chunk in _chunks(keys):
        for post in Post.objects.filter(any_of(Post, "external_id", chunk), channel=channel).only(
            "id", "external_id", *_POST_DETAILS
        ):
            posts[post.external_id] = post.pk
            if _fill_blanks(post, refs[post.external_id]):
                blanks.append(post)
    if blanks:
        # A post first seen bare (a comment's webhook names only its id) gets its text, link
        # and publication time from the first item that carries them; none is overwritten.
        Post.objects.bulk_update(blanks, _POST_DETAILS)
    missing = [refs[k] for k in keys if k not in posts]
    if missing:
        post_ids = insert_values(
            Post,
            [
                {
                    "workspace_id": channel.workspace_id,
                    "channel_id": channel.pk,
                    "external_id": r.external_id,
                    "text": r.text,
                    "url": r.url[:500],
                    "thumbnail_url": r.thumbnail_url[:500],
                    "published_at": r.published_at,
                }
                for r in missing
            ],
            returning=True,
        )
        posts.update(zip((r.external_id for r in missing), post_ids, strict=True))
        if result is not None:
            result.bare_posts += [
                (channel.pk, pk) for r, pk in zip(missing, post_ids, strict=True) if _is_bare(r)
            ]
    return posts


def _locked_conversations(channel: Channel, keys: Sequence[str]) -> dict[str, Conversation]:
    """The channel's conversations with these thread keys, locked until the batch commits.

    Locked in id order so that two workers touching the same conversations
    queue behind each other instead of deadlocking.
    """
    conversations: dict[str, Conversation] = {}
    for chunk in _chunks(keys):
        query = (
            Conversation.objects.select_for_update()
            .filter(any_of(Conversation, "thread_key", chunk), channel=channel)
            .only(*CONVERSATION_READ_FIELDS)
            .order_by("id")
        )
        conversations.update((c.thread_key, c) for c in query)
    # A thread merged into another conversation goes on there (see inbox.merge).
    merged = {key: c.merged_into_id for key, c in conversations.items() if c.merged_into_id}
    if merged:
        targets = _merge_targets(set(merged.values()))
        for key, target_id in merged.items():
            if (target := targets.get(target_id)) is not None:
                conversations[key] = target
    return conversations


def _merge_targets(ids: set[int]) -> dict[int, Conversation]:
    """For each conversation id, the conversation its items go to (following merges), locked."""
    found: dict[int, Conversation] = {}
    pending = set(ids)
    for _hop in range(MAX_MERGE_HOPS):
        if not pending:
            break
        rows = (
            Conversation.objects.select_for_update()
            .filter(pk__in=pending)
            .only(*CONVERSATION_READ_FIELDS)
            .order_by("id")
        )
        found.update((c.pk, c) for c in rows)
        pending = {
            c.merged_into_id
            for c in found.values()
            if c.merged_into_id and c.merged_into_id not in found
        }

    def final(pk: int) -> Conversation | None:
        conversation = found.get(pk)
        for _hop in range(MAX_MERGE_HOPS):
            if conversation is None or conversation.merged_into_id not in found:
                break
            conversation = found[conversation.merged_into_id]
        return conversation

    return {pk: c for pk in ids if (c := final(pk)) is not None}


def reopens_on_inbound(workspace_id: int) -> bool:
    """Whether a new inbound message reopens a closed conversation (the workspace's setting, on by default)."""
    return not InboxSettings.objects.filter(
        workspace_id=workspace_id, reopen_on_inbound=False
    ).exists()


def _snapshot(conversation: Conversation) -> tuple[Any, ...]:
    return tuple(getattr(conversation, name) for name in CONVERSATION_FIELDS)


def _create_new(
    channel: Channel,
    entries: Sequence[tuple[Incoming, int | None]],
    now: datetime,
    result: ReceiveResult,
    activities: list[dict[str, Any]],
) -> None:
    authors = _resolve_authors(channel, entries)
    posts = _resolve_posts(channel, entries, result)

    keyed = [(item, raw_id, *thread_key(item)) for item, raw_id in entries]
    conversations = _locked_conversations(
        channel, list(dict.fromkeys(key for _, _, key, _ in keyed))
    )
    before = {c.pk: _snapshot(c) for c in conversations.values()}
    opening: dict[str, dict[str, Any]] = {}  # thread key → the new conversation's values
    for item, _, key, conv_kind in keyed:
        if key in conversations or key in opening:
            continue
        author = (
            authors.get(item.author.external_id) if item.author and not item.from_brand else None
        )
        if author is not None:
            contact_id = author.contact_id
        elif item.from_brand:
            contact_id = _brand_contact_id(channel, authors)
        else:  # never show the brand as the author of a community item
            contact_id = _unknown_contact_id(channel, authors)
        opening[key] = {
            "workspace_id": channel.workspace_id,
            "channel_id": channel.pk,
            "contact_id": contact_id,
            "post_id": posts.get(item.post.external_id) if item.post else None,
            "thread_key": key,
            "kind": conv_kind,
            "status": Status.NEW,
            # When the community opened it (an imported history keeps its dates).
            "created_at": min(item.sent_at or now, now),
        }
    new_conversations = build(Conversation, opening.values())
    conversations.update(zip(opening, new_conversations, strict=True))

    rows = []
    for item, raw_id, _, _ in keyed:
        author = (
            authors.get(item.author.external_id) if item.author and not item.from_brand else None
        )
        rows.append(
            {
                "workspace_id": channel.workspace_id,
                "channel_id": channel.pk,
                "external_id": item.external_id,
                "parent_external_id": item.parent_external_id[:200],
                "direction": Direction.OUTBOUND if item.from_brand else Direction.INBOUND,
                "kind": item.kind,
                "is_private": item.is_private or bool(item.thread_ref),
                "author_identity_id": author.identity_id if author else None,
                "text": item.text,
                "url": item.url[:500],
                "rating": item.rating,
                "sent_at": item.sent_at or now,
                "is_hidden": item.is_hidden,
                "delivery": Delivery.SENT if item.from_brand else "",
                "raw_event_id": raw_id,
                "version_at": item.changed_at,
                "version_seq": raw_id,
                "enrichment": Enrichment.LOADING if item.needs_enrichment else Enrichment.NONE,
            }
        )
    messages = build(Message, rows)
    for message, (_, _, key, _) in zip(messages, keyed, strict=True):
        message.conversation = conversations[key]
    inbound = [m for m in messages if m.direction == Direction.INBOUND]
    stages.classify(inbound)
    # Counters, preview and waiting time, before anything is written: a new
    # conversation is inserted once, with its final values.
    reopen_closed = reopens_on_inbound(channel.workspace_id)
    reopened = [_thread_message(message, now, reopen_closed) for message in messages]

    # Routing must be idempotent anyway (every batch touching a conversation
    # routes it again): routing the new ones before their insert writes them
    # once; the pass after the rules below only changes what the rules changed.
    stages.route(new_conversations)
    insert_rows(new_conversations)
    for conversation in new_conversations:
        before[conversation.pk] = _snapshot(conversation)
    for message in messages:
        # Re-assigning the (now saved) instance sets conversation_id and keeps it cached.
        message.conversation = message.conversation
    insert_rows(messages)
    result.created += messages

    touched = list({m.conversation_id: m.conversation for m in messages}.values())
    stages.route(touched)
    update_rows(
        Conversation, [c for c in touched if _snapshot(c) != before[c.pk]], CONVERSATION_FIELDS
    )
    result.conversations += touched

    for message, previous in zip(messages, reopened, strict=True):
        if previous:
            activities.append(
                _activity(
                    message,
                    Verb.STATUS_CHANGED,
                    now,
                    old=previous,
                    new=Status.OPEN,
                    reason="new_message",
                )
            )
        # Stamped with the platform's time of the item (never in the future): response
        # times count from when the community wrote, and imported history keeps its dates.
        received_at = min(message.sent_at or now, now)
        activities.append(_activity(message, Verb.RECEIVED, received_at, kind=message.kind))


def _thread_message(message: Message, now: datetime, reopen_closed: bool = True) -> str:
    """Count `message` into its conversation (in place); the status it reopened it from, or "".

    A snoozed conversation always wakes (a timed snooze, or one until the contact
    answers); a closed one reopens unless the workspace turned `reopen_closed` off,
    and then it stays closed and nobody is counted as waiting.
    """
    conversation = message.conversation
    conversation.message_count += 1
    when = message.sent_at or now
    if conversation.last_activity_at is None or when > conversation.last_activity_at:
        conversation.last_activity_at = when
    if message.direction != Direction.INBOUND:
        return ""
    if conversation.last_inbound_at is None or when >= conversation.last_inbound_at:
        conversation.last_inbound_at = when
        conversation.preview = " ".join(message.text.split())[:PREVIEW_LENGTH]
        conversation.last_kind = message.kind
        conversation.language = message.language or conversation.language
        if message.rating is not None:
            conversation.rating = message.rating
    if conversation.status == Status.CLOSED and not reopen_closed:
        # Closed by the team and kept closed: nobody is owed an answer (no SLA due).
        conversation.waiting_since = None
        return ""
    if conversation.waiting_since is None:
        conversation.waiting_since = when
    if conversation.status in (Status.CLOSED, Status.SNOOZED):
        previous = conversation.status
        conversation.status = Status.OPEN
        conversation.snoozed_until = None
        conversation.snooze_until_reply = False
        return previous
    return ""


def _brand_contact_id(channel: Channel, authors: dict[str, _Author]) -> int:
    """The contact of the channel's own identity (the brand), for conversations opened by our own items."""
    key = f"brand:{channel.external_id or channel.pk}"
    if key not in authors:
        identity = (
            Identity.objects.filter(channel=channel, external_id=key)
            .only("id", "contact_id")
            .first()
        )
        if identity is None:
            contact = Contact.objects.create(
                workspace_id=channel.workspace_id, display_name=channel.name
            )
            identity = Identity.objects.create(
                workspace_id=channel.workspace_id,
                channel=channel,
                contact=contact,
                external_id=key,
                display_name=channel.name,
            )
        authors[key] = _Author(identity.pk, identity.contact_id)
    return authors[key].contact_id


def _unknown_identity_key(channel: Channel) -> str:
    return f"unknown:{channel.external_id or channel.pk}"


# The name of the stand-in contact of community items whose author is not known yet.
UNKNOWN_AUTHOR_NAME = "…"


def _unknown_contact_id(channel: Channel, authors: dict[str, _Author]) -> int:
    """A stand-in contact for community items that arrived without their author.

    Not the brand's contact: an id-only mention written by the brand would read
    as the brand talking to itself. The enrich step replaces it with the author.
    """
    key = _unknown_identity_key(channel)
    if key not in authors:
        identity = (
            Identity.objects.filter(channel=channel, external_id=key)
            .only("id", "contact_id")
            .first()
        )
        if identity is None:
            contact = Contact.objects.create(
                workspace_id=channel.workspace_id, display_name=UNKNOWN_AUTHOR_NAME
            )
            identity = Identity.objects.create(
                workspace_id=channel.workspace_id,
                channel=channel,
                contact=contact,
                external_id=key,
                display_name=UNKNOWN_AUTHOR_NAME,
            )
        authors[key] = _Author(identity.pk, identity.contact_id)
    return authors[key].contact_id
