"""Mastodon test helpers: the account's channel, the recorded answers, a fake instance at the HTTP boundary."""

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

FIXTURES = Path(__file__).resolve().parents[3] / "cercle" / "connectors" / "mastodon" / "fixtures"
# The recordings were made against a local instance (Mastodon.py's test setup).
INSTANCE = "http://localhost:3000"
TOKEN = "__MASTODON_PY_TEST_ACCESS_TOKEN"
# mastodonpy_test: the account whose notifications the recordings read.
BRAND_ID = "117440810532227399"


def record(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def answer(name: str, status: int | None = None, headers: dict[str, str] | None = None) -> Answer:
    """The recorded answer `name` (its status, its headers, its body), headers overridable."""
    recorded = record(name)

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status or recorded["status"],
            json=recorded["body"],
            headers={**recorded["headers"], **{k.lower(): v for k, v in (headers or {}).items()}},
        )

    return respond


class FakeInstance(FakePlatform):
    def missing(self, request: httpx.Request) -> httpx.Response:
        return answer("status_missing.json")(request)


@pytest.fixture
def instance() -> Iterator[FakeInstance]:
    with serving(FakeInstance()) as fake:
        yield fake


def mastodon_channel(workspace: Workspace, *, api_base: str = INSTANCE, **config: Any) -> Channel:
    return do_create_channel(
        workspace,
        "mastodon",
        "@mastodonpy_test",
        external_id=f"{api_base}/@mastodonpy_test",
        config={"api_base": api_base, "account_id": BRAND_ID, **config},
        credentials={"access_token": TOKEN},
    )


@pytest.fixture
def channel(workspace: Workspace) -> Channel:
    return mastodon_channel(workspace)
