"""Facebook test helpers: the channel, the recorded payloads, a fake Graph API at the HTTP boundary."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from cercle.connectors.facebook.connector import sign
from cercle.connectors.http import transport
from cercle.connectors.models import Channel
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.models import Workspace

FIXTURES = Path(__file__).resolve().parents[3] / "cercle" / "connectors" / "facebook" / "fixtures"
PAGE_ID = "1234567890321"
APP_SECRET = "fb-app-secret"
PAGE_TOKEN = "EAAPageToken"
GRAPH = "https://graph.facebook.com/v21.0"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeGraph:
    """Routes `(method, path below /v21.0)` to answers; records every request it sees."""

    routes: dict[tuple[str, str], Handler | httpx.Response | list[httpx.Response]] = field(
        default_factory=dict
    )
    requests: list[httpx.Request] = field(default_factory=list)

    def on(
        self,
        method: str,
        path: str,
        answer: Handler | httpx.Response | list[httpx.Response] | dict[str, Any],
    ) -> None:
        if isinstance(answer, dict):
            answer = httpx.Response(200, json=answer)
        self.routes[(method, path)] = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/v21.0")
        answer = self.routes.get((request.method, path))
        if answer is None:
            return httpx.Response(
                404, json={"error": {"message": f"no route {request.method} {path}", "code": 803}}
            )
        if isinstance(answer, list):
            return answer.pop(0) if len(answer) > 1 else answer[0]
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == "/v21.0" + path]


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    with transport(httpx.MockTransport(fake)):
        yield fake


@pytest.fixture
def fb_channel(workspace: Workspace) -> Channel:
    return do_create_channel(
        workspace,
        "facebook",
        "Maison Lumen",
        external_id=PAGE_ID,
        credentials={"app_id": "4242", "app_secret": APP_SECRET, "page_access_token": PAGE_TOKEN},
    )


def signed_headers(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {"HTTP_X_HUB_SIGNATURE_256": sign(body, secret)}


def graph_error(
    name: str, status: int = 400, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, json=fixture_json(name), headers=headers or {})
