"""The one HTTP client every connector uses: timeouts, egress guard, rate-limit headers.

Tests replace the transport at this boundary (`set_transport_factory`) so no
request ever leaves the machine.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import httpx
from django.conf import settings

from cercle.core.egress import EgressRefused, EgressUnresolvable, check_egress

from .base import TransientError, UnknownResult

__all__ = ["EgressRefused", "PlatformHttp", "set_transport_factory", "transport"]


TransportFactory = Callable[[], httpx.BaseTransport | None]
_transport_factory: TransportFactory = lambda: None  # noqa: E731


def set_transport_factory(factory: TransportFactory) -> None:
    """Install the transport new clients use (tests install an httpx.MockTransport)."""
    global _transport_factory
    _transport_factory = factory


@contextmanager
def transport(t: httpx.BaseTransport) -> Iterator[None]:
    """Use `t` for every PlatformHttp built inside the block."""
    previous = _transport_factory
    set_transport_factory(lambda: t)
    try:
        yield
    finally:
        set_transport_factory(previous)


@cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default TLS context, built once per process.

    Building it loads the CA bundle (~0.1 s); a client is built per webhook
    request and per connector, so sharing it keeps the hook view fast.
    """
    return httpx.create_ssl_context()


class PlatformHttp:
    """A thin wrapper over httpx.Client with the guard and the classification of network errors.

    Network failures become connector errors: a failure before the request was
    sent is a TransientError (safe to retry); a timeout or broken connection
    after it may have been sent is an UnknownResult for writes.
    """

    def __init__(self, timeout: float | None = None) -> None:
        t = _transport_factory()
        self.guarded = t is None  # a test transport never reaches the network
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout or settings.CERCLE_HTTP_TIMEOUT, connect=5.0),
            transport=t,
            verify=_ssl_context(),
            follow_redirects=False,
            headers={"User-Agent": "Cercle/0.1 (+self-hosted community inbox)"},
        )
        self.last_response: httpx.Response | None = None

    def request(
        self, method: str, url: str, *, write: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send one request. `write` (default: not GET) decides whether a timeout is ambiguous."""
        if self.guarded:
            try:
                check_egress(url)
            except EgressUnresolvable as exc:
                raise TransientError(str(exc)) from exc
        is_write = method.upper() not in {"GET", "HEAD"} if write is None else write
        try:
            response = self.client.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise TransientError(f"cannot connect: {exc}") from exc
        except (
            httpx.ReadTimeout,
            httpx.WriteTimeout,
            httpx.RemoteProtocolError,
            httpx.ReadError,
        ) as exc:
            if is_write:
                raise UnknownResult(f"no answer after sending: {exc}") from exc
            raise TransientError(f"no answer: {exc}") from exc
        except httpx.HTTPError as exc:
            raise TransientError(str(exc)) from exc
        self.last_response = response
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def close(self) -> None:
        self.client.close()
