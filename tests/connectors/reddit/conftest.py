"""Reddit test helpers: the account's channel, the answers recorded by PRAW, a fake Reddit at the HTTP boundary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cercle.connectors.models import Channel
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.models import Workspace
from tests.connectors.fakeplatform import Answer, FakePlatform, serving

FIXTURES = Path(__file__).resolve().parents[3] / "cercle" / "connectors" / "reddit" / "fixtures"
API = "https://oauth.reddit.com"
USERNAME = "lumen_team"
CLIENT_ID = "p-jcoLKBynTLew"


def record(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def answer(name: str, status: int | None = None, headers: dict[str, str] | None = None) -> Answer:
    """The recorded answer `name` (status, rate-limit headers, body), headers overridable."""
    recorded = record(name)

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status or recorded["status"],
            json=recorded["body"],
            headers={**recorded["headers"], **{k.lower(): v for k, v in (headers or {}).items()}},
        )

    return respond


class FakeReddit(FakePlatform):
    def missing(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"message": "Not Found", "error": 404})


@pytest.fixture
def reddit() -> Iterator[FakeReddit]:
    with serving(FakeReddit()) as fake:
        yield fake


def reddit_channel(workspace: Workspace, **config: Any) -> Channel:
    return do_create_channel(
        workspace,
        "reddit",
        f"u/{USERNAME}",
        external_id=USERNAME,
        config={"api_base": API, **config},
        credentials={
            "client_id": CLIENT_ID,
            "client_secret": "app-secret",
            "access_token": "tok-1",
            "refresh_token": "refresh-1",
            "username": USERNAME,
        },
    )


@pytest.fixture
def channel(workspace: Workspace) -> Channel:
    return reddit_channel(workspace)
