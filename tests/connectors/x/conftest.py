"""X test helpers: the channel, fixture payloads, and a fake X API at the HTTP boundary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cercle.connectors.models import Channel
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.models import Workspace
from tests.connectors.fakeplatform import Answer, FakePlatform, serving

FIXTURES = Path(__file__).resolve().parents[3] / "cercle" / "connectors" / "x" / "fixtures"
BRAND_ID = "1072250532645998596"
CAMILLE_ID = "750362064426721281"
SAM_ID = "145336962"
POST_ID = "1858000000000000000"
CONSUMER_SECRET = "consumer_secret_abc"
API = "https://api.x.com"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


@pytest.fixture
def x_channel(workspace: Workspace) -> Channel:
    return do_create_channel(
        workspace,
        "x",
        "@MaisonLumen",
        external_id=BRAND_ID,
        credentials={
            "consumer_secret": CONSUMER_SECRET,
            "client_id": "client-id",
            "client_secret": "client-secret",
            "access_token": "access-1",
            "refresh_token": "refresh-1",
            # Far from expiry: no refresh unless a test asks for one.
            "expires_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
        },
    )


class FakeX(FakePlatform):
    def missing(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            404, json={"title": "Not Found Error", "detail": f"no route {request.url.path}"}
        )


def answer(name: str, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    """A handler returning a fixture file as X would."""
    body = fixture_bytes(name)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, content=body, headers={"content-type": "application/json", **(headers or {})}
        )

    return handler


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    with serving(FakeX()) as fake:
        yield fake
