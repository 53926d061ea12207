"""X post enrichment: `GET /2/tweets?ids=…` (up to 100), the brand's posts only."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from cercle.connectors.base import Capability, TokenRevoked
from cercle.connectors.registry import connector_for
from cercle.connectors.x.connector import XConnector

from .conftest import API, BRAND_ID, answer

MINE, CAMILLES, GONE = "1858000000000000000", "1858000000000000001", "1858000000000000002"


def test_x_declares_post_details_in_batches_of_100():
    assert Capability.POST_DETAILS in XConnector.capabilities
    assert XConnector.post_details_batch == 100


def test_the_brands_posts_are_read_in_one_call(fake_x, x_channel):
    fake_x.on("GET", "/2/tweets", answer("v2_tweets_lookup.json"))
    refs = connector_for(x_channel).post_details([MINE, CAMILLES, GONE])
    # Camille's post is not the brand's content; the deleted one is in `errors`.
    assert [(r.external_id, r.text, r.url, r.published_at) for r in refs] == [
        (
            MINE,
            "Les lampes Aurore sont arrivées ✨",
            f"https://x.com/MaisonLumen/status/{MINE}",
            datetime(2026, 10, 2, 8, 30, tzinfo=UTC),
        )
    ]
    [call] = fake_x.calls("GET", "/2/tweets")
    assert str(call.url).startswith(API)
    assert call.url.params["ids"] == f"{MINE},{CAMILLES},{GONE}"
    assert "created_at" in call.url.params["tweet.fields"]


def test_only_not_found_errors_find_nothing(fake_x, x_channel):
    fake_x.on("GET", "/2/tweets", answer("v2_tweet_not_found.json"))
    assert connector_for(x_channel).post_details([GONE]) == []


@pytest.mark.parametrize(
    "body",
    [
        {"data": "nope"},
        {"data": [{"id": MINE, "created_at": "not a time", "author_id": BRAND_ID}]},
        {"data": [{"text": "no id"}]},
    ],
)
def test_a_malformed_answer_is_left_out(fake_x, x_channel, body):
    fake_x.on("GET", "/2/tweets", lambda request: httpx.Response(200, json=body))
    assert connector_for(x_channel).post_details([MINE]) == []


def test_a_post_without_author_or_time_keeps_blanks(fake_x, x_channel):
    body = {"data": [{"id": MINE, "text": "Aurore"}]}
    fake_x.on("GET", "/2/tweets", lambda request: httpx.Response(200, json=body))
    [ref] = connector_for(x_channel).post_details([MINE])
    assert (ref.text, ref.published_at, ref.url) == (
        "Aurore",
        None,
        f"https://x.com/i/web/status/{MINE}",
    )


def test_a_revoked_token_fails_the_whole_call(fake_x, x_channel):
    fake_x.on("GET", "/2/tweets", answer("error_401.json", 401))
    with pytest.raises(TokenRevoked):
        connector_for(x_channel).post_details([MINE])
