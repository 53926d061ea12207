"""Kinds of notification, their preference event, and the states of mails and webhook deliveries."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from cercle.workspaces.choices import NotificationEvent


class NotificationKind(models.TextChoices):
    MENTION = "mention", _("Mentioned you")
    ASSIGNMENT = "assignment", _("Assigned to you")
    SLA_AT_RISK = "sla_at_risk", _("Response due soon")
    SLA_BREACHED = "sla_breached", _("Response overdue")
    APPROVAL_REQUESTED = "approval_asked", _("Reply awaiting approval")
    REPLY_APPROVED = "reply_approved", _("Reply approved")
    REPLY_REJECTED = "reply_rejected", _("Reply sent back")
    LISTENING_ALERT = "listening_alert", _("Listening alert")
    RULE_ALERT = "rule_alert", _("A rule asks you to look")
    CRISIS_ALERT = "crisis_alert", _("Crisis alert")


# The member's preference (workspaces.choices.NotificationEvent) that governs each kind.
KIND_EVENT: dict[str, str] = {
    NotificationKind.MENTION: NotificationEvent.MENTION,
    NotificationKind.ASSIGNMENT: NotificationEvent.ASSIGNMENT,
    NotificationKind.SLA_AT_RISK: NotificationEvent.SLA,
    NotificationKind.SLA_BREACHED: NotificationEvent.SLA,
    # Approvals are work given to the member, or the answer to their request: like an assignment.
    NotificationKind.APPROVAL_REQUESTED: NotificationEvent.ASSIGNMENT,
    NotificationKind.REPLY_APPROVED: NotificationEvent.ASSIGNMENT,
    NotificationKind.REPLY_REJECTED: NotificationEvent.ASSIGNMENT,
    # The brand suddenly talked about, or badly: the workspace-wide kin of a mention.
    NotificationKind.LISTENING_ALERT: NotificationEvent.MENTION,
    # A moderation rule names the member (or their role) to tell: like a mention.
    NotificationKind.RULE_ALERT: NotificationEvent.MENTION,
    # A channel or post suddenly busy or negative: the same workspace-wide call to attention.
    NotificationKind.CRISIS_ALERT: NotificationEvent.MENTION,
}


class EmailState(models.TextChoices):
    NONE = "", _("Not mailed")
    PENDING = "pending", _("To be mailed")
    SENDING = "sending", _("Being mailed")
    SENT = "sent", _("Mailed")
    FAILED = "failed", _("Mail failed")


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


DELIVERY_COLOURS = {
    DeliveryState.PENDING: "amber",
    DeliveryState.DELIVERED: "green",
    DeliveryState.FAILED: "red",
}
