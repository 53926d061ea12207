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
- the view's checks (`hooks.accept`, as `hooks.webhook` runs them): channel,
  signature, validation, the 503 of a database outage, clear JSON errors;
- Django's request_started / request_finished signals (connections are closed,
  or given back to the pool, as after any request; sent once per batch, see
  below) and its exception handling (an unexpected error is logged and
  answered 500, for that delivery alone).

Group commit: the deliveries that arrive while one batch is being handled
wait in a queue; a writer thread (one per process on SQLite, PG_WRITERS on
PostgreSQL) takes them all (up to MAX_BATCH) and handles them together: one
query reads the active channels of the batch, each delivery is checked as
above (`hooks.accept`: a delivery refused by a check stores nothing and gets
its own error, whatever the others do), then the accepted ones
are stored in one transaction (`do_store_deliveries`: one multi-row INSERT, one
commit) and each is answered 200 only after that commit. A delivery id already
stored, or named twice in one batch, is stored once. If the store fails, the
transaction is rolled back and every delivery of the batch is answered 503
with Retry-After (the platform delivers it again): nothing is half-stored and
nothing acknowledged is lost.

Connections: on SQLite the writer keeps its connection open between batches
(opening one costs its PRAGMAs, closing it a WAL checkpoint); it is closed only
when broken or left in a transaction. On PostgreSQL each batch borrows a pooled
connection and gives it back (request_started / request_finished), as any
request does.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import logging
import queue
import re
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.exception import convert_exception_to_response
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.middleware.common import CommonMiddleware
from django.middleware.security import SecurityMiddleware

from cercle.connectors.models import Channel
from cercle.pipeline import hooks
from cercle.pipeline.actions import do_store_deliveries
from cercle.pipeline.unavailable import database_unavailable_is_503, unavailable

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]

# The most deliveries one transaction stores (the queue is drained up to this many).
MAX_BATCH = 200

# Writer threads on PostgreSQL: while one waits for its commit, another checks the next batch.
PG_WRITERS = 3

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


# The view's checks, answering 503 when the database fails while reading (routing, counting).
_accept = database_unavailable_is_503(hooks.accept)


def _view(request: HttpRequest) -> HttpResponse:
    if getattr(request, "cercle_channels_unread", False):
        return unavailable()  # the batch's channels could not be read
    return _accept(request, getattr(request, "cercle_channel", None))


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
    """After a batch on the SQLite writer thread: keep its connection unless it is unusable.

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


def _encoded(response: HttpResponseBase) -> Answer:
    content = response.content if isinstance(response, HttpResponse) else b""
    headers = [(str(k).encode("latin-1"), str(v).encode("latin-1")) for k, v in response.items()]
    for cookie in response.cookies.values():
        headers.append((b"Set-Cookie", cookie.output(header="").encode("ascii").strip()))
    return response.status_code, headers, content


def _unavailable_instead_of(accepted: HttpResponseBase) -> JsonResponse:
    """The 503 sent instead of an accepted delivery's 200, with the headers the middleware set."""
    response = unavailable()
    for name, value in accepted.items():
        if name.lower() not in {"content-type", "content-length"}:
            response.headers.setdefault(name, value)
    return response


@dataclass
class Pending:
    """A delivery waiting for the writer: its request and where to send the answer."""

    scope: Scope
    body: bytes
    found: uuid.UUID
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Answer]
    context: contextvars.Context = field(default_factory=contextvars.copy_context)


def _resolve(results: list[tuple[asyncio.Future[Answer], Answer]]) -> None:
    for future, answer in results:
        if not future.done():  # the client may have gone away
            future.set_result(answer)


