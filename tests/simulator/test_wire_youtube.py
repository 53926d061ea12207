"""The simulator's YouTube wire, end to end through the real connector.

YouTube is poll-only: simulated events are published on the fake API and the
real poller reads them; replies and moderation go through the real sender to
the wire, which reports them to the simulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from cercle.connectors.base import ActionKind
from cercle.connectors.http import transport
from cercle.connectors.models import Channel
from cercle.connectors.youtube.connector import Cursor
from cercle.inbox.actions import do_moderate_message, do_reply
from cercle.inbox.models import Message
from cercle.pipeline.poller import poll_channel
from cercle.pipeline.sender import send_due
from cercle.simulator.wire.base import FakeRequest, SimAction, SimAuthor, SimEvent, SimPost
from cercle.simulator.wire.youtube import YouTubeWire
from cercle.workspaces.models import Member, Workspace
from tests.simulator.wire_routing import wire_channel

API_BASE = "http://127.0.0.1:8765/youtube/lumen"
T0 = datetime.now(UTC) - timedelta(hours=1)
CAMILLE = SimAuthor(id="a-camille", name="Camille Durand", handle="camille", language="fr")
SAM = SimAuthor(id="a-sam", name="Sam Taylor", handle="samt", language="en")
VIDEO = SimPost(
    id="vid-lamp", text="Notre nouvelle lampe", url="https://youtu.be/vid-lamp", published_at=T0
)


def _to_wire(wire: YouTubeWire) -> httpx.MockTransport:
    """Route the connector's HTTP calls to `wire.handle`, as the fake platform server does."""

    def handler(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        assert url.startswith(API_BASE), url
        response = wire.handle(
            FakeRequest(
                method=request.method,
                path=url.split("?")[0].removeprefix(API_BASE) or "/",
                query=parse_qs(request.url.query.decode(), keep_blank_values=True),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=request.content,
            )
        )
        return httpx.Response(response.status, content=response.body, headers=response.headers)

    return httpx.MockTransport(handler)


@pytest.fixture
def wire(actions: list[SimAction]) -> Iterator[YouTubeWire]:
    wire = YouTubeWire("lumen", API_BASE, actions.append)
    with transport(_to_wire(wire)):
        yield wire


@pytest.fixture
def channel(workspace: Workspace, wire: YouTubeWire) -> Channel:
    return wire_channel(workspace, wire, "youtube", "Lumen YouTube")


def _poll_now(channel: Channel) -> None:
    """Poll as if the planned interval had passed."""
    channel.refresh_from_db()
    cursor = Cursor.load(channel.cursor)
    cursor.next_at = ""
    Channel.objects.filter(pk=channel.pk).update(cursor=cursor.dump())
    channel.refresh_from_db()
    poll_channel(channel)


EVENTS = [
    SimEvent(
        id="e1",
        type="comment",
        author=CAMILLE,
        text="Ma lampe clignote 😕",
        created_at=T0,
        post=VIDEO,
    ),
    SimEvent(
        id="e2",
        type="reply",
        author=SAM,
        text="Same here",
        created_at=T0 + timedelta(minutes=5),
        parent_id="e1",
    ),
    SimEvent(id="e3", type="mention", author=SAM, text="@lumen hi", created_at=T0),
    SimEvent(id="e4", type="message", author=SAM, text="private", created_at=T0, thread_id="t1"),
]


def test_youtube_pushes_no_webhooks(wire: YouTubeWire) -> None:
    assert wire.webhooks(EVENTS) == []


def test_published_comments_and_replies_are_polled_into_messages(
    wire: YouTubeWire, channel: Channel
) -> None:
    wire.publish(EVENTS)
    poll_channel(channel)
    messages = {m.text: m for m in Message.objects.filter(channel=channel)}
    assert set(messages) == {"Ma lampe clignote 😕", "Same here"}
    assert messages["Same here"].parent_external_id == messages["Ma lampe clignote 😕"].external_id


def test_publishing_twice_gives_one_message(wire: YouTubeWire, channel: Channel) -> None:
    wire.publish(EVENTS)
    wire.publish(EVENTS)
    poll_channel(channel)
    _poll_now(channel)
    assert Message.objects.filter(channel=channel).count() == 2


def test_an_edit_on_the_platform_updates_the_message(wire: YouTubeWire, channel: Channel) -> None:
    wire.publish(EVENTS[:1])
    poll_channel(channel)
    edit = SimEvent(
        id="e1",
        type="comment",
        op="edit",
        author=CAMILLE,
        text="Réglé, merci !",
        created_at=T0 + timedelta(minutes=9),
    )
    wire.publish([edit])
    _poll_now(channel)
    assert Message.objects.get(channel=channel).text == "Réglé, merci !"


def test_a_reply_through_the_connector_reaches_the_wire_once(
    wire: YouTubeWire, channel: Channel, owner: Member, actions: list[SimAction]
) -> None:
    wire.publish(EVENTS[:1])
    poll_channel(channel)
    conversation = Message.objects.get(channel=channel).conversation
    reply = do_reply(owner, conversation, "Débranchez-la 10 secondes 🙂")
    send_due()
    _poll_now(channel)  # our reply comes back as an echo: matched, not a new message
    reply.refresh_from_db()
    assert [(a.kind, a.target_id, a.text) for a in actions] == [
        ("reply", "e1", "Débranchez-la 10 secondes 🙂")
    ]
    assert (reply.delivery, reply.external_id, Message.objects.filter(channel=channel).count()) == (
        "sent",
        actions[0].created_id,
        2,
    )


def test_hide_and_ban_through_the_connector_reach_the_wire(
    wire: YouTubeWire, channel: Channel, owner: Member, actions: list[SimAction]
) -> None:
    wire.publish(EVENTS[:2])
    poll_channel(channel)
    do_moderate_message(owner, Message.objects.get(text="Same here"), ActionKind.HIDE)
    do_moderate_message(owner, Message.objects.get(text="Ma lampe clignote 😕"), ActionKind.BAN)
    send_due()
    assert [(a.kind, a.target_id) for a in actions] == [("hide", "e2"), ("ban", "a-camille")]


def test_a_hidden_comment_is_polled_as_hidden(
    wire: YouTubeWire, channel: Channel, owner: Member
) -> None:
    wire.publish(EVENTS[:1])
    poll_channel(channel)
    message = Message.objects.get(channel=channel)
    do_moderate_message(owner, message, ActionKind.HIDE)
    send_due()
    Message.objects.filter(pk=message.pk).update(is_hidden=False)  # forget what the sender recorded
    _poll_now(channel)
    assert Message.objects.get(pk=message.pk).is_hidden is True


def test_the_fake_api_refuses_a_wrong_token(wire: YouTubeWire) -> None:
    response = wire.handle(
        FakeRequest(
            method="GET",
            path="/channels",
            query={},
            headers={"authorization": "Bearer nope"},
            body=b"",
        )
    )
    assert (response.status, json.loads(response.body)["error"]["code"]) == (401, 401)


def test_an_answer_to_our_reply_lands_in_the_same_thread(
    wire: YouTubeWire, channel: Channel, owner: Member, actions: list[SimAction]
) -> None:
    wire.publish(EVENTS[:1])
    poll_channel(channel)
    do_reply(owner, Message.objects.get(channel=channel).conversation, "Débranchez-la 10 secondes")
    send_due()
    thanks = SimEvent(
        id="e1-r1",
        type="reply",
        author=CAMILLE,
        text="Merci, ça marche !",
        created_at=datetime.now(UTC),
        post=VIDEO,
        parent_id=actions[0].created_id,
    )
    wire.publish([thanks])
    _poll_now(channel)
    first, answer = (
        Message.objects.get(channel=channel, text=t) for t in ("Ma lampe clignote 😕", thanks.text)
    )
    assert (answer.parent_external_id, answer.conversation_id) == (
        first.external_id,
        first.conversation_id,
    )


def test_a_comment_deleted_on_the_platform_is_deleted_after_two_sweeps(
    wire: YouTubeWire, channel: Channel
) -> None:
    wire.publish(EVENTS[:2])
    poll_channel(channel)
    gone = SimEvent(
        id="e2", type="reply", op="delete", author=SAM, text="", created_at=T0, parent_id="e1"
    )
    wire.publish([gone])
    _poll_now(channel)
    _poll_now(channel)
    assert [m.text for m in Message.objects.filter(channel=channel, deleted_at__isnull=False)] == [
        "Same here"
    ]


def test_a_polled_comments_video_gets_its_title_and_publication_time(
    wire: YouTubeWire, channel: Channel
) -> None:
    from cercle.inbox.models import Post
    from cercle.pipeline.enrich_posts import bare_post_ids, enrich_channel_posts

    wire.publish(EVENTS)
    _poll_now(channel)
    [pk] = bare_post_ids(channel)
    assert enrich_channel_posts(channel.pk, [pk]).filled == 1
    post = Post.objects.get(pk=pk)
    assert (post.external_id, post.text, post.published_at) == (
        "vid-lamp",
        VIDEO.text,
        T0.replace(microsecond=0),  # the API's times are to the second
    )
