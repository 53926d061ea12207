from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest

from cercle.connectors.base import ActionKind, OutboundAction
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_reply
from cercle.inbox.models import Conversation, Message
from cercle.pipeline.actions import do_ingest_pending, do_store_raw_events
from cercle.pipeline.models import RawEvent
from cercle.pipeline.sender import send_due
from cercle.simulator.channels import CHANNELS_BY_KEY, FALLBACK_PLATFORM
from cercle.simulator.driver import WebhookSender, connect_channels
from cercle.simulator.platform import FakePlatform
from cercle.simulator.wire.base import SimAuthor, SimEvent, SimPost

# The reviews channel on the simulator platform (the demo runs it on Google Business Profile).
SIM_REVIEWS = replace(CHANNELS_BY_KEY["reviews"], preferred_platform=FALLBACK_PLATFORM)
WHEN = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
AUTHOR = SimAuthor(id="u0001", name="Camille Durand", handle="camille", language="fr")
POST = SimPost(
    id="fo-post-1",
    text="Firmware 2.4",
    url="https://forum.lumen.example/posts/1",
    published_at=WHEN,
)


@pytest.fixture
def platform(settings):
    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["127.0.0.1"]
    server = FakePlatform(react_probability=0.0).start()
    yield server
    server.stop()


def _comment(platform, channels, event_id="fo-1"):
    """A customer's comment, received through the real pipeline; returns its conversation."""
    event = SimEvent(
        id=event_id,
        type="comment",
        author=AUTHOR,
        text="Ma lampe clignote, une idée ?",
        created_at=WHEN,
        post=POST,
        category="question",
    )
    platform.remember("reviews", [event])
    wire = platform.wires["reviews"]
    do_store_raw_events(channels["reviews"], [d.body for d in wire.webhooks([event])])
    do_ingest_pending()
    return Conversation.objects.get(channel=channels["reviews"])


def test_a_reply_goes_through_the_real_sender_and_is_recorded(platform, workspace, owner):
    channels = connect_channels(workspace, platform, [SIM_REVIEWS])
    conversation = _comment(platform, channels)
    do_reply(owner, conversation, "Bonjour Camille, essayez une réinitialisation.")
    send_due()
    recorded = httpx.get(platform.base_url + "/_sim/actions").json()
    assert [(a["kind"], a["target_id"], a["text"]) for a in recorded] == [
        ("reply", "fo-1", "Bonjour Camille, essayez une réinitialisation.")
    ]
    assert Message.objects.get(direction="outbound").delivery == "sent"


def test_the_same_idempotency_key_never_creates_twice(platform, workspace):
    channels = connect_channels(workspace, platform, [SIM_REVIEWS])
    connector = connector_for(channels["reviews"])
    action = OutboundAction(
        kind=ActionKind.REPLY, idempotency_key="k-1", target_external_id="fo-1", text="Hi"
    )
    first = connector.perform(action)
    second = connector.perform(action)
    assert (first.platform_id, len(platform.actions)) == (second.platform_id, 1)
    assert connector.reconcile(action) == first


def test_an_unknown_key_is_not_found_by_reconcile(platform, workspace):
    channels = connect_channels(workspace, platform, [SIM_REVIEWS])
    action = OutboundAction(
        kind=ActionKind.REPLY, idempotency_key="never-sent", target_external_id="fo-1"
    )
    assert connector_for(channels["reviews"]).reconcile(action) is None


def test_a_wrong_token_is_refused(platform, workspace):
    connect_channels(workspace, platform, [SIM_REVIEWS])
    response = httpx.post(
        platform.api_base("simulator", "reviews") + "/actions",
        json={"kind": "reply", "idempotency_key": "x"},
        headers={"Authorization": "Bearer wrong", "Idempotency-Key": "x"},
    )
    assert response.status_code == 401 and platform.actions == []


@pytest.mark.django_db(transaction=True)
def test_the_customer_answering_our_reply_arrives_as_a_webhook(
    settings, live_server, workspace, owner
):
    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["127.0.0.1"]
    with FakePlatform(react_probability=1.0, react_delay=(0.0, 0.0)) as platform:
        channels = connect_channels(workspace, platform, [SIM_REVIEWS])
        sender = WebhookSender(live_server.url, platform, channels)
        platform.deliver = sender.deliver
        conversation = _comment(platform, channels)
        do_reply(owner, conversation, "Merci pour votre message !")
        send_due()
        sender.close()
    reaction = (
        RawEvent.objects.filter(channel=channels["reviews"], source="webhook")
        .order_by("-id")
        .first()
    )
    event = json.loads(bytes(reaction.body))["events"][0]
    assert (event["author"]["id"], event["parent_id"]) == ("u0001", platform.actions[0].created_id)
    assert sender.sent == 1
