"""What notifications hold about a person, for the privacy app's export, erasure and retention.

The notifications app imports neither the privacy app nor the other way round:
`pipeline/apps.py` registers these functions as a keeper. A Notification row
holds no text (it points at an Activity, shown from the log); an outgoing
webhook's stored payload does (the message's excerpt, the summary line with
the contact's name). Erasure rebuilds a pending delivery's payload from the
erased rows (the receiver still hears of the event, without the person's
data) and clears the payload of the others.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from cercle.workspaces.models import Activity

from .choices import DeliveryState
from .models import Notification, WebhookDelivery
from .webhooks import activity_payload

# Rows one retention batch deletes (of each kind).
PURGE_BATCH = 500


def _activities(
    workspace_id: int, conversation_ids: Collection[int], message_ids: Collection[int]
) -> QuerySet[Activity]:
    return Activity.objects.filter(workspace_id=workspace_id).filter(
        Q(conversation_id__in=list(conversation_ids)) | Q(message_id__in=list(message_ids))
    )


def export(
    workspace_id: int, conversation_ids: Collection[int], message_ids: Collection[int]
) -> list[dict[str, Any]]:
    activities = _activities(workspace_id, conversation_ids, message_ids).values("pk")
    notifications = [
        {
            "type": "notification",
            "at": n.created_at.isoformat(),
            "kind": n.kind,
            "member": n.member.name,
            "activity_id": n.activity_id,
            "read": n.read_at is not None,
        }
        for n in Notification.objects.filter(workspace_id=workspace_id, activity__in=activities)
        .select_related("member__user")
        .order_by("id")
    ]
    deliveries = [
        {
            "type": "webhook",
            "at": d.created_at.isoformat(),
            "endpoint": d.endpoint.name,
            "event": d.event_type,
            "state": d.state,
            "payload": d.payload,
        }
        for d in WebhookDelivery.objects.filter(
            endpoint__workspace_id=workspace_id, activity__in=activities
        )
        .select_related("endpoint")
        .order_by("id")
    ]
    return notifications + deliveries


def erase(
    workspace_id: int, conversation_ids: Collection[int], message_ids: Collection[int]
) -> int:
    """Clear the person's data from stored webhook payloads (called after the erasure cleared
    the messages and the contact, in its transaction); returns how many were touched."""
    activities = _activities(workspace_id, conversation_ids, message_ids).values("pk")
    deliveries = WebhookDelivery.objects.filter(
        endpoint__workspace_id=workspace_id, activity__in=activities
    )
    pending = list(
        deliveries.filter(state=DeliveryState.PENDING).select_related(
            "activity__workspace", "activity__conversation", "activity__message"
        )
    )
    for delivery in pending:
        assert delivery.activity is not None
        delivery.payload = activity_payload(delivery.activity)
    WebhookDelivery.objects.bulk_update(pending, ["payload"])
    cleared = deliveries.exclude(state=DeliveryState.PENDING).update(payload={}, last_error="")
    return len(pending) + cleared


def purge(workspace_id: int, cutoff: datetime) -> int:
    """Notifications and finished webhook deliveries older than the retention."""
    notifications = list(
        Notification.objects.filter(workspace_id=workspace_id, created_at__lt=cutoff)
        .order_by("id")
        .values_list("pk", flat=True)[:PURGE_BATCH]
    )
    deliveries = list(
        WebhookDelivery.objects.filter(endpoint__workspace_id=workspace_id, created_at__lt=cutoff)
        .exclude(state=DeliveryState.PENDING)
        .order_by("id")
        .values_list("pk", flat=True)[:PURGE_BATCH]
    )
    Notification.objects.filter(pk__in=notifications).delete()
    WebhookDelivery.objects.filter(pk__in=deliveries).delete()
    return len(notifications) + len(deliveries)
