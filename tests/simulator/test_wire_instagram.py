"""The Instagram wire end to end: SimEvents → signed webhooks → /hooks → Messages; replies → the wire."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cercle.connectors.base import ActionKind
from cercle.inbox.actions import do_moderate_message, do_reply
from cercle.inbox.models import Conversation, Message
from cercle.pipeline.poller import poll_channel
from cercle.pipeline.sender import send_due
from cercle.simulator.wire.base import SimAuthor, SimEvent, SimPost
from cercle.simulator.wire.instagram import InstagramWire
from tests.simulator.wire_routing import deliver, wire_channel

API_BASE = "http://sim.test/instagram/instagram-like"
WHEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
POST = SimPost("ig-p1", "Notre nouvelle lampe Aurore ✨", "https://instagram.example/p/ig-p1", WHEN)
CAMILLE = SimAuthor("ig-u1", "Camille Durand", "camille.durand", "fr")
SAM = SimAuthor("ig-u2", "Sam Lee", "sam_lee", "en")


def event(event_id: str, type: str = "comment", author: SimAuthor = CAMILLE, **extra) -> SimEvent:
    defaults = {"text": "Ma commande n’est jamais arrivée 😕", "created_at": WHEN}
    if type in {"comment", "reply"}:
        defaults["post"] = POST
    defaults.update(extra)
    return SimEvent(id=event_id, type=type, author=author, **defaults)


@pytest.fixture
def wire(actions) -> InstagramWire:
    return InstagramWire("instagram-like", API_BASE, actions.append, salt="test")


@pytest.fixture
def channel(workspace, wire):
    return wire_channel(workspace, wire, "instagram", "@lumen on Instagram")


def test_events_become_messages_through_the_real_hook(client, channel, wire):
    events = [
        event("ig-c1"),
        event("ig-c2", type="reply", author=SAM, parent_id="ig-c1", text="Same here"),
        event("ig-m1", type="message", thread_id="ig-t1", text="Bonjour, où est mon colis ?"),
        event("ig-n1", type="mention", author=SAM, text="@lumen look at this"),
    ]
    assert deliver(client, channel, wire, events) == [200, 200, 200, 200]
    kinds = dict(Message.objects.filter(channel=channel).values_list("external_id", "kind"))
    assert kinds == {
        "ig-c1": "comment",
        "ig-c2": "reply",
        "ig-m1": "message",
        "mention:ig-n1-media:ig-n1": "mention",
    }


def test_comment_is_threaded_under_its_post(client, channel, wire):
    deliver(client, channel, wire, [event("ig-c1")])
    conversation = Conversation.objects.get(channel=channel)
    assert (conversation.post.external_id, conversation.thread_key) == (
        "ig-p1",
        "post:ig-p1:author:ig-u1",
    )


def test_dm_edit_and_unsend_reach_the_inbox(client, channel, wire):
    deliver(client, channel, wire, [event("ig-m1", type="message", thread_id="ig-t1")])
    deliver(
        client,
        channel,
        wire,
        [event("ig-m1", type="message", thread_id="ig-t1", op="edit", text="Colis n°4521 ?")],
    )
    assert Message.objects.get(external_id="ig-m1").text == "Colis n°4521 ?"
    deliver(client, channel, wire, [event("ig-m1", type="message", thread_id="ig-t1", op="delete")])
    assert Message.objects.get(external_id="ig-m1").deleted_at is not None


def test_brand_dm_is_an_echo_in_the_same_thread(client, channel, wire):
    deliver(client, channel, wire, [event("ig-m1", type="message", thread_id="ig-t1")])
    deliver(
        client,
        channel,
        wire,
        [
            event(
                "ig-m2", type="message", thread_id="ig-t1", from_brand=True, text="Il arrive demain"
            )
        ],
    )
    echo = Message.objects.get(external_id="ig-m2")
    assert (echo.direction, echo.conversation_id) == (
        "outbound",
        Message.objects.get(external_id="ig-m1").conversation_id,
    )


def test_tampered_delivery_is_refused(client, channel, wire):
    [delivery] = wire.webhooks([event("ig-c1")])
    response = client.post(
        f"/hooks/{channel.uuid}",
        delivery.body.replace(b"jamais", b"toujours"),
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=delivery.headers["X-Hub-Signature-256"],
    )
    assert response.status_code == 403


def test_reply_goes_through_the_connector_to_the_wire(
    client, channel, wire, routed, actions, owner
):
    deliver(client, channel, wire, [event("ig-c1")])
    conversation = Conversation.objects.get(channel=channel)
    message = do_reply(owner, conversation, "Nous regardons cela tout de suite !")
    send_due()
    message.refresh_from_db()
    [action] = actions
    assert (action.kind, action.target_id, action.text, message.delivery, message.external_id) == (
        "reply",
        "ig-c1",
        "Nous regardons cela tout de suite !",
        "sent",
        action.created_id,
    )


def test_private_reply_and_dm_reach_the_wire(client, channel, wire, routed, actions, owner):
    deliver(
        client, channel, wire, [event("ig-c1"), event("ig-m1", type="message", thread_id="ig-t1")]
    )
    comment_thread = Conversation.objects.get(channel=channel, kind="thread")
    dm_thread = Conversation.objects.get(channel=channel, kind="private")
    do_reply(owner, comment_thread, "Je vous écris en privé", private=True)
    do_reply(owner, dm_thread, "Il arrive demain")
    send_due()
    assert sorted((a.kind, a.target_id) for a in actions) == [
        ("private_reply", "ig-c1"),
        ("send_private", "ig-t1"),
    ]


def test_moderation_reaches_the_wire(client, channel, wire, routed, actions, owner):
    deliver(client, channel, wire, [event("ig-c1")])
    message = Message.objects.get(external_id="ig-c1")
    do_moderate_message(owner, message, ActionKind.HIDE)
    send_due()
    do_moderate_message(owner, message, ActionKind.DELETE)
    send_due()
    assert [(a.kind, a.target_id) for a in actions] == [("hide", "ig-c1"), ("delete", "ig-c1")]


def test_revoked_token_on_the_wire_waits_for_reconnection(client, channel, wire, routed, owner):
    deliver(client, channel, wire, [event("ig-c1")])
    wire.revoked = True
    message = do_reply(owner, Conversation.objects.get(channel=channel), "Merci !")
    send_due()
    message.refresh_from_db()
    assert message.delivery == "waiting"


def test_poll_catch_up_lists_published_comments(channel, wire, routed):
    wire.publish(
        [
            event("ig-c1"),
            event("ig-c2", type="reply", author=SAM, parent_id="ig-c1", text="Same here"),
        ]
    )
    poll_channel(channel)
    assert set(Message.objects.filter(channel=channel).values_list("external_id", flat=True)) == {
        "ig-c1",
        "ig-c2",
    }


def test_reconcile_finds_the_reply_the_wire_made(channel, wire, routed):
    from cercle.connectors.base import OutboundAction
    from cercle.connectors.registry import connector_for

    wire.publish([event("ig-c1")])
    connector = connector_for(channel)
    action = OutboundAction(
        kind=ActionKind.REPLY, idempotency_key="k", target_external_id="ig-c1", text="Merci !"
    )
    made = connector.perform(action)
    assert connector.reconcile(action) == made


def test_reply_to_a_mention_reaches_the_wire_and_reconciles(
    client, channel, wire, routed, actions, owner
):
    from cercle.connectors.base import OutboundAction
    from cercle.connectors.registry import connector_for

    deliver(
        client,
        channel,
        wire,
        [event("ig-n1", type="mention", author=SAM, text="@lumen look at this")],
    )
    mention = Message.objects.get(kind="mention")
    do_reply(owner, mention.conversation, "Merci Sam !")
    send_due()
    [action] = actions
    again = OutboundAction(
        kind=ActionKind.REPLY,
        idempotency_key="k",
        target_external_id=mention.external_id,
        text="Merci Sam !",
    )
    found = connector_for(channel).reconcile(again)
    assert (action.kind, action.target_id, found.platform_id) == (
        "reply",
        "ig-n1",
        action.created_id,
    )


def test_an_id_only_mention_is_enriched_from_the_wire(client, channel, wire, routed):
    from cercle.pipeline.enrich import enrich_channel

    deliver(
        client,
        channel,
        wire,
        [event("ig-n1", type="mention", author=SAM, text="@lumen look at this")],
    )
    enrich_channel(channel.pk)
    mention = Message.objects.select_related("conversation__contact").get(kind="mention")
    assert (mention.text, mention.conversation.contact.display_name) == (
        "@lumen look at this",
        "sam_lee",
    )


def test_a_bare_post_gets_its_details_from_the_fake_graph(client, channel, wire, routed):
    from cercle.inbox.models import Post
    from cercle.pipeline.enrich_posts import bare_post_ids, enrich_channel_posts

    deliver(client, channel, wire, [event("c1")])
    post = Post.objects.get(channel=channel)
    assert post.published_at is None
    report = enrich_channel_posts(channel.pk, bare_post_ids(channel))
    post.refresh_from_db()
    assert report.filled == 1
    assert (post.text, post.published_at, post.url) == (POST.text, POST.published_at, POST.url)
