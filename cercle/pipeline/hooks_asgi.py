"""The webhook route's lean ASGI path: the same view, without the pages' middleware.

A webhook needs none of what the pages' middleware does (sessions, locale,
CSRF, authentication, messages, HTMX, the current workspace, two-factor, CSP,
django-axes), and each of those costs time on every delivery: the
acknowledgement is the hot path of ingestion. `cercle.asgi` hands
`POST|GET /hooks/<uuid>` here; every other request goes through Django's full
handler.

What is kept:
- the size limit, checked on Content-Length before reading and while reading
  (a body over CERCLE_MAX_WEBHOOK_BYTES is never read into memory): 413;
- SecurityMiddleware (HTTPS redirect, security headers) and CommonMiddleware
  (the allowed hosts check: a foreign Host is a 400);
- the view itself (`hooks.webhook`): signature, validation, storage, the
  503 of a database outage, clear JSON errors;
- Django's request_started / request_finished signals (connections are closed,
  or given back to the pool, as after any request) and its exception handling
  (an unexpected error is logged and answered 500).

Threads: on SQLite the deliveries of one process are handled on one thread of
their own (SQLite has one writer at a time: no busy waits), which keeps its
connection open between deliveries (opening one costs its PRAGMAs, closing it
a WAL checkpoint: together about as much as the delivery itself); it is closed
only when broken or left in a transaction. On PostgreSQL they run on a small
pool of threads and each request borrows a pooled connection as any other.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import io
import re
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.exception import convert_exception_to_response
from django.db import connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.middleware.common import CommonMiddleware
from django.middleware.security import SecurityMiddleware

from cercle.pipeline import hooks

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

# Threads of the PostgreSQL path (each borrows a pooled connection per delivery).
PG_THREADS = 4

# The same pattern as Django's <uuid:…> converter (lowercase): anything else is Django's 404.
PATH = re.compile(r"^/hooks/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")


def channel_uuid(scope: Scope) -> uuid.UUID | None:
    """The channel of a webhook request, or None when `scope` is not one."""
    if scope.get("type") != "http":
        return None
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", ""))
    if root and path.startswith(root):
        path = path[len(root) :]
    match = PATH.match(path)
    return uuid.UUID(match.group(1)) if match else None


class _TooBig(Exception):
    pass


def _content_length(scope: Scope) -> int | None:
    """The declared length; None when absent; raises ValueError when not a number."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            return int(value)
    return None


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body (None if the client went away); raises _TooBig past `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooBig
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _view(request: HttpRequest) -> HttpResponse:
    found = getattr(request, "cercle_channel_uuid", None)
    assert isinstance(found, uuid.UUID)
    return hooks.webhook(request, channel_uuid=found)


def _chain() -> Callable[[HttpRequest], HttpResponseBase]:
    """The view behind the two middleware it needs, each converting exceptions as Django does."""
    inner = convert_exception_to_response(_view)
    common = convert_exception_to_response(CommonMiddleware(inner))
    chain = convert_exception_to_response(SecurityMiddleware(common))

    def handle(request: HttpRequest) -> HttpResponseBase:
        response = chain(request)
        assert isinstance(response, HttpResponseBase)  # a synchronous chain
        return response

    return handle


def keep_usable_connections() -> None:
    """After a delivery on the SQLite writer thread: keep its connection unless it is unusable.

    Closed when left inside a transaction or out of autocommit (a bug), or broken.
    """
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            continue
        if conn.in_atomic_block or conn.get_autocommit() != conn.settings_dict["AUTOCOMMIT"]:
            conn.close()
        elif conn.errors_occurred:
            if conn.is_usable():
                conn.errors_occurred = False
            else:
                conn.close()


class WebhookApp:
    """An ASGI application for the webhook route alone (see the module's docstring)."""

    def __init__(self) -> None:
        self.handler = _chain()
        self._executor: ThreadPoolExecutor | None = None
        self._one_writer = False

    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._one_writer = connections["default"].vendor == "sqlite"
            self._executor = ThreadPoolExecutor(
                max_workers=1 if self._one_writer else PG_THREADS,
                thread_name_prefix="cercle-webhooks",
            )
        return self._executor

    def _respond(self, scope: Scope, body: bytes, found: uuid.UUID) -> tuple[int, list[Any], bytes]:
        if self._one_writer:
            try:
                return self._handle(scope, body, found)
            finally:
                keep_usable_connections()
        signals.request_started.send(sender=self.__class__, scope=scope)
        try:
            return self._handle(scope, body, found)
        finally:
            # Closes this thread's connections (gives them back to the pool), as after any request.
            signals.request_finished.send(sender=self.__class__)

    def _handle(self, scope: Scope, body: bytes, found: uuid.UUID) -> tuple[int, list[Any], bytes]:
        request = ASGIRequest(scope, io.BytesIO(body))
        request.cercle_channel_uuid = found  # type: ignore[attr-defined]
        response = self.handler(request)
        content = response.content if isinstance(response, HttpResponse) else b""
        headers = [
            (str(k).encode("latin-1"), str(v).encode("latin-1")) for k, v in response.items()
        ]
        for cookie in response.cookies.values():
            headers.append((b"Set-Cookie", cookie.output(header="").encode("ascii").strip()))
        return response.status_code, headers, content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = channel_uuid(scope)
        assert found is not None, "WebhookApp serves /hooks/<uuid> only"
        limit = int(settings.CERCLE_MAX_WEBHOOK_BYTES)
        try:
            declared = _content_length(scope)
        except ValueError:
            await _send(send, hooks._error(400, "bad Content-Length"))
            return
        if declared is not None and declared > limit:
            await _send(send, hooks._error(413, "payload too large"))
            return
        try:
            body = await _read_body(receive, limit)
        except _TooBig:
            await _send(send, hooks._error(413, "payload too large"))
            return
        if body is None:
            return
        executor = self.executor()
        call = functools.partial(contextvars.copy_context().run, self._respond, scope, body, found)
        status, headers, content = await asyncio.get_running_loop().run_in_executor(executor, call)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


async def _send(send: Send, response: JsonResponse) -> None:
    """An answer given before the view (bad length, too big): with the headers the security
    middleware would have set on it."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if settings.SECURE_REFERRER_POLICY:
        response.headers.setdefault("Referrer-Policy", str(settings.SECURE_REFERRER_POLICY))
    headers = [(str(k).encode("latin-1"), str(v).encode("latin-1")) for k, v in response.items()]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})
