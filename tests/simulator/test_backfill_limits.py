"""The backfilled history respects the platforms' write limits and leaves no wall of late items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.models import Count

from cercle.inbox.models import Conversation, Message
from cercle.simulator import driver
from cercle.simulator.driver import backfill

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def test_backfill_answers_stay_within_each_channels_hourly_budget(
    settings, monkeypatch, workspace, owner, agent
):
    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["127.0.0.1"]
    monkeypatch.setattr(driver, "BACKFILL_REPLIES_PER_CHANNEL", 3)
    backfill(workspace, days=3, now=NOW, seed=42)
    per_channel = (
        Message.objects.filter(direction="outbound", is_private=False)
        .values("channel_id")
        .annotate(n=Count("id"))
    )
    assert max(row["n"] for row in per_channel) == 3


def test_backfill_leaves_nothing_older_than_a_day_waiting(settings, workspace, owner, agent):
    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["127.0.0.1"]
    backfill(workspace, days=3, now=NOW, seed=42)
    old_and_waiting = Conversation.objects.filter(
        status__in=["new", "open"], waiting_since__lt=NOW - timedelta(days=1, hours=1)
    )
    assert old_and_waiting.count() == 0
