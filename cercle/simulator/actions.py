"""Writes of the simulator app: pointing demo channels at the fake platform, dating the backfill.

The backfill runs the real pipeline *now*, so the rows it makes are stamped
with the time of the run. These actions move those stamps to the simulated
time the history happened at, so response times, heatmaps and timelines of
the demo look like a month of real work rather than one busy minute.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, Min, OuterRef, Subquery

from cercle.connectors.models import Channel
from cercle.inbox.choices import Direction
from cercle.inbox.models import Conversation, Message
from cercle.workspaces.choices import Verb
from cercle.workspaces.models import Activity, Workspace


def do_repoint_channel(
    channel: Channel, config: dict[str, Any], credentials: dict[str, Any]
) -> Channel:
    """Give an existing demo channel the fake platform's new address and secrets (each run has its own)."""
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        locked.config = {**locked.config, **config}
        locked.set_credentials(credentials)
        locked.is_active = True
        locked.save(update_fields=["config", "credentials_token", "is_active"])
    return locked


def do_date_received_history(workspace: Workspace, since_id: int = 0) -> int:
    """Stamp "received" activities (id > since_id) and their conversations with the messages' own times."""
    sent_at = Message.objects.filter(pk=OuterRef("message_id")).values("sent_at")[:1]
    first_at = (
        Message.objects.filter(conversation=OuterRef("pk"), direction=Direction.INBOUND)
        .order_by()
        .values("conversation")
        .annotate(first=Min("sent_at"))
        .values("first")[:1]
    )
    with transaction.atomic():
        count = Activity.objects.filter(
            workspace=workspace, pk__gt=since_id, verb=Verb.RECEIVED, message__isnull=False
        ).update(created_at=Subquery(sent_at))
        Conversation.objects.filter(workspace=workspace, messages__isnull=False).distinct().update(
            created_at=Subquery(first_at)
        )
    return count


def do_date_work(conversation: Conversation, when: datetime, since_activity_id: int) -> None:
    """Move the team's work on a conversation (activities after `since_activity_id`) to `when`.

    The reply, its delivery, the assignment, tags and status changes keep
    their order, a few seconds apart; the first response time follows.
    """
    with transaction.atomic():
        activities = list(
            Activity.objects.filter(conversation=conversation, pk__gt=since_activity_id)
            .exclude(verb=Verb.RECEIVED)
            .order_by("id")
            .only("id", "message_id")
        )
        for offset, activity in enumerate(activities):
            Activity.objects.filter(pk=activity.pk).update(
                created_at=when + timedelta(seconds=5 * offset)
            )
        outbound = Message.objects.filter(
            conversation=conversation,
            direction=Direction.OUTBOUND,
            pk__in=[a.message_id for a in activities if a.message_id],
        )
        outbound.update(sent_at=when, created_at=when)
        latest = Message.objects.filter(conversation=conversation).aggregate(last=Max("sent_at"))[
            "last"
        ]
        fields: dict[str, Any] = {"last_activity_at": max(latest or when, when)}
        if (
            outbound.exists()
        ):  # the backfill answers a conversation once: this is the first response
            fields["first_response_at"] = when
        Conversation.objects.filter(pk=conversation.pk).update(**fields)
