"""The Google reviews wire end to end: SimEvent reviews → pages polled by the real connector → Messages
with their stars; replies and reply deletions from the inbox → the wire's upsert and delete."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.urls import reverse

from cercle.connectors.base import ActionKind
from cercle.connectors.choices import Health
from cercle.connectors.models import Channel
from cercle.inbox.actions import do_moderate_message, do_reply
from cercle.inbox.models import Conversation, Message, Outbox
from cercle.pipeline.poller import poll_channel
from cercle.pipeline.sender import send_due
from cercle.simulator.channels import CHANNELS_BY_KEY, wire_class
from cercle.simulator.wire.base import FakeRequest, SimAction, SimAuthor, SimEvent
from cercle.simulator.wire.google_business import EDITS_PER_MINUTE, LOCATION, GoogleBusinessWire
from cercle.workspaces.models import Member, Workspace
from tests.simulator.wire_routing import wire_channel

pytestmark = pytest.mark.django_db

API_BASE = "http://sim.test/google_business/reviews"
WHEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
CAMILLE = SimAuthor("u-fr-1", "Camille Durand", "camille", "fr", "https://avatars.example/1.png")


def review(event_id: str, rating: int = 2, **extra: object) -> SimEvent:
    defaults: dict[str, object] = {
        "type": "review",
        "text": "Livrée avec trois semaines de retard.",
        "created_at": WHEN,
        "rating": rating,
    }
    defaults.update(extra)
    return SimEvent(id=event_id, author=CAMILLE, **defaults)  # type: ignore[arg-type]


@pytest.fixture
def wire(actions: list[SimAction]) -> GoogleBusinessWire:
    return GoogleBusinessWire("reviews", API_BASE, actions.append)


@pytest.fixture
def channel(workspace: Workspace, wire: GoogleBusinessWire) -> Channel:
    return wire_channel(workspace, wire, "google_business", "Lumen reviews")


def _received(channel: Channel) -> Conversation:
    return Conversation.objects.get(channel=channel)


def test_the_demo_review_site_is_a_google_business_location() -> None:
    assert wire_class(CHANNELS_BY_KEY["reviews"]) is GoogleBusinessWire


def test_reviews_arrive_page_by_page_with_their_stars_and_nothing_else(
    channel: Channel, wire: GoogleBusinessWire, routed: list[httpx.Request]
) -> None:
    events = [
        review(
            f"rv-{n}", rating=n % 5 + 1, text=f"Avis {n}", created_at=WHEN + timedelta(minutes=n)
        )
        for n in range(57)
    ]
    wire.publish([*events, SimEvent("c1", "comment", CAMILLE, "Un commentaire", WHEN)])
    poll_channel(channel)
    stored = dict(
        Message.objects.filter(channel=channel).values_list("text", "rating").order_by("id")
    )
    assert stored == {e.text: e.rating for e in events}
    pages = [r for r in routed if r.url.path.endswith("/reviews")]
    assert [r.url.params.get("pageToken") is None for r in pages] == [True, False]
    assert pages[0].url.path == f"/google_business/reviews/v4/{LOCATION}/reviews"
    ratings = sorted(Conversation.objects.filter(channel=channel).values_list("rating", flat=True))
    assert ratings == sorted(e.rating for e in events)


def test_the_next_sweep_brings_only_new_and_edited_reviews(
    channel: Channel, wire: GoogleBusinessWire, routed: list[httpx.Request]
) -> None:
    wire.publish([review("rv-1"), review("rv-2", rating=5, text="Parfait")])
    poll_channel(channel)
    wire.publish(
        [
            review(
                "rv-1",
                op="edit",
                text="Finalement livrée, merci.",
                created_at=WHEN + timedelta(hours=2),
            ),
            review("rv-3", rating=4, text="Belle lampe", created_at=WHEN + timedelta(hours=3)),
        ]
    )
    assert poll_channel(channel) == 2
    texts = sorted(Message.objects.filter(channel=channel).values_list("text", flat=True))
    assert texts == ["Belle lampe", "Finalement livrée, merci.", "Parfait"]
    assert poll_channel(channel) == 0


def test_a_reply_from_the_inbox_is_upserted_on_the_review(
    channel: Channel,
    wire: GoogleBusinessWire,
    routed: list[httpx.Request],
    actions: list[SimAction],
    owner: Member,
) -> None:
    wire.publish([review("rv-1")])
    poll_channel(channel)
    conversation = _received(channel)
    do_reply(owner, conversation, "Toutes nos excuses, Camille.")
    send_due()
    do_reply(owner, conversation, "Votre colis est parti ce matin.")
    send_due()
    (review_id,) = wire.reviews
    puts = [r for r in routed if r.method == "PUT"]
    assert [r.url.path.rsplit("/", 2)[-2:] for r in puts] == [[review_id, "reply"]] * 2
    assert json.loads(puts[-1].content) == {"comment": "Votre colis est parti ce matin."}
    # An upsert: the review holds one reply, the latest, and so does the conversation.
    assert wire.reviews[review_id]["reviewReply"]["comment"] == "Votre colis est parti ce matin."
    assert [(a.kind, a.target_id) for a in actions] == [("reply", "rv-1"), ("reply", "rv-1")]
    outbound = Message.objects.filter(conversation=conversation, direction="outbound")
    assert list(outbound.values_list("text", "delivery", "external_id")) == [
        ("Votre colis est parti ce matin.", "sent", f"{review_id}/reply")
    ]


def test_deleting_our_reply_removes_it_from_the_review(
    channel: Channel,
    wire: GoogleBusinessWire,
    routed: list[httpx.Request],
    actions: list[SimAction],
    owner: Member,
) -> None:
    wire.publish([review("rv-1")])
    poll_channel(channel)
    reply = do_reply(owner, _received(channel), "Toutes nos excuses.")
    send_due()
    reply.refresh_from_db()
    do_moderate_message(owner, reply, ActionKind.DELETE)
    send_due()
    (review_id,) = wire.reviews
    assert "reviewReply" not in wire.reviews[review_id]
    assert [(a.kind, a.target_id) for a in actions] == [("reply", "rv-1"), ("delete", "rv-1")]


def test_the_edits_per_minute_pause_the_channel_before_the_platform_refuses(
    channel: Channel,
    wire: GoogleBusinessWire,
    routed: list[httpx.Request],
    actions: list[SimAction],
    owner: Member,
) -> None:
    wire.publish(
        [
            review(f"rv-{n}", text=f"Avis {n}", created_at=WHEN + timedelta(minutes=n))
            for n in range(12)
        ]
    )
    poll_channel(channel)
    for conversation in Conversation.objects.filter(channel=channel).order_by("id"):
        do_reply(owner, conversation, f"Merci {conversation.pk}")
    send_due()
    assert len(actions) == EDITS_PER_MINUTE
    assert not [r for r in routed if r.method == "PUT"][EDITS_PER_MINUTE:]
    assert Outbox.objects.filter(channel=channel, state="queued").count() == 12 - EDITS_PER_MINUTE


def test_the_wire_itself_refuses_an_eleventh_edit_like_google(wire: GoogleBusinessWire) -> None:
    wire.publish([review("rv-1")])
    (review_id,) = wire.reviews
    put = FakeRequest(
        "PUT",
        f"/v4/{LOCATION}/reviews/{review_id}/reply",
        {},
        {"authorization": f"Bearer {wire.token}"},
        b'{"comment": "Merci"}',
    )
    statuses = [wire.handle(put).status for _ in range(EDITS_PER_MINUTE + 1)]
    assert statuses == [200] * EDITS_PER_MINUTE + [429]
    assert json.loads(wire.handle(put).body)["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_a_revoked_grant_sets_the_channel_to_reconnect(
    channel: Channel, wire: GoogleBusinessWire, routed: list[httpx.Request]
) -> None:
    wire.publish([review("rv-1")])
    wire.revoked = True
    poll_channel(channel)
    channel.refresh_from_db()
    assert (channel.health, Message.objects.filter(channel=channel).count()) == (
        Health.NEEDS_REAUTH,
        0,
    )


def test_the_stars_show_in_the_inbox(
    client, channel: Channel, wire: GoogleBusinessWire, routed: list[httpx.Request], owner: Member
) -> None:
    wire.publish([review("rv-1", rating=2)])
    poll_channel(channel)
    assert client.login(username="lea", password="correct horse battery")
    listed = client.get(reverse("inbox:index")).content.decode()
    opened = client.get(reverse("inbox:conversation", args=[_received(channel).pk]))
    assert "★★☆☆☆" in listed and "★★☆☆☆" in opened.content.decode()
