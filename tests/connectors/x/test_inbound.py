"""One test per X payload: Account Activity deliveries and polled API v2 pages → Incoming items."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from cercle.connectors.base import BadPayload, Incoming, Op, RawEventData
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.connectors.x.connector import XConnector

from .conftest import BRAND_ID, CAMILLE_ID, POST_ID, SAM_ID, fixture_bytes, fixture_json


def parse(body: bytes, brand: str = BRAND_ID) -> list[Incoming]:
    connector = XConnector(Channel(platform="x", external_id=brand), PlatformHttp())
    return connector.parse(RawEventData(body=body))


def poll_body(mentions: object = None, dm_events: object = None) -> bytes:
    return json.dumps({"x_poll": {"mentions": mentions, "dm_events": dm_events}}).encode()


# --- Account Activity (webhook) payloads -------------------------------------------------


def test_mention_is_its_own_mention_item() -> None:
    [item] = parse(fixture_bytes("aaa_tweet_create_mention.json"))
    assert (
        item.external_id,
        item.kind,
        item.post,
        item.author.handle if item.author else None,
        item.from_brand,
    ) == (
        "1859000000000000001",
        "mention",
        None,
        "camille_d",
        False,
    )


def test_mention_text_is_unescaped_and_time_parsed() -> None:
    [item] = parse(fixture_bytes("aaa_tweet_create_mention.json"))
    assert (item.text.endswith("une idée ? <3"), item.sent_at) == (
        True,
        datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
    )


def test_reply_to_brand_post_hangs_under_that_post() -> None:
    [item] = parse(fixture_bytes("aaa_tweet_create_reply.json"))
    assert (item.kind, item.post.external_id if item.post else None, item.parent_external_id) == (
        "reply",
        POST_ID,
        POST_ID,
    )


def test_quote_of_brand_post_is_a_share_with_text_under_the_post() -> None:
    [item] = parse(fixture_bytes("aaa_tweet_create_quote.json"))
    assert (
        item.kind,
        item.post.external_id if item.post else None,
        item.text.startswith("Finally a lamp"),
    ) == (
        "share",
        POST_ID,
        True,
    )


def test_quoted_post_text_is_kept_on_the_post() -> None:
    [item] = parse(fixture_bytes("aaa_tweet_create_quote.json"))
    assert item.post is not None and item.post.text.startswith("Notre nouvelle lampe Aurore")


def test_retweet_of_brand_post_is_a_share_without_text() -> None:
    [item] = parse(fixture_bytes("aaa_tweet_create_retweet.json"))
    assert (
        item.kind,
        item.text,
        item.author.external_id if item.author else None,
        item.post.external_id if item.post else None,
    ) == (
        "share",
        "",
        SAM_ID,
        POST_ID,
    )


def test_brand_reply_is_an_echo() -> None:
    [item] = parse(fixture_bytes("aaa_tweet_create_brand_reply.json"))
    assert (item.from_brand, item.kind, item.parent_external_id) == (
        True,
        "reply",
        "1859000000000000002",
    )


def test_brand_own_new_post_is_not_an_interaction() -> None:
    assert parse(fixture_bytes("aaa_tweet_create_brand_post.json")) == []


def test_edit_updates_the_first_version() -> None:
    [item] = parse(fixture_bytes("aaa_tweet_create_edit.json"))
    assert (item.external_id, item.op, "Suisse" in item.text) == (
        "1859000000000000002",
        Op.UPSERT,
        True,
    )


def test_delete_event_is_a_delete() -> None:
    [item] = parse(fixture_bytes("aaa_tweet_delete.json"))
    assert (item.external_id, item.op) == ("1859000000000000002", Op.DELETE)


def test_direct_message_threads_by_conversation_id() -> None:
    [item] = parse(fixture_bytes("aaa_direct_message.json"))
    assert (
        item.kind,
        item.thread_ref,
        item.is_private,
        item.author.name if item.author else None,
    ) == (
        "message",
        f"{CAMILLE_ID}-{BRAND_ID}",
        True,
        "Camille Durand",
    )


def test_direct_message_sent_by_brand_is_an_echo_in_the_same_thread() -> None:
    [item] = parse(fixture_bytes("aaa_direct_message_brand.json"))
    assert (item.from_brand, item.thread_ref) == (True, f"{CAMILLE_ID}-{BRAND_ID}")


def test_likes_and_other_activity_are_ignored() -> None:
    assert parse(fixture_bytes("aaa_favorite.json")) == []


def test_delivery_for_another_subscribed_account_is_ignored() -> None:
    assert parse(fixture_bytes("aaa_tweet_create_mention.json"), brand="999") == []


# --- polled API v2 pages ---------------------------------------------------------------------


def test_recorded_mentions_page_gives_one_mention_each() -> None:
    items = parse(poll_body(mentions=fixture_json("recorded_mentions_timeline.json")))
    assert [i.kind for i in items] == ["mention"] * 10


def test_polled_reply_to_brand_post_hangs_under_it() -> None:
    items = {
        i.external_id: i
        for i in parse(poll_body(mentions=fixture_json("v2_mentions_expanded.json")))
    }
    reply = items["1859000000000000021"]
    assert (
        reply.kind,
        reply.post.external_id if reply.post else None,
        reply.post.text[:11] if reply.post else "",
    ) == (
        "reply",
        POST_ID,
        "Notre nouve",
    )


def test_polled_quote_of_brand_post_is_a_share() -> None:
    items = {
        i.external_id: i
        for i in parse(poll_body(mentions=fixture_json("v2_mentions_expanded.json")))
    }
    assert items["1859000000000000022"].kind == "share"


def test_polled_reply_to_someone_else_naming_brand_is_a_mention_with_parent() -> None:
    items = {
        i.external_id: i
        for i in parse(poll_body(mentions=fixture_json("v2_mentions_expanded.json")))
    }
    item = items["1859000000000000023"]
    assert (item.kind, item.parent_external_id, item.post) == (
        "mention",
        "1858500000000000000",
        None,
    )


def test_polled_authors_come_from_includes() -> None:
    items = {
        i.external_id: i
        for i in parse(poll_body(mentions=fixture_json("v2_mentions_expanded.json")))
    }
    author = items["1859000000000000020"].author
    assert (
        (author.handle, author.profile_url) == ("camille_d", "https://x.com/camille_d")
        if author
        else False
    )


def test_polled_dm_events_keep_messages_only_with_their_thread() -> None:
    items = parse(poll_body(dm_events=fixture_json("v2_dm_events.json")))
    assert [(i.external_id, i.thread_ref, i.from_brand) for i in items] == [
        ("1859000000000000032", f"{CAMILLE_ID}-{BRAND_ID}", True),
        ("1859000000000000031", f"{CAMILLE_ID}-{BRAND_ID}", False),
    ]


def test_recorded_dm_events_without_conversation_id_are_refused() -> None:
    # The recorded answer was fetched without dm_event.fields: we always ask for them.
    with pytest.raises(BadPayload):
        parse(poll_body(dm_events=fixture_json("recorded_dm_events_minimal.json")))


# --- malformed input never leaks a KeyError --------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"hello": 1}',
        b'{"for_user_id": "abc", "tweet_create_events": []}',
        json.dumps({"for_user_id": BRAND_ID, "tweet_create_events": [{"id_str": "1"}]}).encode(),
        json.dumps({"for_user_id": BRAND_ID, "tweet_create_events": "nope"}).encode(),
        json.dumps({"for_user_id": BRAND_ID, "tweet_delete_events": [{"status": {}}]}).encode(),
        json.dumps(
            {
                "for_user_id": BRAND_ID,
                "direct_message_events": [{"type": "message_create", "id": "1"}],
            }
        ).encode(),
        json.dumps({"x_poll": {"mentions": {"data": [{"text": "no id"}]}}}).encode(),
        json.dumps(
            {"x_poll": {"mentions": {"data": [{"id": "1", "created_at": "yesterday"}]}}}
        ).encode(),
    ],
)
def test_malformed_payload_is_bad_payload(body: bytes) -> None:
    with pytest.raises(BadPayload):
        parse(body)
