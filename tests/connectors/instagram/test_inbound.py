"""One test per recorded webhook payload, plus malformed input. Parsing is pure: no DB needed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from cercle.connectors.base import BadPayload, Op
from cercle.connectors.instagram.inbound import parse_time, parse_webhook
from tests.connectors.instagram.conftest import IG, fixture_bytes


def parse(name: str) -> list:
    return parse_webhook(fixture_bytes(name), (IG,))


def test_comment_is_linked_to_its_media_and_author():
    [item] = parse("webhook_comment.json")
    assert (
        item.kind,
        item.external_id,
        item.post.external_id,
        item.author.external_id,
        item.author.handle,
        item.text,
    ) == (
        "comment",
        "17865799348089039",
        "17918195224117851",
        "1244567893456789",
        "camille.durand",
        "Ma commande n’est jamais arrivée 😕",
    )


def test_comment_time_is_the_entry_time():
    [item] = parse("webhook_comment.json")
    assert item.sent_at == datetime(2024, 11, 25, 8, 0, tzinfo=UTC)


def test_reply_carries_its_parent():
    [item] = parse("webhook_comment_reply.json")
    assert (item.kind, item.parent_external_id) == ("reply", "17865799348089039")


def test_live_comment_is_a_comment():
    [item] = parse("webhook_live_comment.json")
    assert (item.kind, item.post.external_id) == ("comment", "17990011223344556")


def test_our_own_comment_is_an_echo():
    [item] = parse("webhook_own_comment.json")
    assert item.from_brand is True


def test_comment_mention_is_its_own_item_without_post():
    [item] = parse("webhook_mention_comment.json")
    assert (item.kind, item.external_id, item.post) == (
        "mention",
        "mention:17918195224117852:17894227972186120",
        None,
    )


def test_caption_mention_uses_the_media_id():
    [item] = parse("webhook_mention_caption.json")
    assert (item.kind, item.external_id) == ("mention", "mention:17918195224117853")


def test_unread_fields_are_ignored():
    assert parse("webhook_story_insights.json") == []


def test_direct_message_is_private_and_threaded_by_sender():
    [item] = parse("webhook_message.json")
    assert (item.kind, item.is_private, item.thread_ref, item.text, item.from_brand) == (
        "message",
        True,
        "1244567893456789",
        "Bonjour, où est mon colis ?",
        False,
    )


def test_message_timestamp_in_milliseconds():
    [item] = parse("webhook_message.json")
    assert item.sent_at == datetime(2024, 11, 25, 8, 0, 0, 123000, tzinfo=UTC)


def test_echo_is_ours_and_threaded_by_recipient():
    [item] = parse("webhook_message_echo.json")
    assert (item.from_brand, item.thread_ref) == (True, "1244567893456789")


def test_unsent_message_is_a_delete():
    [item] = parse("webhook_message_deleted.json")
    assert (item.op, item.external_id) == (
        Op.DELETE,
        "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1",
    )


def test_message_edit_is_an_upsert_with_new_text():
    [item] = parse("webhook_message_edit.json")
    assert (item.op, item.external_id, item.text) == (
        Op.UPSERT,
        "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1",
        "Bonjour, où est mon colis n°4521 ?",
    )


def test_shared_post_in_dm_is_a_share():
    [item] = parse("webhook_message_share.json")
    assert (item.kind, item.text) == ("share", "[share] https://www.instagram.com/p/C1a2b3c4d5e/")


def test_story_mention_is_a_private_mention():
    [item] = parse("webhook_story_mention.json")
    assert (item.kind, item.is_private) == ("mention", True)


def test_read_receipt_gives_nothing():
    assert parse("webhook_message_read.json") == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"object": "page", "entry": []}',
        b'{"object": "instagram", "entry": {}}',
        b'{"object": "instagram", "entry": [{"id": "17841405793187218", "changes": [{"field": "comments", "value": {"id": "c", "media": {"id": "m"}}}]}]}',
        b'{"object": "instagram", "entry": [{"id": "17841405793187218", "changes": [{"field": "comments", "value": {"id": "c", "from": {"id": "u"}}}]}]}',
        b'{"object": "instagram", "entry": [{"id": "17841405793187218", "changes": [{"field": "comments", "value": {"id": ["c"], "from": {"id": "u"}, "media": {"id": "m"}}}]}]}',
        b'{"object": "instagram", "entry": [{"id": "17841405793187218", "changes": [{"field": "mentions", "value": {"comment_id": "c"}}]}]}',
        b'{"object": "instagram", "entry": [{"id": "17841405793187218", "messaging": [{"sender": {}, "recipient": {"id": "2"}, "message": {"mid": "m"}}]}]}',
        b'{"object": "instagram", "entry": [{"id": "17841405793187218", "messaging": [{"sender": {"id": "3"}, "recipient": {"id": "17841405793187218"}, "message": {"text": "no mid"}}]}]}',
        b'{"object": "instagram", "entry": [{"id": "17841405793187218", "time": "yesterday"}]}',
    ],
)
def test_malformed_payload_is_bad_payload(body):
    with pytest.raises(BadPayload):
        parse_webhook(body, (IG,))


def test_non_ascii_text_survives_intact():
    body = json.dumps(
        {
            "object": "instagram",
            "entry": [
                {
                    "id": IG,
                    "time": 1,
                    "messaging": [
                        {
                            "sender": {"id": "9"},
                            "recipient": {"id": IG},
                            "timestamp": 1,
                            "message": {"mid": "m1", "text": "Ça va ? 你好 <script>"},
                        }
                    ],
                }
            ],
        },
        ensure_ascii=False,
    ).encode()
    [item] = parse_webhook(body, (IG,))
    assert item.text == "Ça va ? 你好 <script>"


def test_iso_time_with_meta_offset():
    assert parse_time("2017-08-31T18:10:30+0000") == datetime(2017, 8, 31, 18, 10, 30, tzinfo=UTC)
