"""The Discourse wire end to end: SimEvents → signed webhooks → /hooks → Messages; actions → the wire."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cercle.connectors.base import ActionKind
from cercle.connectors.choices import Health
from cercle.inbox.actions import do_moderate_message, do_reply
from cercle.inbox.models import Conversation, Message
from cercle.pipeline.poller import poll_channel
from cercle.pipeline.sender import send_due
from cercle.simulator.wire.base import SimAuthor, SimEvent, SimPost
from cercle.simulator.wire.discourse import DiscourseWire
from tests.simulator.wire_routing import deliver_all as deliver
from tests.simulator.wire_routing import wire_channel

API_BASE = "http://sim.test/discourse/forum"
WHEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
POST = SimPost("d-p1", "La lampe Aube arrive !", "https://forum.example/t/aube/401", WHEN)
CAMILLE = SimAuthor("u-fr-1", "Camille Durand", "camille.durand", "fr")
SAM = SimAuthor("u-en-2", "Sam Lee", "sam.lee", "en")


def event(event_id: str, type: str = "comment", author: SimAuthor = CAMILLE, **extra) -> SimEvent:
    defaults = {"text": "Existe-t-elle en 220 V ? ☕", "created_at": WHEN}
    if type in {"comment", "reply"}:
        defaults["post"] = POST
    defaults.update(extra)
    return SimEvent(id=event_id, type=type, author=author, **defaults)


@pytest.fixture
def wire(actions) -> DiscourseWire:
    return DiscourseWire("forum", API_BASE, actions.append, salt="test")


@pytest.fixture
def channel(workspace, wire):
    return wire_channel(workspace, wire, "discourse", "Forum Lumen")


def external_id(wire: DiscourseWire, sim_id: str) -> str:
    return str(wire.post_of[sim_id])


def test_every_forum_event_arrives_as_its_kind(client, channel, wire):
    deliver(
        client,
        channel,
        wire,
        event("c1"),
        event("c2", type="reply", author=SAM, parent_id="c1", text="Same question"),
        event("m1", type="mention", text="Quelqu’un a testé la lampe Aube ?"),
        event("pm1", type="message", thread_id="t-1", text="Bonjour, une question privée"),
        event("s1", type="share", author=SAM, post=POST),
        event("r1", type="review", author=SAM, rating=2),
    )
    kinds = dict(Message.objects.filter(channel=channel).values_list("external_id", "kind"))
    assert kinds == {
        external_id(wire, "c1"): "comment",
        external_id(wire, "c2"): "reply",
        external_id(wire, "m1"): "comment",
        external_id(wire, "pm1"): "message",
    }


def test_edit_and_delete_reach_the_message(client, channel, wire):
    deliver(client, channel, wire, event("c1"))
    deliver(client, channel, wire, event("c1", op="edit", text="Finalement trouvé, merci"))
    message = Message.objects.get(external_id=external_id(wire, "c1"))
    assert message.text == "Finalement trouvé, merci"
    deliver(client, channel, wire, event("c1", op="delete"))
    message.refresh_from_db()
    assert message.deleted_at is not None


def test_replying_through_the_connector_reaches_the_wire(
    client, channel, wire, routed, actions, owner
):
    deliver(client, channel, wire, event("c1"))
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


def test_a_reaction_to_our_reply_answers_it_in_the_topic(
    client, channel, wire, routed, actions, owner
):
    deliver(client, channel, wire, event("c1"))
    do_reply(owner, Conversation.objects.get(channel=channel), "Oui, dès décembre.")
    send_due()
    ours = wire.posts[int(actions[0].created_id)]
    [delivery] = wire.webhooks(
        [event("c1-r1", type="reply", parent_id=actions[0].created_id, text="Merci !")]
    )
    assert b'"reply_to_post_number": %d' % ours["post_number"] in delivery.body


def test_personal_message_answer_reaches_the_simulator_thread(
    client, channel, wire, routed, actions, owner
):
    deliver(client, channel, wire, event("pm1", type="message", thread_id="t-1", text="Bonjour"))
    do_reply(owner, Conversation.objects.get(channel=channel), "Bonjour Camille !")
    send_due()
    assert [(a.kind, a.target_id) for a in actions] == [("send_private", "t-1")]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (ActionKind.HIDE, ("hide", "c1")),
        (ActionKind.DELETE, ("delete", "c1")),
        (ActionKind.LIKE, ("like", "c1")),
        (ActionKind.BAN, ("ban", "u-fr-1")),
    ],
)
def test_moderation_reaches_the_wire(client, channel, wire, routed, actions, owner, kind, expected):
    deliver(client, channel, wire, event("c1"))
    do_moderate_message(owner, Message.objects.get(external_id=external_id(wire, "c1")), kind)
    send_due()
    assert [(a.kind, a.target_id) for a in actions] == [expected]


def test_revoked_key_on_the_wire_asks_for_reconnection(client, channel, wire, routed, owner):
    deliver(client, channel, wire, event("c1"))
    wire.revoked = True
    do_reply(owner, Conversation.objects.get(channel=channel), "Bonjour")
    send_due()
    channel.refresh_from_db()
    assert channel.health == Health.NEEDS_REAUTH


def test_catch_up_poll_reads_the_latest_posts(channel, wire, routed):
    wire.publish([event("c1"), event("c2", author=SAM, text="Moi aussi")])
    poll_channel(channel)
    assert Message.objects.filter(channel=channel).count() == 2


def test_test_connection_names_the_forum(channel, wire, routed):
    from cercle.connectors.registry import connector_for

    assert API_BASE in connector_for(channel).test_connection()
