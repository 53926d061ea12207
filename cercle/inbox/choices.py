"""Statuses, kinds and verbs of the inbox, with their colours."""

from django.db import models
from django.utils.translation import gettext_lazy as _


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


class Kind(models.TextChoices):
    COMMENT = "comment", _("Comment")
    REPLY = "reply", _("Reply")
    MENTION = "mention", _("Mention")
    SHARE = "share", _("Share")
    MESSAGE = "message", _("Private message")
    REVIEW = "review", _("Review")


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


class Verb(models.TextChoices):
    RECEIVED = "received", _("received")
    EDITED = "edited", _("edited on the platform")
    DELETED = "deleted", _("deleted on the platform")
    CLASSIFIED = "classified", _("classified")
    REPLIED = "replied", _("replied")
    NOTE_ADDED = "note_added", _("added a note")
    ASSIGNED = "assigned", _("assigned")
    UNASSIGNED = "unassigned", _("unassigned")
    STATUS_CHANGED = "status_changed", _("changed the status")
    TAGGED = "tagged", _("tagged")
    UNTAGGED = "untagged", _("untagged")
    DELIVERED = "delivered", _("delivered")
    DELIVERY_FAILED = "delivery_failed", _("delivery failed")
    DELIVERY_WAITING = "delivery_waiting", _("waiting for reconnection")
    MODERATION_REQUESTED = "moderation_requested", _("asked the platform to moderate")
    MODERATED = "moderated", _("moderated on the platform")
    HIDDEN = "hidden", _("hidden")
    UNHIDDEN = "unhidden", _("unhidden")
    RULE_FIRED = "rule_fired", _("rule fired")
    CHANNEL_HEALTH = "channel_health", _("channel health changed")
