"""Website test helpers: the channel, the documented payloads, signed deliveries, the site's callback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.cache import cache
from django.test import Client

from cercle.connectors.http import transport
from cercle.connectors.models import Channel
from cercle.connectors.website.client import sign
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.models import Workspace

FIXTURES = Path(__file__).resolve().parents[3] / "cercle" / "connectors" / "website" / "fixtures"
SITE = "https://www.maisonlumen.example"
SHOP = "https://shop.maisonlumen.example"
CALLBACK = "https://www.maisonlumen.example/cercle/callback"
SECRET = "whsec-lumen-2026"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """Rate-limit counters live in the cache: every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def web_channel(workspace: Workspace) -> Channel:
    return do_create_channel(
        workspace,
        "website",
        "Site Maison Lumen",
        config={"site_url": SITE, "allowed_origins": SHOP, "callback_url": CALLBACK},
        credentials={"webhook_secret": SECRET},
    )


def push(
    client: Client,
    channel: Channel,
    body: bytes,
    *,
    signature: str | None = None,
    at: int | None = None,
) -> Any:
    """A site's signed delivery to the channel's hook."""
    header = sign(body, SECRET, at if at is not None else int(time.time()))
    return client.post(
        f"/hooks/{channel.uuid}",
        data=body,
        content_type="application/json",
        HTTP_X_CERCLE_SIGNATURE=header if signature is None else signature,
    )


@dataclass
class FakeSite:
    """The site's callback endpoint: records what Cercle POSTs, answers in turn."""

    answers: list[httpx.Response] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            return httpx.Response(200, json={})
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) for r in self.requests]


@pytest.fixture
def site() -> Iterator[FakeSite]:
    fake = FakeSite()
    with transport(httpx.MockTransport(fake)):
        yield fake
