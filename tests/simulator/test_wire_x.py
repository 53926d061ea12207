"""The X wire end to end: SimEvents → signed Account Activity deliveries → /hooks → Messages; actions → the wire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cercle.connectors.base import ActionKind, OutboundAction, SearchTerms
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.inbox.actions import do_moderate_message, do_reply
from cercle.inbox.models import Conversation, Message
from cercle.pipeline.poller import poll_channel
from cercle.pipeline.sender import send_due
from cercle.simulator.wire.base import SimAuthor, SimEvent, SimPost
from cercle.simulator.wire.x import XWire
from tests.simulator.wire_routing import deliver, wire_channel

pytestmark = pytest.mark.django_db

PREFIX = "/x/x-like"
API_BASE = "http://sim.test" + PREFIX
WHEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
POST = SimPost("x-p1", "Notre nouvelle lampe Aurore ✨", "https://x.example/lumen/status/1", WHEN)
CAMILLE = SimAuthor("x-u1", "Camille Durand", "camille_d", "fr")
SAM = SimAuthor("x-u2", "Sam Lee", "sam_lee", "en")


def event(event_id: str, type: str = "comment", author: SimAuthor = CAMILLE, **extra) -> SimEvent:
    defaults = {"text": "Ma commande n’est jamais arrivée 😕", "created_at": WHEN}
    if type in {"comment", "reply", "share"}:
        defaults["post"] = POST
    defaults.update(extra)
    return SimEvent(id=event_id, type=type, author=author, **defaults)


@pytest.fixture
def wire(actions) -> XWire:
    return XWire("x-like", API_BASE, actions.append, salt="test")


@pytest.fixture
def channel(workspace, wire):
    return wire_channel(workspace, wire, "x", "@Lumen on X")


def by_sim_id(wire: XWire, sim_id: str) -> Message:
    return Message.objects.get(external_id=wire.x_id(sim_id))


def test_events_become_messages_through_the_real_hook(client, channel, wire):
    events = [
        event("x-c1"),
        event("x-m1", type="message", thread_id="x-t1", text="Bonjour, où est mon colis ?"),
        event("x-n1", type="mention", author=SAM, text="look at this lamp"),
        event("x-s1", type="share", author=SAM, text=""),
        event("x-r1", type="review", rating=5),
    ]
    assert deliver(client, channel, wire, events) == [200, 200, 200, 200]
    kinds = {m.external_id: m.kind for m in Message.objects.filter(channel=channel)}
    assert kinds == {
        wire.x_id("x-c1"): "reply",
        wire.x_id("x-m1"): "message",
        wire.x_id("x-n1"): "mention",
        wire.x_id("x-s1"): "share",
    }


def test_reply_is_threaded_under_the_brand_post(client, channel, wire):
    deliver(client, channel, wire, [event("x-c1")])
    conversation = Conversation.objects.get(channel=channel)
    assert conversation.post.external_id == wire.x_id("x-p1")


def test_edit_and_delete_reach_the_inbox(client, channel, wire):
    deliver(client, channel, wire, [event("x-c1")])
    deliver(client, channel, wire, [event("x-c1", op="edit", text="Colis n°4521 ?")])
    edited = by_sim_id(wire, "x-c1").text
    deliver(client, channel, wire, [event("x-c1", op="delete")])
    assert (edited, by_sim_id(wire, "x-c1").deleted_at is not None) == ("Colis n°4521 ?", True)


def test_brand_dm_is_an_echo_in_the_same_thread(client, channel, wire):
    deliver(client, channel, wire, [event("x-m1", type="message", thread_id="x-t1")])
    deliver(
        client,
        channel,
        wire,
        [event("x-m2", type="message", thread_id="x-t1", from_brand=True, text="Il arrive demain")],
    )
    echo = by_sim_id(wire, "x-m2")
    assert (echo.direction, echo.conversation_id) == (
        "outbound",
        by_sim_id(wire, "x-m1").conversation_id,
    )


def test_tampered_delivery_is_refused(client, channel, wire):
    [delivery] = wire.webhooks([event("x-c1")])
    response = client.post(
        f"/hooks/{channel.uuid}",
        delivery.body.replace(b"jamais", b"toujours"),
        content_type="application/json",
        HTTP_X_TWITTER_WEBHOOKS_SIGNATURE=delivery.headers["x-twitter-webhooks-signature"],
    )
    assert response.status_code == 403


def test_crc_is_answered_with_the_wire_secret(client, channel, wire):
    from cercle.connectors.x.connector import signature

    response = client.get(f"/hooks/{channel.uuid}", {"crc_token": "abc"})
    assert response.json() == {"response_token": signature(wire.consumer_secret, b"abc")}


def test_reply_goes_through_the_connector_to_the_wire(
    client, channel, wire, routed, actions, owner
):
    deliver(client, channel, wire, [event("x-c1")])
    message = do_reply(
        owner, Conversation.objects.get(channel=channel), "Nous regardons cela tout de suite !"
    )
    send_due()
    message.refresh_from_db()
    [action] = actions
    assert (action.kind, action.target_id, action.text, message.delivery, message.external_id) == (
        "reply",
        "x-c1",
        "Nous regardons cela tout de suite !",
        "sent",
        action.created_id,
    )


def test_private_reply_and_dm_reach_the_wire(client, channel, wire, routed, actions, owner):
    deliver(client, channel, wire, [event("x-c1"), event("x-m1", type="message", thread_id="x-t1")])
    public = Conversation.objects.get(channel=channel, kind="thread")
    private = Conversation.objects.get(channel=channel, kind="private")
    do_reply(owner, public, "Je vous écris en privé", private=True)
    do_reply(owner, private, "Il arrive demain")
    send_due()
    assert sorted((a.kind, a.target_id) for a in actions) == [
        ("private_reply", "x-u1"),
        ("send_private", "x-t1"),
    ]


def test_moderation_reaches_the_wire(client, channel, wire, routed, actions, owner):
    deliver(client, channel, wire, [event("x-c1")])
    message = by_sim_id(wire, "x-c1")
    for kind in (ActionKind.HIDE, ActionKind.UNHIDE, ActionKind.LIKE, ActionKind.BAN):
        do_moderate_message(owner, message, kind)
        send_due()
    assert [(a.kind, a.target_id) for a in actions] == [
        ("hide", "x-c1"),
        ("unhide", "x-c1"),
        ("like", "x-c1"),
        ("ban", "x-u1"),
    ]


def test_revoked_token_on_the_wire_waits_for_reconnection(client, channel, wire, routed, owner):
    deliver(client, channel, wire, [event("x-c1")])
    wire.revoked = True
    message = do_reply(owner, Conversation.objects.get(channel=channel), "Merci !")
    send_due()
    message.refresh_from_db()
    assert message.delivery == "waiting"


def test_poll_catch_up_lists_published_items(channel, wire, routed):
    wire.publish(
        [
            event("x-c1"),
            event("x-n1", type="mention", author=SAM, text="look at this lamp"),
            event("x-m1", type="message", thread_id="x-t1"),
        ]
    )
    poll_channel(channel)
    assert set(Message.objects.filter(channel=channel).values_list("external_id", flat=True)) == {
        wire.x_id("x-c1"),
        wire.x_id("x-n1"),
        wire.x_id("x-m1"),
    }


def test_reconcile_finds_the_reply_the_wire_made(channel, wire, routed):
    wire.publish([event("x-c1")])
    connector = connector_for(channel)
    action = OutboundAction(
        kind=ActionKind.REPLY,
        idempotency_key="k",
        target_external_id=wire.x_id("x-c1"),
        text="Merci & à bientôt !",
    )
    made = connector.perform(action)
    assert connector.reconcile(action) == made


def test_repeating_a_reply_is_taken_as_done_not_posted_twice(channel, wire, routed, actions):
    wire.publish([event("x-c1")])
    connector = connector_for(channel)
    action = OutboundAction(
        kind=ActionKind.REPLY,
        idempotency_key="k",
        target_external_id=wire.x_id("x-c1"),
        text="Merci !",
    )
    first = connector.perform(action)
    again = connector.perform(action)
    assert (again, len(actions)) == (first, 1)


def test_delete_of_our_reply_reaches_the_wire_and_reconciles(channel, wire, routed, actions):
    wire.publish([event("x-c1")])
    connector = connector_for(channel)
    reply = connector.perform(
        OutboundAction(
            kind=ActionKind.REPLY,
            idempotency_key="r",
            target_external_id=wire.x_id("x-c1"),
            text="Oups",
        )
    )
    delete = OutboundAction(
        kind=ActionKind.DELETE, idempotency_key="d", target_external_id=reply.platform_id
    )
    before = connector.reconcile(delete)
    connector.perform(delete)
    after = connector.reconcile(delete)
    assert (before, after and after.platform_id, actions[-1].kind) == (
        None,
        reply.platform_id,
        "delete",
    )


def test_the_recent_search_finds_what_the_query_asks(channel, wire, routed):
    wire.publish(
        [
            event("x-n1", type="mention", text="La lampe Aube est superbe"),
            event("x-n2", type="mention", author=SAM, text="lampe de bureau Lumen, on recrute"),
            event("x-n3", type="mention", author=SAM, text="Nothing about it", created_at=WHEN),
            event("x-s1", type="share", author=SAM, text=""),
        ]
    )
    connector = connector_for(channel)
    (query,) = connector.search_queries(
        SearchTerms(any_of=("aube", "lampe de bureau"), none_of=("recrute",))
    )
    with clock.at(WHEN + timedelta(hours=1)):
        items = connector.search(query, WHEN - timedelta(hours=1))
    assert [i.text for i in items] == [f"@{wire.handle_name} La lampe Aube est superbe"]
    (request,) = [r for r in routed if r.url.path.endswith("/2/tweets/search/recent")]
    assert request.url.params["query"] == '(aube OR "lampe de bureau") -recrute -is:retweet'
    # Nothing is older than `since`: the Snowflake time of since_id is honoured.
    with clock.at(WHEN + timedelta(hours=1)):
        assert connector.search(query, WHEN + timedelta(minutes=1)) == []


def test_the_brand_post_a_reply_names_gets_its_details(client, channel, wire, routed):
    from cercle.inbox.models import Post
    from cercle.pipeline.enrich_posts import bare_post_ids, enrich_channel_posts

    deliver(client, channel, wire, [event("c1")])
    bare = bare_post_ids(channel)
    assert len(bare) == 1
    enrich_channel_posts(channel.pk, bare)
    post = Post.objects.get(pk=bare[0])
    assert (post.text, post.published_at) == (POST.text, POST.published_at)
    assert routed[-1].url.path == "/x/x-like/2/tweets"
