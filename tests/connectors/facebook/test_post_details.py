"""Facebook post enrichment: `GET /{post-id}?fields=…` and the Page's own posts in its feed webhook."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from cercle.connectors.base import (
    POST_KIND,
    Author,
    Capability,
    Incoming,
    PostRef,
    TokenRevoked,
    TransientError,
)
from cercle.connectors.facebook.inbound import parse_webhook
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Message, Post

from .conftest import PAGE_ID, fixture_bytes, fixture_json, graph_error

POST_ID = "1234567890321_7293787835232"
PUBLISHED = datetime(2026, 10, 2, 8, 30, tzinfo=UTC)


def test_facebook_declares_post_details():
    from cercle.connectors.facebook.connector import FacebookConnector

    assert Capability.POST_DETAILS in FacebookConnector.capabilities
    assert FacebookConnector.post_details_batch == 1


def test_a_post_is_read_with_its_message_time_and_permalink(graph, fb_channel):
    graph.on("GET", f"/{POST_ID}", fixture_json("graph_post.json"))
    [ref] = connector_for(fb_channel).post_details([POST_ID])
    assert (ref.external_id, ref.text, ref.url, ref.published_at) == (
        POST_ID,
        "Nouvelle collection : les lampes Aurore sont arrivées.",
        "https://www.facebook.com/1234567890321/posts/7293787835232",
        PUBLISHED,
    )
    [request] = graph.sent("GET", f"/{POST_ID}")
    assert request.url.params["fields"] == "id,message,created_time,permalink_url"


def test_a_deleted_post_is_left_out(graph, fb_channel):
    graph.on("GET", f"/{POST_ID}", graph_error("graph_error_invalid.json"))
    graph.on("GET", "/1234567890321_1", fixture_json("graph_post.json") | {"id": "1234567890321_1"})
    refs = connector_for(fb_channel).post_details([POST_ID, "1234567890321_1"])
    assert [r.external_id for r in refs] == ["1234567890321_1"]


@pytest.mark.parametrize(
    "body",
    [
        {"id": "someone_else", "message": "x", "created_time": "2026-10-02T08:30:00+0000"},
        {"id": POST_ID, "created_time": "yesterday"},
        {"id": POST_ID, "message": {"nested": True}},
    ],
)
def test_a_malformed_answer_is_left_out(graph, fb_channel, body):
    graph.on("GET", f"/{POST_ID}", httpx.Response(200, json=body))
    assert connector_for(fb_channel).post_details([POST_ID]) == []


def test_missing_fields_stay_blank(graph, fb_channel):
    graph.on("GET", f"/{POST_ID}", {"id": POST_ID})
    [ref] = connector_for(fb_channel).post_details([POST_ID])
    assert (ref.text, ref.published_at, ref.url) == (
        "",
        None,
        f"https://www.facebook.com/{POST_ID}",
    )


def test_an_answer_that_is_not_an_object_is_retried_later(graph, fb_channel):
    graph.on("GET", f"/{POST_ID}", httpx.Response(200, json=["not", "an", "object"]))
    with pytest.raises(TransientError):
        connector_for(fb_channel).post_details([POST_ID])


def test_a_revoked_token_and_a_server_error_fail_the_whole_call(graph, fb_channel):
    graph.on("GET", f"/{POST_ID}", graph_error("graph_error_token.json"))
    with pytest.raises(TokenRevoked):
        connector_for(fb_channel).post_details([POST_ID])
    graph.on("GET", f"/{POST_ID}", graph_error("graph_error_transient.json", status=500))
    with pytest.raises(TransientError):
        connector_for(fb_channel).post_details([POST_ID])


def test_the_pages_own_post_in_its_feed_webhook_is_post_details():
    [item] = parse_webhook(fixture_bytes("webhook_feed_status_add_page.json"), PAGE_ID)
    assert item.kind == POST_KIND
    assert item.post is not None
    assert (item.post.external_id, item.post.text, item.post.published_at) == (
        POST_ID,
        "Nouvelle collection : les lampes Aurore sont arrivées.",
        PUBLISHED,
    )


def test_an_unpublished_or_removed_own_post_says_nothing():
    body = fixture_json("webhook_feed_status_add_page.json")
    value = body["entry"][0]["changes"][0]["value"]
    value["published"] = 0

    assert parse_webhook(json.dumps(body).encode(), PAGE_ID) == []
    value["published"], value["verb"] = 1, "remove"
    assert parse_webhook(json.dumps(body).encode(), PAGE_ID) == []


def test_the_pages_own_post_fills_its_bare_post_and_writes_no_message(fb_channel):
    comment = Incoming(
        external_id="7293787835232_1",
        kind="comment",
        author=Author(external_id="8423678347823", name="John Doe"),
        text="Superbe !",
        post=PostRef(external_id=POST_ID),
    )
    do_receive(fb_channel, [comment])
    messages = Message.objects.count()
    do_receive(
        fb_channel, parse_webhook(fixture_bytes("webhook_feed_status_add_page.json"), PAGE_ID)
    )
    post = Post.objects.get(channel=fb_channel, external_id=POST_ID)
    assert (post.text, post.published_at, post.url) == (
        "Nouvelle collection : les lampes Aurore sont arrivées.",
        PUBLISHED,
        f"https://www.facebook.com/{POST_ID}",
    )
    assert Message.objects.count() == messages
