"""The Reddit wire end to end: SimEvents → listings polled by the real connector → Messages; actions → the wire."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from cercle.connectors.base import ActionKind
from cercle.connectors.models import Channel
from cercle.inbox.actions import do_moderate_message, do_reply
from cercle.inbox.models import Message
from cercle.pipeline.poller import poll_channel
from cercle.pipeline.sender import send_due
from cercle.simulator.channels import CHANNELS_BY_KEY, wire_class
from cercle.simulator.wire.base import SimAction, SimAuthor, SimEvent, SimPost
from cercle.simulator.wire.reddit import RedditWire
from cercle.workspaces.models import Member, Workspace
from tests.simulator.wire_routing import wire_channel

pytestmark = pytest.mark.django_db

API_BASE = "http://sim.test/reddit/subreddit"
WHEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
POST = SimPost("r-p1", "La lampe Aube arrive !", "https://reddit.example/r/maisonlumen/1", WHEN)
CAMILLE = SimAuthor("u-fr-1", "Camille Durand", "camille_durand", "fr")


def event(event_id: str, type: str = "comment", **extra: object) -> SimEvent:
    defaults: dict[str, object] = {"text": "Existe-t-elle en 220 V ?", "created_at": WHEN}
    if type in {"comment", "reply"}:
        defaults["post"] = POST
    defaults.update(extra)
    return SimEvent(id=event_id, type=type, author=CAMILLE, **defaults)  # type: ignore[arg-type]


@pytest.fixture
def wire(actions: list[SimAction]) -> RedditWire:
    return RedditWire("subreddit", API_BASE, actions.append)


@pytest.fixture
def channel(workspace: Workspace, wire: RedditWire) -> Channel:
    return wire_channel(workspace, wire, "reddit", "r/maisonlumen")


def test_the_demo_has_a_subreddit_on_this_wire() -> None:
    assert wire_class(CHANNELS_BY_KEY["subreddit"]) is RedditWire


def test_every_event_arrives_as_its_kind(
    channel: Channel, wire: RedditWire, routed: list[httpx.Request]
) -> None:
    wire.publish(
        [
            event("c1"),
            event("c2", type="reply", parent_id="c1", text="Même question"),
            event("m1", type="mention", text="quelqu’un a testé ?"),
            event("pm1", type="message", thread_id="t-1", text="Une question privée"),
            event("s1", type="share"),
        ]
    )
    poll_channel(channel)
    kinds = sorted(Message.objects.filter(channel=channel).values_list("kind", "text"))
    assert kinds == [
        ("comment", "Existe-t-elle en 220 V ?"),
        ("mention", "u/lumen_team quelqu’un a testé ?"),
        ("message", "Une question privée"),
        ("reply", "Même question"),
    ]


def test_only_newer_items_are_asked_for_on_the_next_poll(
    channel: Channel, wire: RedditWire, routed: list[httpx.Request]
) -> None:
    wire.publish([event("c1")])
    poll_channel(channel)
    wire.publish([event("c2")])
    channel.refresh_from_db()
    poll_channel(channel)
    assert Message.objects.filter(channel=channel).count() == 2


def test_a_reply_and_a_removal_reach_the_wire(
    channel: Channel,
    wire: RedditWire,
    routed: list[httpx.Request],
    actions: list[SimAction],
    owner: Member,
) -> None:
    wire.publish([event("c1")])
    poll_channel(channel)
    message = Message.objects.get(channel=channel)
    reply = do_reply(owner, message.conversation, "Oui, dès décembre.")
    do_moderate_message(owner, message, ActionKind.HIDE)
    send_due()
    reply.refresh_from_db()
    assert ([(a.kind, a.target_id) for a in actions], reply.delivery) == (
        [("reply", "c1"), ("hide", "c1")],
        "sent",
    )


def test_a_polled_comments_post_gets_its_publication_time(
    channel: Channel, wire: RedditWire, routed: list[httpx.Request]
) -> None:
    from cercle.inbox.models import Post
    from cercle.pipeline.enrich_posts import bare_post_ids, enrich_channel_posts

    wire.publish([event("c1")])
    poll_channel(channel)
    [pk] = bare_post_ids(channel)
    assert enrich_channel_posts(channel.pk, [pk]).filled == 1
    post = Post.objects.get(pk=pk)
    assert (post.text, post.published_at) == (POST.text, WHEN)
    assert post.url.startswith("https://www.reddit.com/r/maisonlumen/comments/")
