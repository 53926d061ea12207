"""YouTube test helpers: the platform faked at the HTTP boundary with recorded-shape payloads."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from cercle.connectors.http import transport
from cercle.connectors.models import Channel
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.models import Workspace

FIXTURES = Path(__file__).resolve().parents[3] / "cercle" / "connectors" / "youtube" / "fixtures"
API = "https://youtube.googleapis.com/youtube/v3"
TOKEN_URL = "https://oauth2.googleapis.com/token"
BRAND = "UCbrandLumen00000000000A"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


Handler = Callable[[httpx.Request], httpx.Response]


class FakeYouTube:
    """Routes (method, path below the API base) to answers and records every request."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Handler | httpx.Response]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, *answers: Handler | httpx.Response | Any) -> None:
        """Queue answers for a route; the last one repeats. A dict/list becomes a 200 JSON answer."""
        queue: list[Handler | httpx.Response] = []
        for answer in answers:
            if isinstance(answer, httpx.Response) or callable(answer):
                queue.append(answer)
            else:
                queue.append(httpx.Response(200, json=answer))
        self.routes[(method, path)] = queue

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url).split("?")[0]
        path = url.removeprefix(API) if url.startswith(API) else url
        queue = self.routes.get((request.method, path))
        if not queue:
            return httpx.Response(404, json={"error": {"code": 404, "message": f"unrouted {path}"}})
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        """Requests made to `path` (below the API base, or an absolute URL)."""
        target = path if path.startswith("http") else API + path
        return [
            r for r in self.requests if r.method == method and str(r.url).split("?")[0] == target
        ]


def query(request: httpx.Request) -> dict[str, str]:
    return {
        k: v[-1] for k, v in parse_qs(request.url.query.decode(), keep_blank_values=True).items()
    }


@pytest.fixture
def fake() -> Iterator[FakeYouTube]:
    platform = FakeYouTube()
    with transport(httpx.MockTransport(platform)):
        yield platform


@pytest.fixture
def yt_channel(workspace: Workspace) -> Channel:
    return do_create_channel(
        workspace,
        "youtube",
        "Maison Lumen YouTube",
        external_id=BRAND,
        config={},
        credentials={
            "client_id": "cid.apps.googleusercontent.com",
            "client_secret": "csecret",
            "access_token": "ya29.current",
            "refresh_token": "1//refresh",
        },
    )


def empty_threads() -> dict[str, Any]:
    return {
        "kind": "youtube#commentThreadListResponse",
        "pageInfo": {"totalResults": 0},
        "items": [],
    }


def spend_units(channel: Channel, used: int, resets_at: Any = None) -> None:
    """Record `used` of the day's 10,000 units as already spent (the channel's `units` window)."""
    from django.utils import timezone

    from cercle.connectors.models import QuotaWindow
    from cercle.connectors.youtube.client import next_quota_reset

    now = timezone.now()
    QuotaWindow.objects.update_or_create(
        channel=channel,
        name="units",
        defaults={
            "limit": 10_000,
            "used": used,
            "started_at": now,
            "resets_at": resets_at or next_quota_reset(now),
        },
    )


def units_used(channel: Channel) -> int:
    from cercle.connectors.models import QuotaWindow

    return QuotaWindow.objects.get(channel=channel, name="units").used
