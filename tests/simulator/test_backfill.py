from __future__ import annotations

from datetime import UTC, datetime

from cercle.inbox.models import Conversation, Message
from cercle.pipeline.models import RawEvent
from cercle.simulator.community import Community
from cercle.simulator.driver import LiveCommunity, backfill

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def test_two_days_of_history_go_through_the_real_pipeline(settings, workspace, owner, agent):
    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["127.0.0.1"]
    report = backfill(workspace, days=2, now=NOW, seed=42)
    assert set(RawEvent.objects.values_list("status", flat=True)) == {"done"}
    assert {"fr", "en"} <= set(
        Message.objects.filter(direction="inbound").values_list("language", flat=True)
    )
    assert report.conversations == Conversation.objects.filter(workspace=workspace).count() > 20
    # Older conversations were worked: answered, the answers delivered to the platform, some closed.
    assert (
        Message.objects.filter(direction="outbound", delivery="sent").count() == report.replied > 0
    )
    assert Conversation.objects.filter(status="closed").exists()


def test_backfilled_work_is_dated_in_the_simulated_past(settings, workspace, owner, agent):
    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["127.0.0.1"]
    backfill(workspace, days=2, now=NOW, seed=42)
    answered = Conversation.objects.filter(first_response_at__isnull=False)
    assert answered.exists()
    assert all(c.first_response_at < NOW for c in answered)


def test_the_live_loop_delivers_at_its_rate():
    delivered = []
    live = LiveCommunity(
        Community(1), lambda key, events: delivered.extend(events), rate=20, seed=3
    )
    live.step(NOW, 600)
    assert len(delivered) > 5
    assert all(e.created_at <= NOW for e in delivered)


def test_backfilled_posts_get_their_details_from_their_platforms(settings, workspace, owner):
    """Comments name only their post: post enrichment asks each platform's API for the rest."""
    from cercle.inbox.models import Post

    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["127.0.0.1"]
    report = backfill(workspace, days=2, now=NOW, seed=42, work=False)
    posts = Post.objects.filter(workspace=workspace).select_related("channel")
    platforms = {p.channel.platform for p in posts}
    assert {"facebook", "instagram", "youtube", "x", "reddit"} <= platforms
    dated = {p.channel.platform for p in posts if p.published_at is not None and p.text}
    assert {"facebook", "instagram", "youtube", "x", "reddit"} <= dated
    # Only a forum topic a member opened stays bare: it is not the brand's content.
    bare = [p for p in posts if p.published_at is None]
    assert {p.channel.platform for p in bare} <= {"discourse"}
    assert len(bare) < len([p for p in posts if p.channel.platform == "discourse"])
    assert report.posts_enriched > 0
    assert all(p.published_at < NOW for p in posts if p.published_at is not None)
