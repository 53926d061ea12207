"""The inbox domain: contacts and their identities, posts, conversations, messages, activity."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import (
    BulkItemState,
    BulkOperation,
    BulkState,
    ConversationKind,
    Delivery,
    Direction,
    Enrichment,
    Kind,
    OutboxState,
    Priority,
    Status,
)


class Contact(models.Model):
    """A person in the community; one Identity per platform account."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="contacts"
    )
    display_name = models.CharField(_("name"), max_length=200)
    avatar_url = models.URLField(max_length=500, blank=True, default="")
    language = models.CharField(max_length=8, blank=True, default="")
    # Set when this contact was merged into another one.
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.display_name

    @property
    def first_name(self) -> str:
        return self.display_name.split(" ")[0] if self.display_name else ""


class Identity(models.Model):
    """One platform account of a contact, unique per (channel, external_id)."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    channel = models.ForeignKey(
        "connectors.Channel", on_delete=models.CASCADE, related_name="identities"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    external_id = models.CharField(max_length=200)
    handle = models.CharField(max_length=200, blank=True, default="")
    display_name = models.CharField(max_length=200, blank=True, default="")
    avatar_url = models.URLField(max_length=500, blank=True, default="")
    profile_url = models.URLField(max_length=500, blank=True, default="")
    # How many follow this account, where the platform tells it (X, Mastodon); NULL: unknown.
    # Updated by every later delivery that carries it (rules: "author has at least N followers").
    followers = models.PositiveIntegerField(_("followers"), null=True, blank=True)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            # do_receive resolves authors by (channel, external_id); also the dedupe guard.
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="identity_channel_ext_uniq"
            ),
        ]


class Post(models.Model):
    """The brand's own content that interactions hang under."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    channel = models.ForeignKey(
        "connectors.Channel", on_delete=models.CASCADE, related_name="posts"
    )
    external_id = models.CharField(max_length=200)
    text = models.TextField(blank=True, default="")
    url = models.URLField(max_length=500, blank=True, default="")
    thumbnail_url = models.URLField(max_length=500, blank=True, default="")
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # do_receive links items to their post by (channel, external_id).
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="post_channel_ext_uniq"
            ),
        ]


