"""Reddit post enrichment: `/api/info?id=t3_…` (up to 100): title, permalink, created_utc."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from cercle.connectors.base import Capability, TokenRevoked
from cercle.connectors.reddit.connector import RedditConnector
from cercle.connectors.registry import connector_for

from .conftest import answer, record

POST = "t3_1fq8xyz"


def test_reddit_declares_post_details_in_batches_of_100():
    assert Capability.POST_DETAILS in RedditConnector.capabilities
    assert RedditConnector.post_details_batch == 100


def test_submissions_are_read_in_one_call(reddit, channel):
    reddit.on("GET", "/api/info", answer("info_posts.json"))
    refs = connector_for(channel).post_details([POST, "t3_gone1", "t1_notapost", "bad id"])
    assert [(r.external_id, r.text, r.url, r.published_at) for r in refs] == [
        (
            POST,
            "Les lampes Aurore sont arrivées : vos questions",
            "https://www.reddit.com/r/maisonlumen/comments/1fq8xyz/les_lampes_aurore_sont_arrivees_vos_questions/",
            datetime(2026, 10, 2, 8, 30, tzinfo=UTC),
        )
    ]
    [call] = reddit.calls("GET", "/api/info")
    assert call.url.params["id"] == f"{POST},t3_gone1"


def test_no_post_id_asks_nothing(reddit, channel):
    assert connector_for(channel).post_details(["t1_abc", ""]) == []
    assert reddit.requests == []


def test_a_comment_in_the_listing_is_not_a_post(reddit, channel):
    reddit.on("GET", "/api/info", answer("info_comment.json"))
    assert connector_for(channel).post_details([POST]) == []


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "Listing"},
        {"kind": "Listing", "data": {"children": [{"kind": "t3", "data": "nope"}]}},
        {"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {"name": "t3_other"}}]}},
    ],
)
def test_a_malformed_answer_is_left_out(reddit, channel, body):
    reddit.on("GET", "/api/info", lambda request: httpx.Response(200, json=body))
    assert connector_for(channel).post_details([POST]) == []


def test_a_members_submission_is_not_the_brands_post(reddit, channel):
    body = record("info_posts.json")["body"]
    body["data"]["children"][0]["data"]["author"] = "camille_durand"
    reddit.on("GET", "/api/info", lambda request: httpx.Response(200, json=body))
    assert connector_for(channel).post_details([POST]) == []


def test_missing_fields_stay_blank(reddit, channel):
    thing = {"name": POST, "author": "Lumen_Team"}
    body = {"kind": "Listing", "data": {"children": [{"kind": "t3", "data": thing}]}}
    reddit.on("GET", "/api/info", lambda request: httpx.Response(200, json=body))
    [ref] = connector_for(channel).post_details([POST])
    assert (ref.text, ref.url, ref.published_at) == ("", "", None)


def test_a_revoked_token_fails_the_whole_call(reddit, channel):
    reddit.on("GET", "/api/info", answer("error_unauthorized.json"))
    reddit.on("POST", "/api/v1/access_token", answer("error_unauthorized.json"))
    with pytest.raises(TokenRevoked):
        connector_for(channel).post_details([POST])
