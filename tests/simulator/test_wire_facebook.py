"""The Facebook wire end to end: SimEvents → signed webhooks → /hooks → Messages; actions → the wire."""

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
from cercle.simulator.wire.facebook import FacebookWire, mid
from tests.simulator.wire_routing import deliver_all as deliver
from tests.simulator.wire_routing import wire_channel

API_BASE = "http://sim.test/facebook/facebook-like"
WHEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
POST = SimPost(
    "fb-p1", "Notre nouvelle lampe Aurore ✨", "https://facebook.example/lumen/posts/1", WHEN
)
CAMILLE = SimAuthor("fb-u1", "Camille Durand", "camille.durand", "fr")
SAM = SimAuthor("fb-u2", "Sam Lee", "sam.lee", "en")


def event(event_id: str, type: str = "comment", author: SimAuthor = CAMILLE, **extra) -> SimEvent:
    defaults = {"text": "Ma commande n’est jamais arrivée 😕", "created_at": WHEN}
    if type in {"comment", "reply"}:
        defaults["post"] = POST
    defaults.update(extra)
    return SimEvent(id=event_id, type=type, author=author, **defaults)


@pytest.fixture
def wire(actions) -> FacebookWire:
    return FacebookWire("facebook-like", API_BASE, actions.append, salt="test")


@pytest.fixture
def channel(workspace, wire):
    return wire_channel(workspace, wire, "facebook", "Lumen on Facebook")


def test_every_event_type_arrives_as_its_kind(client, channel, wire):
    deliver(
        client,
        channel,
        wire,
        event("c1"),
        event("c2", type="reply", author=SAM, parent_id="c1", text="Same here"),
        event("s1", type="share", author=SAM, post=POST, text="Regardez ça"),
        event("m1", type="mention", text="@Lumen vous livrez en Belgique ?"),
        event("pm1", type="message", thread_id="t-1", text="Bonjour, une question privée"),
        event("r1", type="review", author=SAM, rating=2, text="Déçu"),
    )
    kinds = dict(Message.objects.filter(channel=channel).values_list("external_id", "kind"))
    assert kinds == {
        "c1": "comment",
        "c2": "reply",
        "s1": "share",
        "m1": "mention",
        mid("pm1"): "message",
        "r1": "review",
    }


def test_non_ascii_text_survives_the_escaped_signed_body(client, channel, wire):
    deliver(client, channel, wire, event("c1", text="Très déçue 😕 <script>alert(1)</script>"))
    assert Message.objects.get(external_id="c1").text == "Très déçue 😕 <script>alert(1)</script>"


def test_edit_and_delete_reach_the_message(client, channel, wire):
    deliver(client, channel, wire, event("c1"))
    deliver(client, channel, wire, event("c1", op="edit", text="Finalement reçue, merci"))
    assert Message.objects.get(external_id="c1").text == "Finalement reçue, merci"
    deliver(client, channel, wire, event("c1", op="delete"))
    assert Message.objects.get(external_id="c1").deleted_at is not None


def test_replying_through_the_connector_reaches_the_wire(
    client, channel, wire, routed, actions, owner
):
    deliver(client, channel, wire, event("c1"))
    reply = do_reply(
        owner, Conversation.objects.get(channel=channel), "Nous regardons tout de suite."
    )
    send_due()
    reply.refresh_from_db()
    (action,) = actions
    assert (action.kind, action.target_id, action.text, reply.external_id, reply.delivery) == (
        "reply",
        "c1",
        "Nous regardons tout de suite.",
        action.created_id,
        "sent",
    )


def test_messenger_reply_reaches_the_simulator_thread(
    client, channel, wire, routed, actions, owner
):
    deliver(client, channel, wire, event("pm1", type="message", thread_id="t-1", text="Bonjour"))
    do_reply(owner, Conversation.objects.get(channel=channel), "Bonjour Camille !")
    send_due()
    assert [(a.kind, a.target_id) for a in actions] == [("send_private", "t-1")]


def test_private_reply_to_a_comment_is_accepted_once(client, channel, wire, routed, actions, owner):
    deliver(client, channel, wire, event("c1"))
    conversation = Conversation.objects.get(channel=channel)
    do_reply(owner, conversation, "Je vous écris en privé.", private=True)
    send_due()
    assert [(a.kind, a.target_id) for a in actions] == [("private_reply", "c1")]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (ActionKind.HIDE, ("hide", "c1")),
        (ActionKind.DELETE, ("delete", "c1")),
        (ActionKind.LIKE, ("like", "c1")),
        (ActionKind.BAN, ("ban", "fb-u1")),
    ],
)
def test_moderation_reaches_the_wire(client, channel, wire, routed, actions, owner, kind, expected):
    deliver(client, channel, wire, event("c1"))
    do_moderate_message(owner, Message.objects.get(external_id="c1"), kind)
    send_due()
    assert [(a.kind, a.target_id) for a in actions] == [expected]


def test_revoked_token_on_the_wire_asks_for_reconnection(client, channel, wire, routed, owner):
    deliver(client, channel, wire, event("c1"))
    wire.revoked = True
    do_reply(owner, Conversation.objects.get(channel=channel), "Bonjour")
    send_due()
    channel.refresh_from_db()
    assert channel.health == Health.NEEDS_REAUTH


def test_catch_up_poll_reads_the_wire_feed(channel, wire, routed):
    wire.publish([event("c1"), event("c2", author=SAM, text="Moi aussi")])
    poll_channel(channel)
    assert set(Message.objects.filter(channel=channel).values_list("external_id", flat=True)) == {
        "c1",
        "c2",
    }


def test_test_connection_names_the_simulated_page(channel, wire, routed):
    from cercle.connectors.registry import connector_for

    assert wire.page_name in connector_for(channel).test_connection()


def test_the_demo_facebook_channel_speaks_this_wire():
    from cercle.simulator.channels import CHANNELS_BY_KEY, wire_class

    assert wire_class(CHANNELS_BY_KEY["facebook-like"]) is FacebookWire


def test_a_bare_post_gets_its_details_from_the_fake_graph(client, channel, wire, routed):
    from cercle.inbox.models import Post
    from cercle.pipeline.enrich_posts import bare_post_ids, enrich_channel_posts

    deliver(client, channel, wire, event("c1"))
    post = Post.objects.get(channel=channel)
    assert post.published_at is None  # the comment webhook names only the post
    enrich_channel_posts(channel.pk, bare_post_ids(channel))
    post.refresh_from_db()
    assert (post.external_id, post.text, post.published_at, post.url) == (
        "fb-p1",
        POST.text,
        WHEN,
        POST.url,
    )
    fields = routed[-1].url.params["fields"]
    assert routed[-1].url.path.endswith("/fb-p1") and "created_time" in fields
