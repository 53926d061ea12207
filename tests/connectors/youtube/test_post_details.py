"""YouTube post enrichment: videos.list?part=snippet&id=… (up to 50 ids, 1 unit)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from cercle.connectors.base import Capability, RateLimited, TokenRevoked
from cercle.connectors.registry import connector_for
from cercle.connectors.youtube.connector import YouTubeConnector

from .conftest import fixture, query, units_used

MINE, THEIRS, GONE = "dQw4w9WgXcQ", "9bZkp7q19f0", "deletedVid1"


def test_youtube_declares_post_details_in_batches_of_50():
    assert Capability.POST_DETAILS in YouTubeConnector.capabilities
    assert YouTubeConnector.post_details_batch == 50


def test_the_brands_videos_are_read_in_one_call(fake, yt_channel):
    fake.on("GET", "/videos", fixture("videos_list.json"))
    refs = connector_for(yt_channel).post_details([MINE, THEIRS, GONE])
    assert [(r.external_id, r.text, r.url, r.published_at, r.thumbnail_url) for r in refs] == [
        (
            MINE,
            "Aurore : monter sa lampe en 3 minutes",
            f"https://www.youtube.com/watch?v={MINE}",
            datetime(2026, 10, 2, 8, 30, tzinfo=UTC),
            f"https://i.ytimg.com/vi/{MINE}/mqdefault.jpg",
        )
    ]
    [call] = fake.calls("GET", "/videos")
    assert query(call) == {"part": "snippet", "id": f"{MINE},{THEIRS},{GONE}"}
    assert units_used(yt_channel) == 1


def test_a_malformed_video_is_left_out_not_the_whole_answer(fake, yt_channel):
    answer = fixture("videos_list.json")
    answer["items"].insert(0, {"id": GONE, "snippet": {"publishedAt": "yesterday"}})
    answer["items"].append("not a video")
    fake.on("GET", "/videos", answer)
    assert [r.external_id for r in connector_for(yt_channel).post_details([MINE, GONE])] == [MINE]


@pytest.mark.parametrize("body", [{"kind": "youtube#videoListResponse"}, {"items": "nope"}])
def test_an_answer_without_items_finds_nothing(fake, yt_channel, body):
    fake.on("GET", "/videos", body)
    assert connector_for(yt_channel).post_details([MINE]) == []


def test_a_revoked_token_and_a_spent_quota_fail_the_whole_call(fake, yt_channel):
    fake.on("GET", "/videos", httpx.Response(401, json=fixture("error_unauthorized.json")))
    fake.on(
        "POST",
        "https://oauth2.googleapis.com/token",
        httpx.Response(400, json=fixture("oauth_invalid_grant.json")),
    )
    with pytest.raises(TokenRevoked):
        connector_for(yt_channel).post_details([MINE])
    fake.on("GET", "/videos", httpx.Response(403, json=fixture("error_quota_exceeded.json")))
    with pytest.raises(RateLimited):
        connector_for(yt_channel).post_details([MINE])
