"""One test per documented website payload, through the hook and the real ingest flow."""

from __future__ import annotations

import pytest
from django.test import Client

from cercle.connectors.base import RawEventData
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.connectors.website.connector import WebsiteConnector
from cercle.inbox.models import Message
from cercle.pipeline.actions import do_ingest_pending

from .conftest import SITE, fixture_bytes, push

pytestmark = pytest.mark.django_db


def ingest(client: Client, channel: Channel, *names: str) -> list[Message]:
    for name in names:
        response = push(client, channel, fixture_bytes(name))
        assert response.status_code == 200, response.content
        do_ingest_pending()
    return list(Message.objects.filter(channel=channel).order_by("id"))


def test_comment_hangs_under_its_page(client: Client, web_channel: Channel) -> None:
    [message] = ingest(client, web_channel, "site_comment.json")
    post = message.conversation.post
    assert (message.kind, message.author_identity.external_id, post and post.external_id) == (
        "comment",
        "s:u-314",
        f"{SITE}/journal/la-lampe-aube",
    )


def test_reply_names_its_parent(client: Client, web_channel: Channel) -> None:
    [_comment, reply] = ingest(client, web_channel, "site_comment.json", "site_reply.json")
    assert (reply.kind, reply.parent_external_id) == ("reply", "s:cmt-5501")


def test_contact_message_is_a_private_thread(client: Client, web_channel: Channel) -> None:
    [message] = ingest(client, web_channel, "site_contact.json")
    assert (message.is_private, message.conversation.thread_key) == (True, "private:s:ticket-8812")


def test_review_keeps_its_rating(client: Client, web_channel: Channel) -> None:
    [message] = ingest(client, web_channel, "site_review.json")
    assert (message.kind, message.rating, message.conversation.kind) == ("review", 4, "review")


def test_deleted_item_deletes_the_message(client: Client, web_channel: Channel) -> None:
    [message] = ingest(client, web_channel, "site_comment.json", "site_deleted.json")
    assert message.deleted_at is not None


def test_batch_brings_every_item(client: Client, web_channel: Channel) -> None:
    messages = ingest(client, web_channel, "site_batch.json")
    assert [(m.external_id, m.kind) for m in messages] == [
        ("s:cmt-5510", "comment"),
        ("s:cmt-5511", "comment"),
        ("s:cmt-5512", "mention"),
    ]


def test_hostile_text_is_kept_as_text_without_nul_or_lone_surrogate(
    client: Client, web_channel: Channel
) -> None:
    [message] = ingest(client, web_channel, "site_hostile.json")
    assert (message.text, message.author_identity.contact.display_name) == (
        "<img src=x onerror=alert(1)> nul  lone \u202eevil",
        "<script>alert('name')</script>",
    )


def test_widget_submission_is_the_visitors_private_thread(web_channel: Channel) -> None:
    connector = WebsiteConnector(web_channel, PlatformHttp())
    raw = RawEventData(body=fixture_bytes("widget_submission.json"), source="widget")
    [item] = connector.parse(raw)
    assert (item.external_id, item.kind, item.thread_ref, item.author and item.author.name) == (
        "w:5f0c8a3e9b2d4c6e8f1a2b3c4d5e6f70",
        "message",
        "w:0e5751c026e543b2e8ab2eb06099daa1",
        "Hugo",
    )


def test_a_site_cannot_write_into_a_widget_thread(client: Client, web_channel: Channel) -> None:
    body = (
        b'{"items": [{"id": "x1", "type": "message", "thread_id": "w:0e5751c026e543b2e8ab2eb06099daa1",'
        b' "text": "injected", "author": {"id": "u"}}]}'
    )
    [message] = ingest_body(client, web_channel, body)
    assert message.conversation.thread_key == "private:s:w:0e5751c026e543b2e8ab2eb06099daa1"


def ingest_body(client: Client, channel: Channel, body: bytes) -> list[Message]:
    assert push(client, channel, body).status_code == 200
    do_ingest_pending()
    return list(Message.objects.filter(channel=channel))
