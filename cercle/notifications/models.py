"""Notifications of members, the cursor over the Activity log, digests, and outgoing webhooks."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cercle.core import clock
from cercle.workspaces.models import Activity, Member, Workspace

from .choices import DeliveryState, EmailState, NotificationKind


class Notification(models.Model):
    """Something a member is told about: an Activity of the log, for one reason (`kind`).

    Made by the drain (`actions.do_drain_activity_log`), one per member and
    activity (a unique constraint, so a drain run twice makes no duplicate).
    `in_app` says whether the bell shows it; `email_state` whether it is mailed.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="notifications_received"
    )
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    in_app = models.BooleanField(default=True)
    email_state = models.CharField(
        max_length=8, choices=EmailState.choices, blank=True, default=EmailState.NONE
    )
    created_at = models.DateTimeField(default=clock.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One notification per member and activity: the drain's idempotence.
            models.UniqueConstraint(
                fields=["member", "activity"], name="notification_member_activity_uniq"
            ),
        ]
        indexes = [
            # The bell and the page: WHERE member=? AND in_app [AND read_at IS NULL] ORDER BY id DESC.
            models.Index(
                fields=["member", "in_app", "read_at", "id"], name="notif_member_unread_idx"
            ),
            # The mailer: WHERE email_state='pending' ORDER BY id.
            models.Index(
                fields=["email_state", "id"],
                name="notif_email_pending_idx",
                condition=Q(email_state__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.member_id}"


class LogCursor(models.Model):
    """How far a reader of the Activity log got: the last id read, and the holes left behind.

    An id can become visible after a higher one (two transactions committing
    out of order on PostgreSQL): the ids skipped are kept in `gaps` with the
    time they were first seen and read again until they appear or expire.
    """

    name = models.CharField(max_length=32, unique=True)
    last_id = models.BigIntegerField(default=0)
    # [[activity id, ISO time first missed], …]
    gaps = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_id}"


class DigestSent(models.Model):
    """A member's daily digest of one day (their workspace's local date): sent once."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            # One digest per member and day, whatever the number of workers.
            models.UniqueConstraint(fields=["member", "day"], name="digest_member_day_uniq"),
        ]


class WebhookEndpoint(models.Model):
    """A URL of the team's (a team chat, an automation) told about Activity rows, signed.

    The signing secret is stored encrypted (`core.crypto`) and shown once, when made.
    `events` lists the Activity verbs sent; empty means every verb.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    url = models.URLField(_("URL"), max_length=500)
    secret_encrypted = models.TextField()
    events = models.JSONField(_("events"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Deliveries start with the activities after this id (not the history before the endpoint).
    start_after = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [
            # The drain's endpoints per workspace: WHERE workspace IN (…) AND is_active.
            models.Index(fields=["workspace", "is_active"], name="webhook_ws_active_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def wants(self, verb: str) -> bool:
        return not self.events or verb in self.events


class WebhookDelivery(models.Model):
    """One message to one endpoint (an Activity, or a test): its body and every attempt's outcome."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    activity = models.ForeignKey(
        Activity, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # The `webhook-id` header: the same on every retry, so receivers can drop duplicates.
    message_id = models.CharField(max_length=40, unique=True)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            # One delivery per endpoint and activity: the drain's idempotence.
            models.UniqueConstraint(
                fields=["endpoint", "activity"], name="webhook_delivery_endpoint_activity_uniq"
            ),
        ]
        indexes = [
            # The sender: WHERE state='pending' AND next_attempt_at <= now ORDER BY next_attempt_at.
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due_idx",
                condition=Q(state="pending"),
            ),
            # The delivery log of an endpoint: WHERE endpoint=? ORDER BY id DESC.
            models.Index(fields=["endpoint", "id"], name="webhook_delivery_log_idx"),
        ]

    def __str__(self) -> str:
        return self.message_id