class Tag(models.Model):
    """A label the team puts on conversations."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="tags"
    )
    name = models.CharField(_("name"), max_length=60)
    color = models.CharField(max_length=16, default="grey")

    class Meta:
        ordering = ["name"]
        constraints = [
            # Tag lookup by name when tagging, and no duplicate names.
            models.UniqueConstraint(fields=["workspace", "name"], name="tag_ws_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class Conversation(models.Model):
    """The unit of work: a comment thread by one author under a post, a private thread, a review."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="conversations"
    )
    channel = models.ForeignKey(
        "connectors.Channel", on_delete=models.CASCADE, related_name="conversations"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    post = models.ForeignKey(
        Post, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations"
    )
    # Threading key, unique per channel: "post:<id>:author:<id>", "private:<id>", "item:<id>".
    thread_key = models.CharField(max_length=400)
    kind = models.CharField(
        max_length=16, choices=ConversationKind.choices, default=ConversationKind.THREAD
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.NEW
    )
    priority = models.SmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    assignee = models.ForeignKey(
        "workspaces.Member",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_conversations",
    )
    # The team the conversation is given to: automatic assignment picks among its members.
    team = models.ForeignKey(
        "workspaces.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="conversations")
    # Denormalised from the latest inbound message, for the list.
    preview = models.CharField(max_length=300, blank=True, default="")
    last_kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.COMMENT)
    language = models.CharField(max_length=8, blank=True, default="")
    rating = models.SmallIntegerField(null=True, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    # Since when the community waits for us (None when answered): "oldest waiting first".
    waiting_since = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    # Snoozed until the contact answers: no time, the next inbound message wakes it.
    snooze_until_reply = models.BooleanField(default=False)
    # Set when this conversation was merged into another one (its messages moved there).
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # do_receive threads items into conversations by (channel, thread_key).
            models.UniqueConstraint(
                fields=["channel", "thread_key"], name="conversation_channel_thread_uniq"
            ),
        ]
        indexes = [
            # Inbox list, default sort: WHERE workspace=? AND status=?
            # ORDER BY priority DESC, waiting_since, id.
            models.Index(
                fields=["workspace", "status", "-priority", "waiting_since", "id"],
                name="conv_ws_status_prio_wait_idx",
            ),
            # Inbox list, "newest" sort: ORDER BY last_activity_at DESC.
            models.Index(
                fields=["workspace", "status", "-last_activity_at"],
                name="conv_ws_status_activity_idx",
            ),
            # The closed view: WHERE workspace=? AND status='closed'
            # ORDER BY last_activity_at DESC, id DESC (a stable order, served without a sort).
            models.Index(
                fields=["workspace", "status", "-last_activity_at", "-id"],
                name="conv_ws_status_activity_id_idx",
            ),
            # "Mine" view and counts: WHERE workspace=? AND assignee=? AND status=?.
            models.Index(
                fields=["workspace", "assignee", "status"], name="conv_ws_assignee_status_idx"
            ),
            # The contact panel: other conversations of a contact.
            models.Index(fields=["contact", "-last_activity_at"], name="conv_contact_activity_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact} — {self.preview[:40]}"


class Message(models.Model):
    """One item in a conversation: inbound, outbound or an internal note."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    channel = models.ForeignKey(
        "connectors.Channel", on_delete=models.CASCADE, related_name="messages"
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    # The platform's id; empty for notes and for outbound messages not yet sent.
    external_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 (NULL: not yet on the platform; unique when set)
    parent_external_id = models.CharField(max_length=200, blank=True, default="")
    direction = models.CharField(max_length=16, choices=Direction.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.COMMENT)
    is_private = models.BooleanField(default=False)
    author_identity = models.ForeignKey(
        Identity, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_member = models.ForeignKey(
        "workspaces.Member", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField(blank=True, default="")
    url = models.URLField(max_length=500, blank=True, default="")
    rating = models.SmallIntegerField(null=True, blank=True)
    language = models.CharField(max_length=8, blank=True, default="")
    # The language model's probability of `language` (0–1), set at ingest with it; NULL when
    # the language is unknown or was detected before scores were kept. The model's name and
    # version are in `classified_by` ("language=…").
    language_score = models.FloatField(null=True, blank=True)
    sentiment = models.CharField(max_length=16, blank=True, default="")
    intent = models.CharField(max_length=32, blank=True, default="")
    toxicity = models.FloatField(null=True, blank=True)
    # The rest of the labels of the classification stage (cercle.moderation.classifiers),
    # filled by the worker a moment after the message is stored: each label's score
    # (0–1), the toxicity category, whether it needs a reply, and which models said so.
    sentiment_score = models.FloatField(null=True, blank=True)
    intent_score = models.FloatField(null=True, blank=True)
    toxicity_category = models.CharField(max_length=16, blank=True, default="")
    needs_reply = models.BooleanField(null=True, blank=True)
    needs_reply_score = models.FloatField(null=True, blank=True)
    classified_by = models.CharField(max_length=300, blank=True, default="")
    # NULL until classified (and again after an edit): what the classify_pending drain looks for.
    classified_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    is_hidden = models.BooleanField(default=False)
    delivery = models.CharField(max_length=16, choices=Delivery.choices, blank=True, default="")
    delivery_error = models.TextField(blank=True, default="")
    raw_event = models.ForeignKey(
        "pipeline.RawEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The version of the platform's state we hold, so that a re-sent or reordered
    # delivery never overwrites a newer one: the platform's own time of that state
    # (Incoming.changed_at) where it gives one, and the id of the RawEvent that
    # brought it (arrival order) for the rest. See inbox.receive._is_newer.
    version_at = models.DateTimeField(null=True, blank=True)
    version_seq = models.BigIntegerField(null=True, blank=True)
    # "loading" while the pipeline fetches an item that arrived with ids only.
    enrichment = models.CharField(
        max_length=16, choices=Enrichment.choices, blank=True, default=Enrichment.NONE
    )

    class Meta:
        constraints = [
            # The idempotent upsert of do_receive: one row per platform item, whatever the retries.
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="message_channel_ext_uniq",
            ),
        ]
        indexes = [
            # The conversation timeline: WHERE conversation=? ORDER BY id.
            models.Index(fields=["conversation", "id"], name="message_conv_idx"),
            # The insights' live tail (today's heatmap, posts, ratings): WHERE workspace=? AND
            # sent_at >= ? (the whole days are read from the rollups).
            models.Index(fields=["workspace", "sent_at"], name="message_ws_sent_idx"),
            # The classify_pending drain: WHERE classified_at IS NULL AND direction='inbound'
            # ORDER BY id DESC LIMIT n. Partial: once the backlog is drained it is empty.
            models.Index(
                fields=["-id"],
                condition=models.Q(classified_at__isnull=True, direction="inbound"),
                name="message_unclassified_idx",
            ),
            # The enrich step finds a channel's items still loading: WHERE channel=? AND enrichment='loading'.
            models.Index(
                fields=["channel", "id"],
                name="message_loading_idx",
                condition=models.Q(enrichment="loading"),
            ),
        ]

    @property
    def when(self) -> datetime:
        return self.sent_at or self.created_at


class Note(Message):
    """An internal note: a Message with direction note, never sent to a platform."""

    class Meta:
        proxy = True


class Tombstone(models.Model):
    """A platform item deleted before or after we saw it: a late "add" must not resurrect it."""

    channel = models.ForeignKey("connectors.Channel", on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=200)
    deleted_at = models.DateTimeField()

    class Meta:
        constraints = [
            # do_receive checks (channel, external_id) before inserting.
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="tombstone_channel_ext_uniq"
            ),
        ]


class Outbox(models.Model):
    """One outbound action to perform on a platform, written with its Message in one transaction.

    The inbox writes it (a reply, a moderation); the pipeline's sender drains it.
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    channel = models.ForeignKey(
        "connectors.Channel", on_delete=models.CASCADE, related_name="outbox"
    )
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="outbox"
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=32)
    # The OutboundAction's fields (see connectors.base.OutboundAction).
    payload = models.JSONField(default=dict)
    # Sent to the platform where it supports one, and used to reconcile otherwise.
    idempotency_key = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=16, choices=OutboxState.choices, default=OutboxState.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    platform_id = models.CharField(max_length=200, blank=True, default="")
    platform_url = models.URLField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The sender picks due rows: WHERE state IN (queued, unknown) ORDER BY next_attempt_at.
            models.Index(
                fields=["next_attempt_at", "id"],
                name="outbox_due_idx",
                condition=models.Q(state__in=[OutboxState.QUEUED, OutboxState.UNKNOWN]),
            ),
            # Waiting rows are released per channel when it is reconnected.
            models.Index(
                fields=["channel", "state"],
                name="outbox_channel_state_idx",
            ),
        ]


class Draft(models.Model):
    """A member's unsent text in one conversation's reply box, kept until it is sent or discarded.

    Saved from the reply box as the member types (not in the Activity log: far too
    chatty); the team sees that it exists (presence), never its text.
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="drafts")
    member = models.ForeignKey("workspaces.Member", on_delete=models.CASCADE, related_name="+")
    text = models.TextField(blank=True, default="")
    # The reply box's mode it was written in (reply, private, note): a note stays a note.
    mode = models.CharField(max_length=16, default="reply")
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            # One draft per member and conversation: the autosave upserts on it.
            models.UniqueConstraint(
                fields=["member", "conversation"], name="draft_member_conversation_uniq"
            ),
        ]
        indexes = [
            # Who has a draft on the rows of the list: WHERE workspace=? AND conversation IN (…).
            models.Index(fields=["workspace", "conversation"], name="draft_ws_conv_idx"),
        ]


class Presence(models.Model):
    """Where one browser tab of a member is now: the conversation open in it, and when it typed.

    Ephemeral: a heartbeat refreshes `seen_at`; a row older than the presence
    time-to-live means nobody is there any more (and is deleted at the next beat).
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    member = models.ForeignKey("workspaces.Member", on_delete=models.CASCADE, related_name="+")
    # A random id the page draws when it loads: two tabs of one member are two presences.
    tab = models.CharField(max_length=40)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    seen_at = models.DateTimeField()
    typing_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # The heartbeat upserts on (member, tab).
            models.UniqueConstraint(fields=["member", "tab"], name="presence_member_tab_uniq"),
        ]
        indexes = [
            # Who is here: WHERE workspace=? AND conversation IN (…) AND seen_at > now - ttl;
            # and the sweep of expired rows: WHERE workspace=? AND seen_at < ….
            models.Index(fields=["workspace", "seen_at"], name="presence_ws_seen_idx"),
            models.Index(fields=["conversation", "seen_at"], name="presence_conv_seen_idx"),
        ]


