"""Instagram test helpers: a channel, the recorded payloads, and a fake Graph API at the HTTP boundary."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from cercle.connectors.base import RawEventData
from cercle.connectors.http import transport
from cercle.connectors.instagram.connector import sign
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Message
from cercle.pipeline.actions import do_create_channel

FIXTURES = Path(__file__).resolve().parents[3] / "cercle" / "connectors" / "instagram" / "fixtures"
IG = "17841405793187218"
APP_SECRET = "ig-app-secret"
TOKEN = "EAAGpagetoken"
API = "https://graph.test"
V = "/v21.0"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


@pytest.fixture
def ig_channel(workspace: Any) -> Channel:
    return do_create_channel(
        workspace,
        "instagram",
        "Maison Lumen (Instagram)",
        external_id=IG,
        config={"api_base": API},
        credentials={"app_id": "1234567890", "app_secret": APP_SECRET, "access_token": TOKEN},
    )


def receive_fixture(channel: Channel, name: str) -> list[Message]:
    """Parse a recorded webhook with the real connector and store it through the real action."""
    items = connector_for(channel).parse(RawEventData(body=fixture_bytes(name)))
    return do_receive(channel, items).created


def signed_headers(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {"HTTP_X_HUB_SIGNATURE_256": sign(body, secret)}


Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeGraph:
    """Routes (method, path) to handlers and records every request it sees."""

    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(
        self,
        method: str,
        path: str,
        handler: Handler | Any,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        if not callable(handler):
            payload = handler
            handler = lambda request: httpx.Response(status, json=payload, headers=headers or {})  # noqa: E731
        self.routes[(method, V + path)] = handler

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return httpx.Response(404, json={"error": {"message": "no route", "code": 803}})
        return handler(request)

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == V + path]


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    with transport(httpx.MockTransport(fake)):
        yield fake
