"""Statuses, kinds and delivery states of the inbox, with their colours."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from cercle.connectors.choices import ItemKind


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    SNOOZED = "snoozed", _("Snoozed")
    CLOSED = "closed", _("Closed")


STATUS_COLOURS = {
    Status.NEW: "blue",
    Status.OPEN: "green",
    Status.PENDING: "amber",
    Status.SNOOZED: "grey",
    Status.CLOSED: "grey",
}
# Statuses that still need the team's attention.
ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)


class Priority(models.IntegerChoices):
    LOW = 0, _("Low")
    NORMAL = 1, _("Normal")
    HIGH = 2, _("High")
    URGENT = 3, _("Urgent")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")
    NOTE = "note", _("Note")


# The item kind is shared with the connectors, which produce it.
Kind = ItemKind


class ConversationKind(models.TextChoices):
    THREAD = "thread", _("Comment thread")
    PRIVATE = "private", _("Private thread")
    REVIEW = "review", _("Review")
    MENTION = "mention", _("Mention")


class Delivery(models.TextChoices):
    PENDING = "pending", _("Sending…")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    WAITING = "waiting", _("Waiting for reconnection")


DELIVERY_COLOURS = {
    Delivery.PENDING: "grey",
    Delivery.SENT: "green",
    Delivery.FAILED: "red",
    Delivery.WAITING: "amber",
}


class Enrichment(models.TextChoices):
    """Where an item that arrived with ids only stands (see pipeline.enrich)."""

    NONE = "", _("Complete")
    LOADING = "loading", _("Loading…")
    UNAVAILABLE = "unavailable", _("Not available on the platform")


class OutboxState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    UNKNOWN = "unknown", _("Result unknown")  # the platform may or may not have done it
    WAITING = "waiting", _("Waiting for reconnection")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


OUTBOX_OPEN_STATES = (OutboxState.QUEUED, OutboxState.UNKNOWN, OutboxState.WAITING)


class BulkOperation(models.TextChoices):
    """What a bulk job does to every conversation of its selection."""

    ASSIGN = "assign", _("Assign")
    TAG = "tag", _("Tag")
    CLOSE = "close", _("Close")
    # As the rules' "mark as spam" action: the tag "spam", and closed.
    SPAM = "spam", _("Mark as spam")


class BulkState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Done")
    FAILED = "failed", _("Failed")
    UNDOING = "undoing", _("Undoing")
    UNDONE = "undone", _("Undone")


# States in which a worker still has chunks to apply (or to undo).
BULK_ACTIVE_STATES = (BulkState.QUEUED, BulkState.RUNNING, BulkState.UNDOING)


class BulkItemState(models.TextChoices):
    PENDING = "pending", _("Pending")
    CHANGED = "changed", _("Changed")
    UNCHANGED = "unchanged", _("Already so")
    UNDONE = "undone", _("Undone")
    # Changed by someone (or something) else after the bulk action: undo leaves it as it is.
    KEPT = "kept", _("Changed since, kept")


# The tag that "mark as spam" puts (the same as the rules' action).
SPAM_TAG = "spam"
