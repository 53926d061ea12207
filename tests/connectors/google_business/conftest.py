"""Google Business Profile test helpers: the location's channel, the documented answers, a fake Google."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from cercle.connectors.http import transport
from cercle.connectors.models import Channel
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.models import Workspace

FIXTURES = (
    Path(__file__).resolve().parents[3] / "cercle" / "connectors" / "google_business" / "fixtures"
)
LOCATION = "accounts/108294756031/locations/4893071155624819245"
REVIEWS = f"/v4/{LOCATION}/reviews"

Answer = Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def answer(name: str, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=fixture(name), headers=headers or {})

    return respond


@dataclass
class FakeGoogle:
    """Routes `(method, path)` to answers (a list is served in turn); records every request."""

    routes: dict[tuple[str, str], list[Answer]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.routes[(method, path)] = list(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.routes.get((request.method, request.url.path))
        if not queue:
            return answer("error_not_found.json", 404)(request)
        respond = queue.pop(0) if len(queue) > 1 else queue[0]
        return respond(request)

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    fake = FakeGoogle()
    with transport(httpx.MockTransport(fake)):
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
