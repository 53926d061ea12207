"""Google Business Profile test helpers: the location's channel, the documented answers, a fake Google."""

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

FIXTURES = (
    Path(__file__).resolve().parents[3] / "cercle" / "connectors" / "google_business" / "fixtures"
)
LOCATION = "accounts/108294756031/locations/4893071155624819245"
REVIEWS = f"/v4/{LOCATION}/reviews"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def answer(name: str, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=fixture(name), headers=headers or {})

    return respond


class FakeGoogle(FakePlatform):
    def missing(self, request: httpx.Request) -> httpx.Response:
        return answer("error_not_found.json", 404)(request)


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with serving(FakeGoogle()) as fake:
        yield fake


@pytest.fixture
def channel(workspace: Workspace) -> Channel:
    return do_create_channel(
        workspace,
        "google_business",
        "Maison Lumen – Lyon",
        external_id=LOCATION,
        config={},
        credentials={
            "client_id": "cid.apps.googleusercontent.com",
            "client_secret": "gsecret",
            "access_token": "ya29.token",
            "refresh_token": "1//refresh",
        },
    )
