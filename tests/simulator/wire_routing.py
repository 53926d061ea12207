"""Route a connector's HTTP calls to a simulator wire, as the fake platform server would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import httpx

from cercle.connectors.http import transport
from cercle.simulator.wire.base import FakeRequest, Wire


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