class InboxSettings(models.Model):
    """The inbox's options of one workspace (a row only once someone changed a default)."""

    workspace = models.OneToOneField(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="inbox_settings"
    )
    # A new inbound message reopens a closed conversation (off: it stays closed).
    reopen_on_inbound = models.BooleanField(
        _("a new message reopens a closed conversation"), default=True
    )

    class Meta:
        verbose_name_plural = "inbox settings"


class BulkJob(models.Model):
    """One bulk action (assign, tag, close, mark as spam) over a selection or a filtered set.

    Its conversations are frozen as BulkItem rows when it starts; a worker applies
    it in chunks (`done` counts them) and records what each conversation was
    before, so that the undo restores exactly what it changed.
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    actor = models.ForeignKey(
        "workspaces.Member", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    operation = models.CharField(max_length=16, choices=BulkOperation.choices)
    # assign: {"assignee_id": id or None}; tag: {"tag_id": id, "tag": name}; spam: {"tag_id", "tag"}.
    parameters = models.JSONField(default=dict, blank=True)
    # "selection" (ids the member ticked) or "filter" (every conversation matching `filters`).
    scope = models.CharField(max_length=16, default="selection")
    # The list's query string when the job started (what "all matching this filter" meant).
    filters = models.TextField(blank=True, default="")
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    undone = models.PositiveIntegerField(default=0)
    kept = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=16, choices=BulkState.choices, default=BulkState.QUEUED)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        "workspaces.Member", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The worker's drain and the scheduler: WHERE state IN (queued, running, undoing).
            models.Index(fields=["state", "id"], name="bulkjob_state_idx"),
        ]


class BulkItem(models.Model):
    """One conversation of a bulk job, and what it was before the job changed it."""

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="items")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(
        max_length=16, choices=BulkItemState.choices, default=BulkItemState.PENDING
    )
    status_changed = models.BooleanField(default=False)
    old_status = models.CharField(max_length=16, blank=True, default="")
    old_snoozed_until = models.DateTimeField(null=True, blank=True)
    old_snooze_until_reply = models.BooleanField(default=False)
    old_sla_due_at = models.DateTimeField(null=True, blank=True)
    assignee_changed = models.BooleanField(default=False)
    old_assignee_id = models.BigIntegerField(null=True, blank=True)
    tag_added = models.BooleanField(default=False)
    # The last Activity id the job wrote for this conversation: a later change by
    # someone else (a higher id on the same field) keeps the undo off it.
    activity_mark = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            # One item per conversation of a job; serves the undo's
            # UPDATE conversation SET … = (SELECT … FROM item WHERE job=? AND conversation=id).
            models.UniqueConstraint(fields=["job", "conversation"], name="bulkitem_job_conv_uniq"),
        ]
        indexes = [
            # The worker takes the next chunk: WHERE job=? AND state=? ORDER BY id LIMIT n.
            models.Index(fields=["job", "state", "id"], name="bulkitem_job_state_idx"),
        ]


__all__ = [
    "BulkItem",
    "BulkJob",
    "Contact",
    "Conversation",
    "Draft",
    "Identity",
    "InboxSettings",
    "Message",
    "Note",
    "Outbox",
    "Post",
    "Presence",
    "Tag",
    "Tombstone",
]
