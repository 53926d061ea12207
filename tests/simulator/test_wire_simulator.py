from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.test import RequestFactory

from cercle.connectors.base import BadSignature, RawEventData
from cercle.connectors.registry import connector_for
from cercle.simulator.channels import CHANNELS_BY_KEY, FALLBACK_PLATFORM
from cercle.simulator.community import Community
from cercle.simulator.driver import connect_channels, webhook_batches
from cercle.simulator.platform import FakePlatform

# The reviews channel on the simulator platform (the demo runs it on Google Business Profile).
SIM_REVIEWS = replace(CHANNELS_BY_KEY["reviews"], preferred_platform=FALLBACK_PLATFORM)
START = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture
def platform():
    server = FakePlatform()
    yield server
    server.stop()


def test_webhooks_are_signed_and_parse_back_into_the_same_items(platform, workspace):
    channels = connect_channels(workspace, platform, [SIM_REVIEWS])
    events = [
        e
        for k, e in Community(2).events_between(START, START + timedelta(days=2))
        if k == "reviews"
    ]
    wire = platform.wires["reviews"]
    connector = connector_for(channels["reviews"])
    parsed = []
    for delivery in wire.webhooks(events):
        request = RequestFactory().post(
            "/hooks/x",
            data=delivery.body,
            content_type="application/json",
            headers={k: v for k, v in delivery.headers.items() if k != "Content-Type"},
        )
        assert connector.verify(request) is None
        parsed += connector.parse(RawEventData(body=delivery.body))
    assert [(i.external_id, i.kind, i.text, i.rating) for i in parsed] == [
        (e.id, e.type, e.text, e.rating) for e in events
    ]


def test_a_tampered_body_fails_the_signature(platform, workspace):
    channels = connect_channels(workspace, platform, [SIM_REVIEWS])
    event = Community(2).events_between(START, START + timedelta(hours=12))[0][1]
    delivery = platform.wires["reviews"].webhooks([event])[0]
    request = RequestFactory().post(
        "/hooks/x",
        data=delivery.body.replace(b"}", b" }", 1),
        content_type="application/json",
        headers={k: v for k, v in delivery.headers.items() if k != "Content-Type"},
    )
    with pytest.raises(BadSignature):
        connector_for(channels["reviews"]).verify(request)


def test_benchmark_batches_are_grouped_per_channel_and_signed():
    events = Community(1).events_between(START, START + timedelta(days=1), per_day=500)
    batches = webhook_batches(events, batch_size=25, secrets={"reviews": "s3cret"})
    assert sum(len(__import__("json").loads(body)["events"]) for _, body, _ in batches) == len(
        events
    )
    assert all(
        ("X-Simulator-Signature" in headers) == (key == "reviews") for key, _, headers in batches
    )
