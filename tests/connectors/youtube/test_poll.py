"""Polling YouTube: sweeps per moderation status, cursor, replies, quota plan, duplicates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from django.test import Client
from django.utils import timezone

from cercle.connectors.choices import Health
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for
from cercle.connectors.youtube.client import next_quota_reset
from cercle.connectors.youtube.connector import Cursor
from cercle.inbox.models import Message
from cercle.pipeline.poller import poll_channel, poll_due

from .conftest import BRAND, FakeYouTube, empty_threads, fixture, query, spend_units, units_used


def _serve_fixtures(fake: FakeYouTube) -> None:
    def threads(request: httpx.Request) -> httpx.Response:
        status = query(request)["moderationStatus"]
        name = (
            "comment_threads_published.json"
            if status == "published"
            else "comment_threads_held.json"
        )
        return httpx.Response(200, json=fixture(name))

    fake.on("GET", "/commentThreads", threads)
    fake.on("GET", "/comments", fixture("comments_replies.json"))


def test_a_sweep_reads_published_and_held_comments_into_messages(
    fake: FakeYouTube, yt_channel: Channel
) -> None:
    _serve_fixtures(fake)
    poll_channel(yt_channel)
    ids = set(Message.objects.filter(channel=yt_channel).values_list("external_id", flat=True))
    assert ids == {
        "UgyMS6bv4L1X96YX2Hl4AaABAg",
        "UgyMS6bv4L1X96YX2Hl4AaABAg.9iPXEClD9lW9iPXOnXUqJF",
        "UgxISZhP_62DIrtv2r94AaABAg",
        "UgxISZhP_62DIrtv2r94AaABAg.9iPZ0Lq3k2m9iPZ2xYgHnB",
        "UgxISZhP_62DIrtv2r94AaABAg.9iPZ9aa0Q3x9iPZAbCdEfG",
        "UgwhHgsSs41dHB98XwJ4AaABAg",
    }


def test_thread_requests_carry_the_token_and_the_channel(
    fake: FakeYouTube, yt_channel: Channel
) -> None:
    _serve_fixtures(fake)
    poll_channel(yt_channel)
    calls = fake.calls("GET", "/commentThreads")
    assert [
        (query(r)["moderationStatus"], query(r)["allThreadsRelatedToChannelId"], query(r)["part"])
        for r in calls
    ] == [
        ("published", BRAND, "snippet,replies"),
        ("heldForReview", BRAND, "snippet,replies"),
    ] and {r.headers["Authorization"] for r in calls} == {"Bearer ya29.current"}


def test_replies_beyond_those_carried_are_listed_by_parent(
    fake: FakeYouTube, yt_channel: Channel
) -> None:
    _serve_fixtures(fake)
    poll_channel(yt_channel)
    # Only the thread with 7 replies and 1 carried needs comments.list.
    assert [query(r)["parentId"] for r in fake.calls("GET", "/comments")] == [
        "UgxISZhP_62DIrtv2r94AaABAg"
    ]


def test_the_same_items_polled_twice_give_one_message_each(
    fake: FakeYouTube, yt_channel: Channel
) -> None:
    _serve_fixtures(fake)
    poll_channel(yt_channel)
    Channel.objects.filter(pk=yt_channel.pk).update(cursor="")
    yt_channel.refresh_from_db()
    poll_channel(yt_channel)
    assert len(fake.calls("GET", "/commentThreads")) == 4
    assert Message.objects.filter(channel=yt_channel).count() == 6


def test_the_cursor_keeps_when_the_last_sweep_started(
    fake: FakeYouTube, yt_channel: Channel
) -> None:
    _serve_fixtures(fake)
    before = timezone.now()
    poll_channel(yt_channel)
    yt_channel.refresh_from_db()
    cursor = Cursor.load(yt_channel.cursor)
    since = datetime.fromisoformat(cursor.since)
    assert before <= since <= timezone.now() and cursor.in_sweep is False


def test_no_new_sweep_before_the_planned_time(fake: FakeYouTube, yt_channel: Channel) -> None:
    _serve_fixtures(fake)
    poll_channel(yt_channel)
    poll_due()  # the channel's next_poll_at is the quota plan's: not yet
    assert len(fake.calls("GET", "/commentThreads")) == 2


def test_paging_follows_next_page_token_while_threads_are_recent(
    fake: FakeYouTube, yt_channel: Channel
) -> None:
    recent = fixture("comment_threads_held.json")
    recent["items"][0]["snippet"]["topLevelComment"]["snippet"]["publishedAt"] = (
        timezone.now().isoformat()
    )
    recent["items"][0]["snippet"]["topLevelComment"]["snippet"]["moderationStatus"] = "published"
    recent["nextPageToken"] = "QURTSl9pMVNC"
    older = fixture("comment_threads_published.json")
    older["nextPageToken"] = "never-followed"
    for item in older["items"]:
        item["snippet"]["topLevelComment"]["snippet"]["publishedAt"] = "2026-01-02T03:04:05Z"
        item["snippet"]["topLevelComment"]["snippet"]["updatedAt"] = "2026-01-02T03:04:05Z"
    fake.on("GET", "/commentThreads", recent, older, empty_threads())
    fake.on("GET", "/comments", fixture("comments_replies.json"))
    poll_channel(yt_channel)
    tokens = [query(r).get("pageToken", "") for r in fake.calls("GET", "/commentThreads")]
    # Page 2 reaches threads older than the first sweep's 7 days: the sweep moves on to heldForReview.
    assert tokens == ["", "QURTSl9pMVNC", ""]


def test_later_sweeps_read_back_one_day_only(fake: FakeYouTube, yt_channel: Channel) -> None:
    two_days_ago = (timezone.now() - timedelta(days=2)).isoformat()
    older = fixture("comment_threads_published.json")
    for item in older["items"]:
        item["snippet"]["topLevelComment"]["snippet"]["publishedAt"] = two_days_ago
    older["nextPageToken"] = "QURTSl9pMVNC"
    fake.on("GET", "/commentThreads", older)
    fake.on("GET", "/comments", fixture("comments_replies.json"))
    Channel.objects.filter(pk=yt_channel.pk).update(
        cursor=Cursor(since=timezone.now().isoformat()).dump()
    )
    yt_channel.refresh_from_db()
    poll_channel(yt_channel)
    # Two-day-old threads are past a later sweep's window: no second page, for either status.
    assert [query(r).get("pageToken", "") for r in fake.calls("GET", "/commentThreads")] == ["", ""]


def test_each_call_is_counted_in_the_channel_quota(fake: FakeYouTube, yt_channel: Channel) -> None:
    _serve_fixtures(fake)
    poll_channel(yt_channel)
    assert units_used(yt_channel) == 3


def test_quota_resets_at_midnight_pacific_time() -> None:
    # 2026-11-25 07:59 UTC is 23:59 on the 24th in Los Angeles (PST, UTC-8).
    assert next_quota_reset(datetime(2026, 11, 25, 7, 59, tzinfo=UTC)) == datetime(
        2026, 11, 25, 8, 0, tzinfo=UTC
    )


def test_poll_interval_grows_as_the_budget_shrinks(yt_channel: Channel) -> None:
    connector = connector_for(yt_channel)
    fresh = connector.poll_interval()
    resets_at = next_quota_reset(timezone.now())
    spend_units(yt_channel, 7_400, resets_at)
    # 10,000 - 7,400 - 2,500 reserved for replies = 100 units left: 50 sweeps of 2 calls until the reset.
    expected = max(timedelta(seconds=60), (resets_at - timezone.now()) / 50)
    tight = connector.poll_interval()
    assert fresh == timedelta(seconds=60) and abs(tight - expected) < timedelta(seconds=5)


def test_polling_never_spends_the_units_kept_for_replies(
    fake: FakeYouTube, yt_channel: Channel
) -> None:
    _serve_fixtures(fake)
    resets_at = next_quota_reset(timezone.now())
    spend_units(yt_channel, 7_500, resets_at)
    poll_channel(yt_channel)
    yt_channel.refresh_from_db()
    assert (fake.requests, yt_channel.next_poll_at) == ([], resets_at)


def test_quota_exceeded_pauses_the_channel_until_the_reset(
    fake: FakeYouTube, yt_channel: Channel
) -> None:
    fake.on(
        "GET", "/commentThreads", httpx.Response(403, json=fixture("error_quota_exceeded.json"))
    )
    poll_channel(yt_channel)
    yt_channel.refresh_from_db()
    assert (yt_channel.paused_until, units_used(yt_channel)) == (
        next_quota_reset(timezone.now()),
        10_000,
    )


def test_a_revoked_token_while_polling_asks_for_reauth(
    fake: FakeYouTube, yt_channel: Channel
) -> None:
    fake.on("GET", "/commentThreads", httpx.Response(401, json=fixture("error_unauthorized.json")))
    fake.on(
        "POST",
        "https://oauth2.googleapis.com/token",
        httpx.Response(400, json=fixture("oauth_invalid_grant.json")),
    )
    poll_channel(yt_channel)
    yt_channel.refresh_from_db()
    assert yt_channel.health == Health.NEEDS_REAUTH


def test_a_server_error_while_polling_degrades_the_channel(
    fake: FakeYouTube, yt_channel: Channel
) -> None:
    fake.on("GET", "/commentThreads", httpx.Response(503, json=fixture("error_backend.json")))
    poll_channel(yt_channel)
    yt_channel.refresh_from_db()
    assert yt_channel.health == Health.DEGRADED


def test_the_webhook_endpoint_refuses_a_poll_only_channel(yt_channel: Channel) -> None:
    body = json.dumps(fixture("comment_threads_published.json")).encode()
    response = Client().post(
        f"/hooks/{yt_channel.uuid}", data=body, content_type="application/json"
    )
    assert response.status_code == 404 and Message.objects.count() == 0


def _next_sweep(channel: Channel) -> None:
    """Poll again as if the planned interval had passed (poll_channel polls whatever the schedule)."""
    channel.refresh_from_db()
    poll_channel(channel)


def test_replies_are_read_again_only_when_the_count_moves(
    fake: FakeYouTube, yt_channel: Channel
) -> None:
    _serve_fixtures(fake)
    poll_channel(yt_channel)
    _next_sweep(yt_channel)  # same count: no comments.list
    unchanged = len(fake.calls("GET", "/comments"))
    grown = fixture("comment_threads_published.json")
    grown["items"][1]["snippet"]["totalReplyCount"] = 8
    fake.on("GET", "/commentThreads", grown, fixture("comment_threads_held.json"))
    _next_sweep(yt_channel)
    assert (unchanged, len(fake.calls("GET", "/comments"))) == (1, 2)


def _recent(payload: dict[str, Any]) -> dict[str, Any]:
    """The fixture's comments moved to an hour ago, inside any sweep's horizon."""
    when = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for comment in _comments(payload):
        comment["snippet"]["publishedAt"] = comment["snippet"]["updatedAt"] = when
    return payload


def _comments(payload: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for item in payload.get("items", []):
        if item.get("kind") == "youtube#comment":
            found.append(item)
            continue
        found.append(item["snippet"]["topLevelComment"])
        found += item.get("replies", {}).get("comments", [])
    return found


def test_a_comment_missing_from_two_sweeps_is_deleted(
    fake: FakeYouTube, yt_channel: Channel
) -> None:
    published, held = (
        _recent(fixture("comment_threads_published.json")),
        _recent(fixture("comment_threads_held.json")),
    )
    fake.on("GET", "/comments", _recent(fixture("comments_replies.json")))
    fake.on("GET", "/commentThreads", published, held)
    poll_channel(yt_channel)
    del published["items"][1]  # the edited thread and its replies are gone
    fake.on("GET", "/commentThreads", published, held, published, held)
    _next_sweep(yt_channel)
    once = set(
        Message.objects.filter(channel=yt_channel, deleted_at__isnull=False).values_list(
            "external_id", flat=True
        )
    )
    _next_sweep(yt_channel)
    deleted = set(
        Message.objects.filter(channel=yt_channel, deleted_at__isnull=False).values_list(
            "external_id", flat=True
        )
    )
    assert (once, deleted) == (
        set(),
        {
            "UgxISZhP_62DIrtv2r94AaABAg",
            "UgxISZhP_62DIrtv2r94AaABAg.9iPZ0Lq3k2m9iPZ2xYgHnB",
            "UgxISZhP_62DIrtv2r94AaABAg.9iPZ9aa0Q3x9iPZAbCdEfG",
        },
    )


def test_comments_older_than_the_horizon_are_never_deleted(
    fake: FakeYouTube, yt_channel: Channel
) -> None:
    published = fixture("comment_threads_published.json")
    for comment in _comments(published):
        comment["snippet"]["publishedAt"] = (timezone.now() - timedelta(days=3)).isoformat()
    fake.on("GET", "/comments", fixture("comments_replies.json"))
    fake.on("GET", "/commentThreads", published, empty_threads())
    poll_channel(yt_channel)  # the first sweep reads 7 days back
    fake.on("GET", "/commentThreads", empty_threads())
    _next_sweep(
        yt_channel
    )  # later sweeps read one day back: three-day-old threads are out of sight
    _next_sweep(yt_channel)
    assert Message.objects.filter(channel=yt_channel, deleted_at__isnull=False).count() == 0
