"""Polling X (catch-up): mentions with since_id, draining pages, latest DMs, errors."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from cercle.connectors.choices import Health
from cercle.connectors.models import Channel
from cercle.inbox.models import Message
from cercle.pipeline.poller import poll_channel

from .conftest import BRAND_ID, FakeX, answer, fixture_json

pytestmark = pytest.mark.django_db

MENTIONS = f"/2/users/{BRAND_ID}/mentions"
DMS = "/2/dm_events"


def test_first_poll_reads_mentions_and_dms(x_channel: Channel, fake_x: FakeX) -> None:
    fake_x.on("GET", MENTIONS, answer("v2_mentions_expanded.json"))
    fake_x.on("GET", DMS, answer("v2_dm_events.json"))
    received = poll_channel(x_channel)
    assert (received, Message.objects.filter(channel=x_channel).count()) == (6, 6)


def test_mentions_request_asks_for_threading_fields(x_channel: Channel, fake_x: FakeX) -> None:
    fake_x.on("GET", MENTIONS, answer("v2_mentions_expanded.json"))
    fake_x.on("GET", DMS, answer("v2_dm_events.json"))
    poll_channel(x_channel)
    [request] = fake_x.calls("GET", MENTIONS)
    params = request.url.params
    assert (
        request.headers["authorization"],
        {"author_id", "referenced_tweets.id"} <= set(params["expansions"].split(",")),
        {"created_at", "conversation_id", "in_reply_to_user_id"}
        <= set(params["tweet.fields"].split(",")),
        "since_id" in params,
    ) == ("Bearer access-1", True, True, False)


def test_cursor_keeps_newest_ids(x_channel: Channel, fake_x: FakeX) -> None:
    fake_x.on("GET", MENTIONS, answer("v2_mentions_expanded.json"))
    fake_x.on("GET", DMS, answer("v2_dm_events.json"))
    poll_channel(x_channel)
    x_channel.refresh_from_db()
    assert json.loads(x_channel.cursor) == {"m": "1859000000000000023", "d": "1859000000000000032"}


def test_next_poll_uses_since_id_and_skips_seen_dms(x_channel: Channel, fake_x: FakeX) -> None:
    fake_x.on("GET", MENTIONS, answer("v2_mentions_expanded.json"))
    fake_x.on("GET", DMS, answer("v2_dm_events.json"))
    poll_channel(x_channel)
    fake_x.on("GET", MENTIONS, lambda r: httpx.Response(200, json={"meta": {"result_count": 0}}))
    x_channel.refresh_from_db()
    x_channel.last_polled_at = None
    second = poll_channel(x_channel)
    last = fake_x.calls("GET", MENTIONS)[-1]
    assert (last.url.params.get("since_id"), second) == ("1859000000000000023", 0)


def test_pages_older_than_the_first_are_drained_before_moving_since_id(
    x_channel: Channel, fake_x: FakeX
) -> None:
    first = fixture_json("v2_mentions_expanded.json")
    first["meta"]["next_token"] = "7140dibdnow9c7btw423i3sy3u5zupmkcpofxcsmxj48j"
    older = fixture_json("recorded_mentions_timeline.json")
    del older["meta"]["next_token"]
    fake_x.on(
        "GET",
        MENTIONS,
        lambda r: httpx.Response(200, json=first),
        lambda r: httpx.Response(200, json=older),
    )
    fake_x.on("GET", DMS, answer("v2_dm_events.json"))
    x_channel.cursor = json.dumps({"m": "1578516000000000000"})
    poll_channel(x_channel)
    x_channel.refresh_from_db()
    second = fake_x.calls("GET", MENTIONS)[1].url.params
    assert (second["pagination_token"], second["since_id"], json.loads(x_channel.cursor)["m"]) == (
        "7140dibdnow9c7btw423i3sy3u5zupmkcpofxcsmxj48j",
        "1578516000000000000",
        "1859000000000000023",
    )


def test_poll_429_pauses_the_channel(x_channel: Channel, fake_x: FakeX) -> None:
    reset = int((timezone.now() + timedelta(minutes=14)).timestamp())
    headers = {
        "x-rate-limit-limit": "450",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(reset),
    }
    fake_x.on("GET", MENTIONS, answer("error_429.json", 429, headers))
    poll_channel(x_channel)
    x_channel.refresh_from_db()
    assert x_channel.paused_until is not None and int(x_channel.paused_until.timestamp()) == reset


def test_poll_401_needs_reauth(x_channel: Channel, fake_x: FakeX) -> None:
    fake_x.on("GET", MENTIONS, answer("error_401.json", 401))
    poll_channel(x_channel)
    x_channel.refresh_from_db()
    assert x_channel.health == Health.NEEDS_REAUTH


def test_dms_can_be_left_to_webhooks(x_channel: Channel, fake_x: FakeX) -> None:
    x_channel.config = {"poll_dms": False}
    fake_x.on("GET", MENTIONS, answer("v2_mentions_expanded.json"))
    poll_channel(x_channel)
    assert fake_x.calls("GET", DMS) == []
