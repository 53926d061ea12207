"""The Mastodon wire end to end: SimEvents → notifications polled by the real connector → Messages; actions → the wire."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from cercle.connectors.base import ActionKind
from cercle.connectors.models import Channel
from cercle.inbox.actions import do_moderate_message, do_reply
from cercle.inbox.models import Conversation, Message
from cercle.pipeline.poller import poll_channel
from cercle.pipeline.sender import send_due
from cercle.simulator.channels import CHANNELS_BY_KEY, wire_class
from cercle.simulator.wire.base import SimAction, SimAuthor, SimEvent, SimPost
from cercle.simulator.wire.mastodon import MastodonWire
from cercle.workspaces.models import Member, Workspace
from tests.simulator.wire_routing import wire_channel

pytestmark = pytest.mark.django_db

API_BASE = "http://sim.test/mastodon/mastodon"
WHEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
POST = SimPost("m-p1", "La lampe Aube arrive !", "https://mastodon.example/@lumen/1", WHEN)
CAMILLE = SimAuthor("u-fr-1", "Camille Durand", "camille.durand", "fr")


def event(event_id: str, type: str = "comment", **extra: object) -> SimEvent:
    defaults: dict[str, object] = {"text": "Existe-t-elle en 220 V ?", "created_at": WHEN}
    if type in {"comment", "reply", "share"}:
        defaults["post"] = POST
    defaults.update(extra)
    return SimEvent(id=event_id, type=type, author=CAMILLE, **defaults)  # type: ignore[arg-type]


@pytest.fixture
def wire(actions: list[SimAction]) -> MastodonWire:
    return MastodonWire("mastodon", API_BASE, actions.append)


@pytest.fixture
def channel(workspace: Workspace, wire: MastodonWire) -> Channel:
    return wire_channel(workspace, wire, "mastodon", "@lumen")


def test_the_demo_has_a_mastodon_account_on_this_wire() -> None:
    assert wire_class(CHANNELS_BY_KEY["mastodon"]) is MastodonWire


def test_every_event_arrives_as_its_kind(
    channel: Channel, wire: MastodonWire, routed: list[httpx.Request]
) -> None:
    wire.publish(
        [
            event("c1"),
            event("m1", type="mention", text="Quelqu’un a testé la lampe Aube ?"),
            event("pm1", type="message", thread_id="t-1", text="Une question privée"),
            event("s1", type="share"),
            event("r1", type="review", rating=2),
        ]
    )
    poll_channel(channel)
    kinds = sorted(Message.objects.filter(channel=channel).values_list("kind", "text"))
    assert kinds == [
        ("mention", "@lumen Quelqu’un a testé la lampe Aube ?"),
        ("message", "@lumen Une question privée"),
        ("reply", "@lumen Existe-t-elle en 220 V ?"),
        ("share", ""),
    ]


def test_a_reply_reaches_the_wire_once_with_its_key(
    channel: Channel,
    wire: MastodonWire,
    routed: list[httpx.Request],
    actions: list[SimAction],
    owner: Member,
) -> None:
    wire.publish([event("c1")])
    poll_channel(channel)
    reply = do_reply(owner, Conversation.objects.get(channel=channel), "Oui, dès décembre.")
    send_due()
    reply.refresh_from_db()
    (action,) = actions
    assert (action.kind, action.target_id, reply.external_id, reply.delivery) == (
        "reply",
        "c1",
        action.created_id,
        "sent",
    )


def test_blocking_reaches_the_wire_as_a_ban(
    channel: Channel,
    wire: MastodonWire,
    routed: list[httpx.Request],
    actions: list[SimAction],
    owner: Member,
) -> None:
    wire.publish([event("m1", type="mention")])
    poll_channel(channel)
    do_moderate_message(owner, Message.objects.get(channel=channel), ActionKind.BAN)
    send_due()
    assert [(a.kind, a.target_id) for a in actions] == [("ban", CAMILLE.id)]
