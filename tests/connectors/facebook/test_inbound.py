"""One test per recorded webhook payload: what `parse` makes of it (pure, no DB)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from cercle.connectors.base import BadPayload, Op, RawEventData
from cercle.connectors.facebook.connector import FacebookConnector
from cercle.connectors.facebook.inbound import parse_feed_page
from cercle.connectors.http import PlatformHttp

from .conftest import PAGE_ID, fixture_bytes

# The Page id of Meta's documented Messenger payloads.
DOCS_PAGE_ID = "12345654332"


def parse(body: bytes, page_id: str = PAGE_ID):
    channel = SimpleNamespace(external_id=page_id, config={}, credentials_token="", credentials={})
    connector = FacebookConnector(channel, PlatformHttp())  # type: ignore[arg-type]
    return connector.parse(RawEventData(body=body))


def only(name: str, page_id: str = PAGE_ID):
    items = parse(fixture_bytes(name), page_id)
    assert len(items) == 1
    return items[0]


def test_comment_add_is_a_comment_under_its_post():
    item = only("webhook_feed_comment_add.json")
    assert (
        item.external_id,
        item.kind,
        item.op,
        item.post.external_id,
        item.author.name,
        item.text,
    ) == (
        "901097836652708_903438993085259",
        "comment",
        Op.UPSERT,
        "1234567890321_901097836652708",
        "Tester",
        "and the next one",
    )


def test_comment_add_written_by_the_page_is_our_echo():
    assert only("webhook_feed_comment_add.json").from_brand is True


def test_comment_add_in_the_older_sender_fields_reads_author_and_time():
    item = only("webhook_feed_comment_add_sender.json")
    assert (item.author.external_id, item.author.name, item.sent_at) == (
        "1234567890321",
        "Tester",
        datetime(2015, 12, 3, 9, 30, 3, tzinfo=UTC),
    )


def test_reply_add_points_to_its_parent_comment():
    item = only("webhook_feed_reply_add.json")
    assert (item.kind, item.parent_external_id, item.from_brand, item.post.url) == (
        "reply",
        "901097836652708_903438993085259",
        False,
        "https://www.facebook.com/lumen/posts/pfbid02abc",
    )


def test_comment_edited_is_an_upsert_with_the_new_text():
    item = only("webhook_feed_comment_edited.json")
    assert (item.op, item.text) == (Op.UPSERT, "Let's see the Webhooks in action :D")


def test_comment_remove_is_a_delete():
    item = only("webhook_feed_comment_remove.json")
    assert (item.op, item.external_id) == (Op.DELETE, "905578656204626_905579239537901")


def test_comment_hide_marks_it_hidden():
    assert only("webhook_feed_comment_hide.json").is_hidden is True


def test_share_by_the_page_itself_is_not_an_interaction():
    assert parse(fixture_bytes("webhook_feed_share_add.json")) == []


def test_share_by_someone_else_is_a_share():
    payload = json.loads(fixture_bytes("webhook_feed_share_add.json"))
    payload["entry"][0]["changes"][0]["value"]["sender_id"] = 555
    (item,) = parse(json.dumps(payload).encode())
    assert (item.kind, item.external_id, item.author.external_id, item.url) == (
        "share",
        "1234567890321_98735342324352",
        "555",
        "http://www.google.com/",
    )


def test_visitor_post_on_the_page_is_a_mention():
    item = only("webhook_feed_post_add.json")
    assert (item.kind, item.external_id, item.author.external_id, item.post) == (
        "mention",
        "1234567890321_7293787835232",
        "8423678347823",
        None,
    )


def test_reaction_is_not_an_item():
    assert parse(fixture_bytes("webhook_feed_reaction_add.json")) == []


def test_mention_in_a_comment_is_its_own_mention():
    item = only("webhook_mention_comment.json")
    assert (item.kind, item.external_id, item.post, item.text) == (
        "mention",
        "7363534231324_3754798971271444",
        None,
        "Just a test message",
    )


def test_mention_in_a_post_is_a_mention_of_the_post():
    item = only("webhook_mention_post.json")
    assert (item.kind, item.external_id, item.url) == (
        "mention",
        "1234567890321_98722536423179",
        "https://www.facebook.com/1234567890321_98722536423179",
    )


def test_rating_is_a_review_with_its_stars():
    item = only("webhook_ratings_add.json")
    assert (item.kind, item.external_id, item.rating, item.author.name, item.text) == (
        "review",
        "904801129604590",
        3,
        "Tester",
        "Ja ziemlich coole Sache",
    )


def test_messenger_text_is_a_private_message_in_the_person_thread():
    item = only("webhook_messaging_text.json")
    assert (item.kind, item.thread_ref, item.is_private, item.author.external_id, item.text) == (
        "message",
        "6543210987654321",
        True,
        "6543210987654321",
        "Bonjour, où en est ma commande ? 📦",
    )


def test_messenger_time_is_in_milliseconds():
    assert only("webhook_messaging_text.json").sent_at == datetime(2024, 11, 25, 9, 20, tzinfo=UTC)


def test_messenger_echo_is_from_the_brand():
    item = only("webhook_messaging_echo.json", DOCS_PAGE_ID)
    assert (item.from_brand, item.thread_ref, item.external_id) == (
        True,
        "987654321432",
        "mid.1457764197618:41d102a3e1ae206a38",
    )


def test_messenger_edit_updates_the_message_text():
    item = only("webhook_messaging_edit.json", DOCS_PAGE_ID)
    assert (item.op, item.external_id, item.text) == (
        Op.UPSERT,
        "mid.1457764197618:41d102a3e1ae206a38",
        "hello, world!",
    )


def test_messenger_unsend_is_a_delete():
    item = only("webhook_messaging_deleted.json", DOCS_PAGE_ID)
    assert (item.op, item.external_id) == (Op.DELETE, "message_id")


def test_messenger_reply_to_keeps_the_parent():
    item = only("webhook_messaging_reply_to.json", DOCS_PAGE_ID)
    assert item.parent_external_id == "very_long_id_representing_the_original_message"


def test_messenger_attachment_gets_a_readable_text():
    item = only("webhook_messaging_attachment.json")
    assert item.text == "[image] https://scontent.xx.fbcdn.net/v/t1.15752-9/photo.jpg"


def test_polled_feed_comments_are_threaded_and_the_page_reply_is_ours():
    items, newest = parse_feed_page(fixture_bytes("graph_feed_with_comments.json"), PAGE_ID, None)
    assert [(i.kind, i.from_brand, i.parent_external_id) for i in items] == [
        ("comment", False, ""),
        ("reply", True, "901097836652708_903438993085259"),
    ]
    assert newest == datetime(2026, 11, 25, 9, 20, tzinfo=UTC)


def test_polled_feed_skips_what_is_older_than_the_cursor():
    items, _newest = parse_feed_page(
        fixture_bytes("graph_feed_with_comments.json"),
        PAGE_ID,
        datetime(2026, 11, 25, 9, 15, tzinfo=UTC),
    )
    assert [i.external_id for i in items] == ["901097836652708_903438993099999"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"object": "user", "entry": []}',
        b'{"object": "page", "entry": {}}',
        b'{"object": "page", "entry": [{"changes": []}]}',
        b'{"object": "page", "entry": [{"id": "1234567890321", "changes": [{"field": "feed", "value": "x"}]}]}',
        b'{"object": "page", "entry": [{"id": "1234567890321", "changes": [{"field": "feed", "value": {"item": "comment", "verb": "add"}}]}]}',
        b'{"object": "page", "entry": [{"id": "1234567890321", "messaging": [{"sender": {"id": "2"}, "message": {"text": "hi"}}]}]}',
        b'{"object": "page", "entry": [{"id": "1234567890321", "messaging": [{"sender": {"id": "2"}, "message": {"mid": "m_1", "text": ["x"]}}]}]}',
        b'{"object": "page", "entry": [{"id": "1234567890321", "changes": [{"field": "feed", "value": {"item": "comment", "verb": "add", "comment_id": "1_2", "post_id": "1_1", "created_time": "yesterday"}}]}]}',
    ],
)
def test_malformed_payloads_are_bad_payloads_not_crashes(body):
    with pytest.raises(BadPayload):
        parse(body)


def test_unicode_text_survives_parsing():
    body = json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": PAGE_ID,
                    "messaging": [
                        {
                            "sender": {"id": "42"},
                            "recipient": {"id": PAGE_ID},
                            "timestamp": 1732526400000,
                            "message": {"mid": "m_x", "text": "Ça marche très bien 👍 <b>"},
                        }
                    ],
                }
            ],
        }
    ).encode()
    assert parse(body)[0].text == "Ça marche très bien 👍 <b>"
