"""One test per recorded Discourse payload, through the hook and the real ingest flow."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client

from cercle.connectors.base import RawEventData
from cercle.connectors.discourse.connector import DiscourseConnector
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.inbox.models import Message, Post
from cercle.pipeline.actions import do_ingest_pending
from cercle.pipeline.models import RawEvent

from .conftest import SITE, deliver, fixture_bytes

pytestmark = pytest.mark.django_db

# Each delivery has its own X-Discourse-Event-Id, as Discourse gives them.
_event_ids = itertools.count(9000)


def ingest(client: Client, channel: Channel, *deliveries: tuple[str, str]) -> list[Message]:
    for name, event in deliveries:
        response = deliver(
            client, channel, fixture_bytes(name), event=event, event_id=str(next(_event_ids))
        )
        assert response.status_code == 200, response.content
    do_ingest_pending()
    return list(Message.objects.filter(channel=channel).order_by("id"))


def test_member_reply_in_a_brand_topic_hangs_under_the_topic(
    client: Client, discourse_channel: Channel
) -> None:
    [message] = ingest(
        client, discourse_channel, ("webhook_post_created_reply.json", "post_created")
    )
    post = message.conversation.post
    assert (
        message.external_id,
        message.kind,
        message.direction,
        message.author_identity.external_id,
        message.url,
        post and (post.external_id, post.text),
    ) == (
        "1203",
        "reply",
        "inbound",
        "57",
        f"{SITE}/t/la-lampe-aube-arrive/412/3",
        ("412", "La lampe Aube arrive !"),
    )


def test_edit_is_a_newer_version_of_the_same_message(
    client: Client, discourse_channel: Channel
) -> None:
    ingest(client, discourse_channel, ("webhook_post_created_reply.json", "post_created"))
    [message] = ingest(client, discourse_channel, ("webhook_post_edited.json", "post_edited"))
    assert ("55231" in message.text, message.edited_at is not None) == (True, True)


def test_destroyed_post_deletes_the_message(client: Client, discourse_channel: Channel) -> None:
    ingest(client, discourse_channel, ("webhook_post_created_reply.json", "post_created"))
    [message] = ingest(client, discourse_channel, ("webhook_post_destroyed.json", "post_destroyed"))
    assert message.deleted_at is not None


def test_topic_opened_by_a_member_is_a_thread_to_answer(
    client: Client, discourse_channel: Channel
) -> None:
    [message] = ingest(
        client, discourse_channel, ("webhook_post_created_topic_member.json", "post_created")
    )
    assert (message.kind, message.conversation.post.external_id, message.conversation.status) == (
        "comment",
        "415",
        "new",
    )


def test_topic_opened_by_staff_is_the_brand_content_not_a_message(
    client: Client, discourse_channel: Channel
) -> None:
    messages = ingest(
        client, discourse_channel, ("webhook_post_created_topic_staff.json", "post_created")
    )
    assert (messages, RawEvent.objects.get().status) == ([], "done")


def test_our_own_reply_is_an_echo_not_an_inbound_message(
    client: Client, discourse_channel: Channel
) -> None:
    [message] = ingest(
        client, discourse_channel, ("webhook_post_created_brand_reply.json", "post_created")
    )
    assert (message.direction, message.delivery) == ("outbound", "sent")


def test_personal_message_is_a_private_thread(client: Client, discourse_channel: Channel) -> None:
    [message] = ingest(client, discourse_channel, ("webhook_post_created_pm.json", "post_created"))
    assert (
        message.kind,
        message.is_private,
        message.conversation.kind,
        message.conversation.thread_key,
    ) == ("message", True, "private", "private:420")


def test_whisper_between_staff_is_not_an_interaction(
    client: Client, discourse_channel: Channel
) -> None:
    assert (
        ingest(client, discourse_channel, ("webhook_post_created_whisper.json", "post_created"))
        == []
    )


def test_hostile_text_is_kept_as_text_without_nul_or_lone_surrogate(
    client: Client, discourse_channel: Channel
) -> None:
    [message] = ingest(
        client, discourse_channel, ("webhook_post_created_hostile.json", "post_created")
    )
    assert message.text == "<script>alert('xss')</script> nul  lone"


def test_flag_hides_the_flagged_post(client: Client, discourse_channel: Channel) -> None:
    ingest(client, discourse_channel, ("webhook_post_created_reply.json", "post_created"))
    [message] = ingest(client, discourse_channel, ("webhook_flag_created.json", "flag_created"))
    assert message.is_hidden is True


def test_agreed_flag_before_the_post_brings_it_hidden(
    client: Client, discourse_channel: Channel
) -> None:
    [message] = ingest(client, discourse_channel, ("webhook_flag_agreed.json", "flag_agreed"))
    assert (message.external_id, message.is_hidden) == ("1203", True)


def test_topic_event_is_acknowledged_without_a_message(
    client: Client, discourse_channel: Channel
) -> None:
    messages = ingest(client, discourse_channel, ("webhook_topic_created.json", "topic_created"))
    assert (messages, Post.objects.count()) == ([], 0)


def test_events_we_do_not_use_are_acknowledged(client: Client, discourse_channel: Channel) -> None:
    assert ingest(client, discourse_channel, ("webhook_user_created.json", "user_created")) == []


def test_polled_latest_posts_skip_staff_topics_and_keep_the_rest(
    discourse_channel: Channel,
) -> None:
    connector = DiscourseConnector(discourse_channel, PlatformHttp())
    raw = RawEventData(body=fixture_bytes("api_latest_posts.json"), source="poll")
    items = connector.parse(raw)
    assert [(i.external_id, i.kind, i.from_brand) for i in items] == [
        ("1203", "reply", False),
        ("1204", "comment", False),
        ("1208", "reply", True),
    ]
