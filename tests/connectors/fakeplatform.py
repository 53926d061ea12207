"""A platform faked at the HTTP boundary, shared by the connectors' tests.

Each platform's conftest subclasses `FakePlatform` and says what the platform answers to a
route it does not know (`missing`), in the platform's own error shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from cercle.connectors.http import transport

Answer = Callable[[httpx.Request], httpx.Response]
Fake = TypeVar("Fake", bound="FakePlatform")


@dataclass
class FakePlatform:
    """Routes `(method, path)` to answers (a list is served in turn, the last repeats); records every request."""

    routes: dict[tuple[str, str], list[Answer]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.routes[(method, path)] = list(answers)

    def missing(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": f"no route {request.method} {request.url.path}"})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.routes.get((request.method, request.url.path))
        if not queue:
            return self.missing(request)
        respond = queue.pop(0) if len(queue) > 1 else queue[0]
        return respond(request)

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]


@contextmanager
def serving(fake: Fake) -> Iterator[Fake]:
    """Every connector HTTP call inside the block goes to `fake`."""
    with transport(httpx.MockTransport(fake)):
        yield fake
