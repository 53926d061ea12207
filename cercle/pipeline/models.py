"""Raw inbound events: every payload exactly as received, drained by the ingest worker."""

from __future__ import annotations

from django.db import models

from cercle.pipeline.choices import RawEventStatus


class RawEvent(models.Model):
    """An inbound payload exactly as received (webhook body or polled page), kept for replay and audit."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    channel = models.ForeignKey(
        "connectors.Channel", on_delete=models.CASCADE, related_name="raw_events"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    # Where it came from: "webhook" or "poll".
    source = models.CharField(max_length=16, default="webhook")
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField()
    status = models.CharField(
        max_length=16, choices=RawEventStatus.choices, default=RawEventStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    # Status "partial": the items that could not be stored, [{"external_id", "error"}…];
    # the event's other items were stored.
    item_errors = models.JSONField(default=list, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # The platform's id of the delivery (Connector.delivery_id); "" when it has none.
    delivery_id = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            # A platform's retry of a delivery is stored once: do_store_raw_event inserts and
            # treats the violation as "seen" (one index probe, no read first).
            models.UniqueConstraint(
                fields=["channel", "delivery_id"],
                condition=~models.Q(delivery_id=""),
                name="rawevent_channel_delivery_uniq",
            ),
        ]
        indexes = [
            # The ingest worker drains pending events oldest first: WHERE status='pending' ORDER BY id.
            models.Index(
                fields=["id"], name="rawevent_pending_idx", condition=models.Q(status="pending")
            ),
            # The channel page counts what could not be stored: WHERE channel IN … AND status IN (failed, partial).
            models.Index(
                fields=["channel"],
                name="rawevent_unstored_idx",
                condition=models.Q(status__in=["failed", "partial"]),
            ),
        ]