class WebhookApp:
    """An ASGI application for the webhook route alone (see the module's docstring)."""

    def __init__(self) -> None:
        self.handler = _chain()
        self._queue: queue.SimpleQueue[Pending] = queue.SimpleQueue()
        self._writers: list[threading.Thread] = []
        self._writers_lock = threading.Lock()

    def _start_writers(self) -> None:
        with self._writers_lock:
            self._writers = [w for w in self._writers if w.is_alive()]
            if self._writers:
                return
            count = 1 if connections["default"].vendor == "sqlite" else PG_WRITERS
            for n in range(count):
                writer = threading.Thread(
                    target=self._write_forever, name=f"cercle-webhooks-{n}", daemon=True
                )
                writer.start()
                self._writers.append(writer)

    def _write_forever(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self.handle_batch(batch)

    def handle_batch(self, batch: list[Pending]) -> None:
        """Check, store in one transaction and answer each delivery of `batch` (on the writer)."""
        try:
            answers = self._answers(batch)
        except Exception:  # a bug: the writer must go on, and every delivery be answered
            logger.exception("a batch of %d webhook deliveries failed", len(batch))
            answers = [_encoded(_error_500())] * len(batch)
        # One wake-up of each event loop for the whole batch (each costs a syscall and a
        # switch of threads), not one per delivery.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Answer], Answer]]] = {}
        for pending, answer in zip(batch, answers, strict=True):
            by_loop.setdefault(pending.loop, []).append((pending.future, answer))
        for loop, results in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, results)
            except RuntimeError:  # its event loop is closed: nobody waits for these any more
                continue

    def _answers(self, batch: list[Pending]) -> list[Answer]:
        one_writer = connections["default"].vendor == "sqlite"
        if not one_writer:
            signals.request_started.send(sender=self.__class__, scope=batch[0].scope)
        try:
            return [_encoded(response) for response in self._responses(batch)]
        finally:
            if one_writer:
                keep_usable_connections()
            else:
                # Closes this thread's connections (gives them back to the pool).
                signals.request_finished.send(sender=self.__class__)

    def _responses(self, batch: list[Pending]) -> list[HttpResponseBase]:
        channels: dict[uuid.UUID, Channel] | None = None
        try:
            channels = hooks.active_channels({pending.found for pending in batch})
        except (OperationalError, InterfaceError) as exc:
            logger.warning(
                "database unavailable, answered 503 to %d deliveries: %s", len(batch), exc
            )
        responses: list[HttpResponseBase] = []
        for pending in batch:
            request = ASGIRequest(pending.scope, io.BytesIO(pending.body))
            if channels is None:
                request.cercle_channels_unread = True  # type: ignore[attr-defined]
            else:
                request.cercle_channel = channels.get(pending.found)  # type: ignore[attr-defined]
            responses.append(pending.context.run(self.handler, request))
        accepted = [r for r in responses if isinstance(r, hooks.Accepted)]
        if not accepted:
            return responses
        try:
            do_store_deliveries([d for r in accepted for d in r.deliveries])
        except Exception as exc:
            if isinstance(exc, (OperationalError, InterfaceError)):
                logger.warning(
                    "database unavailable, answered 503 to %d deliveries: %s", len(accepted), exc
                )
            else:
                logger.exception(
                    "storing %d webhook deliveries failed, answered 503", len(accepted)
                )
            return [
                _unavailable_instead_of(r) if isinstance(r, hooks.Accepted) else r
                for r in responses
            ]
        return responses

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
        loop = asyncio.get_running_loop()
        pending = Pending(scope, body, found, loop, loop.create_future())
        if not self._writers:
            self._start_writers()
        self._queue.put(pending)
        status, headers, content = await pending.future
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


def _error_500() -> JsonResponse:
    return hooks._error(500, "internal error")


async def _send(send: Send, response: JsonResponse) -> None:
    """An answer given before the view (bad length, too big): with the headers the security
    middleware would have set on it."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if settings.SECURE_REFERRER_POLICY:
        response.headers.setdefault("Referrer-Policy", str(settings.SECURE_REFERRER_POLICY))
    headers = [(str(k).encode("latin-1"), str(v).encode("latin-1")) for k, v in response.items()]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})
