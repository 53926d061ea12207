"""Discourse post enrichment: a topic's title, link and `created_at` (`GET /t/{id}.json`)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from cercle.connectors.base import Capability, TokenRevoked
from cercle.connectors.discourse.connector import DiscourseConnector
from cercle.connectors.registry import connector_for

from .conftest import SITE, answer, fixture_json

TOPIC = "401"


def test_discourse_declares_post_details():
    assert Capability.POST_DETAILS in DiscourseConnector.capabilities


def test_a_topic_is_read_with_its_title_link_and_time(forum, discourse_channel):
    forum.on("GET", f"/t/{TOPIC}.json", answer("api_topic.json"))
    [ref] = connector_for(discourse_channel).post_details([TOPIC])
    assert (ref.external_id, ref.text, ref.url, ref.published_at) == (
        TOPIC,
        "Les lampes Aurore sont arrivées",
        f"{SITE}/t/les-lampes-aurore-sont-arrivees/{TOPIC}",
        datetime(2026, 10, 2, 8, 30, tzinfo=UTC),
    )


def test_a_deleted_topic_and_a_bad_id_are_left_out(forum, discourse_channel):
    assert connector_for(discourse_channel).post_details(["402", "../admin"]) == []
    assert [r.url.path for r in forum.requests] == ["/t/402.json"]


@pytest.mark.parametrize(
    "body",
    [{"id": 999, "title": "another topic"}, {"id": 401, "created_at": "yesterday"}, {"title": "x"}],
)
def test_a_malformed_answer_is_left_out(forum, discourse_channel, body):
    forum.on("GET", f"/t/{TOPIC}.json", lambda request: httpx.Response(200, json=body))
    assert connector_for(discourse_channel).post_details([TOPIC]) == []


def test_a_refused_key_fails_the_whole_call(forum, discourse_channel):
    forum.on("GET", f"/t/{TOPIC}.json", answer("api_error_invalid_key.json", 403))
    with pytest.raises(TokenRevoked):
        connector_for(discourse_channel).post_details([TOPIC])


def test_a_topic_a_member_opened_is_not_the_brands_post(forum, discourse_channel):
    topic = fixture_json("api_topic.json")
    topic["details"]["created_by"] = {"id": 7, "username": "camille"}
    topic["post_stream"]["posts"][0].update(username="camille", staff=False)
    forum.on("GET", f"/t/{TOPIC}.json", lambda request: httpx.Response(200, json=topic))
    assert connector_for(discourse_channel).post_details([TOPIC]) == []


def test_a_topic_a_staff_member_opened_is_the_brands(forum, discourse_channel):
    topic = fixture_json("api_topic.json")
    topic["details"]["created_by"] = {"id": 3, "username": "lea"}
    topic["post_stream"]["posts"][0].update(username="lea", staff=True)
    forum.on("GET", f"/t/{TOPIC}.json", lambda request: httpx.Response(200, json=topic))
    assert [r.external_id for r in connector_for(discourse_channel).post_details([TOPIC])] == [
        TOPIC
    ]
