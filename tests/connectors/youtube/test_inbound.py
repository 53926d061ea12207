"""Parsing YouTube payloads into Incoming items: one test per payload shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from cercle.connectors.base import BadPayload, RawEventData
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for
from cercle.connectors.youtube.inbound import ENVELOPE_KIND, page_items
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Message

from .conftest import BRAND, fixture, fixture_bytes


def _parse(channel: Channel, body: bytes) -> list[Any]:
    return connector_for(channel).parse(RawEventData(body=body, source="poll"))


def test_thread_list_gives_top_level_comments_and_carried_replies(yt_channel: Channel) -> None:
    items = _parse(yt_channel, fixture_bytes("comment_threads_published.json"))
    assert [(i.external_id, i.kind, i.parent_external_id) for i in items] == [
        ("UgyMS6bv4L1X96YX2Hl4AaABAg", "comment", ""),
        (
            "UgyMS6bv4L1X96YX2Hl4AaABAg.9iPXEClD9lW9iPXOnXUqJF",
            "reply",
            "UgyMS6bv4L1X96YX2Hl4AaABAg",
        ),
        ("UgxISZhP_62DIrtv2r94AaABAg", "comment", ""),
        (
            "UgxISZhP_62DIrtv2r94AaABAg.9iPZ0Lq3k2m9iPZ2xYgHnB",
            "reply",
            "UgxISZhP_62DIrtv2r94AaABAg",
        ),
    ]


def test_comment_is_linked_to_its_video(yt_channel: Channel) -> None:
    first = _parse(yt_channel, fixture_bytes("comment_threads_published.json"))[0]
    assert (first.post.external_id, first.post.url, first.url) == (
        "wtLJPvx7-ys",
        "https://www.youtube.com/watch?v=wtLJPvx7-ys",
        "https://www.youtube.com/watch?v=wtLJPvx7-ys&lc=UgyMS6bv4L1X96YX2Hl4AaABAg",
    )


def test_author_and_non_ascii_text_are_kept(yt_channel: Channel) -> None:
    first = _parse(yt_channel, fixture_bytes("comment_threads_published.json"))[0]
    assert (first.author.external_id, first.author.handle, first.text, first.sent_at) == (
        "UCP22MyBntbNASpmy3aC4sdw",
        "@camilledurand",
        "Bonjour, ma lampe clignote depuis la mise à jour. Une idée ? 💡",
        datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
    )


def test_our_own_reply_is_an_echo_from_the_brand(yt_channel: Channel) -> None:
    items = _parse(yt_channel, fixture_bytes("comment_threads_published.json"))
    assert [i.from_brand for i in items] == [False, True, False, False]


def test_held_for_review_comment_arrives_hidden(yt_channel: Channel) -> None:
    (held,) = _parse(yt_channel, fixture_bytes("comment_threads_held.json"))
    assert (held.is_hidden, held.kind) == (True, "comment")


def test_envelope_status_hides_comments_without_a_moderation_status(yt_channel: Channel) -> None:
    threads = fixture("comment_threads_held.json")
    del threads["items"][0]["snippet"]["topLevelComment"]["snippet"]["moderationStatus"]
    envelope = {
        "kind": ENVELOPE_KIND,
        "moderationStatus": "heldForReview",
        "threads": threads,
        "replies": [],
    }
    (held,) = page_items(envelope, brand_channel_id=BRAND)
    assert held.is_hidden is True


def test_comment_list_of_replies_links_each_to_its_parent(yt_channel: Channel) -> None:
    items = _parse(yt_channel, fixture_bytes("comments_replies.json"))
    assert {i.parent_external_id for i in items} == {"UgxISZhP_62DIrtv2r94AaABAg"} and len(
        items
    ) == 2


def test_single_comment_resource_parses(yt_channel: Channel) -> None:
    (reply,) = _parse(yt_channel, fixture_bytes("comment_insert.json"))
    assert (reply.kind, reply.from_brand, reply.text) == (
        "reply",
        True,
        "Oui, nous livrons au Québec en 5 à 7 jours.",
    )


def test_envelope_merges_thread_page_and_reply_pages_without_duplicates(
    yt_channel: Channel,
) -> None:
    envelope = {
        "kind": ENVELOPE_KIND,
        "moderationStatus": "published",
        "threads": fixture("comment_threads_published.json"),
        "replies": [fixture("comments_replies.json")],
    }
    ids = [i.external_id for i in page_items(envelope, brand_channel_id=BRAND)]
    assert len(ids) == len(set(ids)) == 5


MALFORMED: list[bytes] = [
    b"not json",
    b"\xff\xfe",
    b"[]",
    b'{"kind": "youtube#video"}',
    b'{"kind": "youtube#commentThreadListResponse", "items": {}}',
    b'{"kind": "youtube#commentThreadListResponse", "items": [{"snippet": "x"}]}',
    b'{"kind": "youtube#commentThreadListResponse", "items": [{"snippet": {"topLevelComment": {"snippet": {}}}}]}',
    b'{"kind": "youtube#comment", "id": "c1", "snippet": {"publishedAt": "yesterday"}}',
    b'{"kind": "youtube#comment", "id": "c1", "snippet": {"publishedAt": "2026-11-20T09:30:00"}}',
    b'{"kind": "youtube#comment", "id": "c1", "snippet": {"textOriginal": 42}}',
    b'{"kind": "youtube#comment", "id": 7, "snippet": {}}',
    b'{"kind": "youtube#commentThread", "snippet": {"topLevelComment": {"id": "c", "snippet": {}}}, "replies": []}',
    json.dumps({"kind": ENVELOPE_KIND, "threads": None, "replies": {}}).encode(),
]


@pytest.mark.parametrize("body", MALFORMED)
def test_malformed_payload_is_bad_payload(yt_channel: Channel, body: bytes) -> None:
    with pytest.raises(BadPayload):
        _parse(yt_channel, body)


def test_edit_on_youtube_updates_the_message_text(yt_channel: Channel) -> None:
    threads = fixture("comment_threads_held.json")
    do_receive(yt_channel, page_items(threads, brand_channel_id=BRAND))
    snippet = threads["items"][0]["snippet"]["topLevelComment"]["snippet"]
    snippet["textOriginal"] = "Édité : je retire le lien"
    snippet["updatedAt"] = "2026-11-20T10:30:00Z"
    do_receive(yt_channel, page_items(threads, brand_channel_id=BRAND))
    message = Message.objects.get(channel=yt_channel, external_id="UgwhHgsSs41dHB98XwJ4AaABAg")
    assert (message.text, message.edited_at is not None) == ("Édité : je retire le lien", True)


def test_approval_on_youtube_unhides_the_message(yt_channel: Channel) -> None:
    threads = fixture("comment_threads_held.json")
    do_receive(yt_channel, page_items(threads, brand_channel_id=BRAND))
    threads["items"][0]["snippet"]["topLevelComment"]["snippet"]["moderationStatus"] = "published"
    do_receive(yt_channel, page_items(threads, brand_channel_id=BRAND))
    assert (
        Message.objects.get(channel=yt_channel, external_id="UgwhHgsSs41dHB98XwJ4AaABAg").is_hidden
        is False
    )


def test_envelope_of_a_sweep_end_replays_its_deletions(yt_channel: Channel) -> None:
    envelope = {
        "kind": ENVELOPE_KIND,
        "threads": fixture("comment_threads_held.json"),
        "deleted": ["Ugz1.Ugz2"],
    }
    items = page_items(envelope, brand_channel_id=BRAND)
    assert [(i.external_id, i.kind, i.op) for i in items][-1] == ("Ugz1.Ugz2", "reply", "delete")
