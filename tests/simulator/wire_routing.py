"""Helpers of the wire tests: route a connector's HTTP calls to a simulator wire, as the fake
platform server would; connect a channel to a wire; deliver its signed webhooks to the real hook."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import httpx
from django.test import Client

from cercle.connectors.http import transport
from cercle.connectors.models import Channel
from cercle.pipeline.actions import do_create_channel, do_ingest_pending
from cercle.simulator.wire.base import FakeRequest, SimEvent, Wire
from cercle.workspaces.models import Workspace


@contextmanager
def routed_to(wire: Wire) -> Iterator[list[httpx.Request]]:
    """Inside the block every PlatformHttp request goes to `wire.handle`; yields the requests seen."""
    prefix = urlsplit(wire.api_base).path.rstrip("/")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert str(request.url).startswith(wire.api_base), request.url
        response = wire.handle(
            FakeRequest(
                method=request.method,
                path=request.url.path[len(prefix) :],
                query=parse_qs(request.url.query.decode()),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=request.content,
            )
        )
        return httpx.Response(response.status, content=response.body, headers=response.headers)

    with transport(httpx.MockTransport(handler)):
        yield seen


def wire_channel(workspace: Workspace, wire: Wire, platform: str, name: str) -> Channel:
    """A channel of `platform` connected the way the wire's setup says."""
    setup = wire.setup()
    return do_create_channel(
        workspace,
        platform,
        name,
        external_id=setup.external_id,
        config=setup.config,
        credentials=setup.credentials,
    )


def deliver(client: Client, channel: Channel, wire: Wire, events: list[SimEvent]) -> list[int]:
    """Post the wire's signed webhooks for `events` to the real hook, ingest; the statuses."""
    statuses = []
    for delivery in wire.webhooks(events):
        headers = {
            "HTTP_" + k.upper().replace("-", "_"): v
            for k, v in delivery.headers.items()
            if k.lower() != "content-type"
        }
        response = client.post(
            f"/hooks/{channel.uuid}", delivery.body, content_type="application/json", **headers
        )
        statuses.append(response.status_code)
    do_ingest_pending()
    return statuses


def deliver_all(client: Client, channel: Channel, wire: Wire, *events: SimEvent) -> None:
    """`deliver`, asserting that the hook accepted every delivery."""
    statuses = deliver(client, channel, wire, list(events))
    assert set(statuses) <= {200}, statuses
