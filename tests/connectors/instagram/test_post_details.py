"""Instagram post enrichment: `GET /{ig-media-id}?fields=caption,timestamp,permalink,…`."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from cercle.connectors.base import Capability, TokenRevoked
from cercle.connectors.instagram.connector import InstagramConnector
from cercle.connectors.registry import connector_for

from .conftest import fixture_json

MEDIA = "17918195224117851"


def test_instagram_declares_post_details():
    assert Capability.POST_DETAILS in InstagramConnector.capabilities


def test_a_media_is_read_with_its_caption_time_and_permalink(graph, ig_channel):
    graph.on("GET", f"/{MEDIA}", fixture_json("api_media.json"))
    [ref] = connector_for(ig_channel).post_details([MEDIA])
    assert (ref.external_id, ref.text, ref.url, ref.published_at, ref.thumbnail_url) == (
        MEDIA,
        "Aurore, en laiton brossé. #maisonlumen",
        "https://www.instagram.com/p/C9xYzAbCdEf/",
        datetime(2026, 10, 2, 8, 30, tzinfo=UTC),
        "https://scontent.cdninstagram.com/v/t51.29350-15/aurore.jpg",
    )
    fields = graph.sent("GET", f"/{MEDIA}")[0].url.params["fields"]
    assert {"caption", "timestamp", "permalink"} <= set(fields.split(","))


def test_a_deleted_media_is_left_out(graph, ig_channel):
    graph.on("GET", f"/{MEDIA}", fixture_json("api_error_not_found.json"), status=400)
    assert connector_for(ig_channel).post_details([MEDIA]) == []


@pytest.mark.parametrize(
    "body",
    [
        {"id": "17918195224117999", "caption": "another media"},
        {"id": MEDIA, "timestamp": "not a time"},
        {"id": MEDIA, "caption": ["not", "text"]},
    ],
)
def test_a_malformed_answer_is_left_out(graph, ig_channel, body):
    graph.on("GET", f"/{MEDIA}", body)
    assert connector_for(ig_channel).post_details([MEDIA]) == []


def test_missing_fields_stay_blank(graph, ig_channel):
    graph.on("GET", f"/{MEDIA}", {"id": MEDIA})
    [ref] = connector_for(ig_channel).post_details([MEDIA])
    assert (ref.text, ref.url, ref.published_at) == ("", "", None)


def test_an_expired_token_fails_the_whole_call(graph, ig_channel):
    graph.on(
        "GET",
        f"/{MEDIA}",
        lambda request: httpx.Response(400, json=fixture_json("api_error_token_expired.json")),
    )
    with pytest.raises(TokenRevoked):
        connector_for(ig_channel).post_details([MEDIA])
