"""Live updates: a server-sent-events stream fed from the Activity log.

The browser opens `/live/` with EventSource; each Activity row of the member's
workspace newer than `Last-Event-ID` (or `?after=`) becomes one event whose
data is a small JSON object (verb, conversation, message, channel). The
browser decides what to refresh. On PostgreSQL the stream sleeps until a
NOTIFY of its workspace wakes it (`cercle.core.pglisten`; the Activity trigger
sends one at each commit) and polls only every
`CERCLE_LIVE_LISTEN_FALLBACK_SECONDS`, or every `CERCLE_LIVE_POLL_SECONDS`
while the listening connection is down; on SQLite it polls every
`CERCLE_LIVE_POLL_SECONDS`. The stream ends after `MAX_STREAM_SECONDS` and the
browser reconnects with its last event id, so no event is lost.

Runs under ASGI (uvicorn: an async generator, DB reads in a thread) and under
WSGI (Django's threaded test server: a plain generator) — see `live`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from cercle.core import pglisten
from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member
from cercle.workspaces.models import Activity

HEARTBEAT_SECONDS = 15.0
MAX_STREAM_SECONDS = 300.0
BATCH = 200
# Tells EventSource how long to wait before reconnecting (ms).
RETRY_MS = 2000


def fetch_events(workspace_id: int, after: int, limit: int = BATCH) -> list[dict[str, Any]]:
    """Activities of the workspace with id > `after`, oldest first, as event payloads."""
    rows = (
        Activity.objects.filter(workspace_id=workspace_id, id__gt=after)
        .order_by("id")
        .values("id", "verb", "conversation_id", "message_id", "channel_id", "data")[:limit]
    )
    events = []
    for row in rows:
        data = row["data"] or {}
        events.append(
            {
                "id": row["id"],
                "verb": row["verb"],
                "conversation": row["conversation_id"],
                "message": row["message_id"],
                "channel": row["channel_id"],
                # Only non-text facts; platform text never travels in events.
                "status": data.get("new", "") if isinstance(data, dict) else "",
            }
        )
    return events


def latest_event_id(workspace_id: int) -> int:
    last = (
        Activity.objects.filter(workspace_id=workspace_id)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return last or 0


def format_event(event: dict[str, Any]) -> str:
    """One SSE frame."""
    return f"id: {event['id']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"


def event_stream(
    workspace_id: int,
    after: int,
    *,
    poll_seconds: float | None = None,
    max_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    listen: bool = True,
) -> Iterator[str]:
    """The WSGI stream: frames for new activities, a heartbeat comment every 15 s, ends after max_seconds."""
    poll = poll_seconds if poll_seconds is not None else settings.CERCLE_LIVE_POLL_SECONDS
    max_seconds = max_seconds if max_seconds is not None else _max_seconds()
    heartbeat = _heartbeat_seconds()
    started = last_sent = clock()
    woken = threading.Event()
    listener = pglisten.listener() if listen else None
    unsubscribe = listener.subscribe(str(workspace_id), woken.set) if listener else None
    yield f"retry: {RETRY_MS}\n\n"
    try:
        while clock() - started < max_seconds:
            woken.clear()
            events = fetch_events(workspace_id, after)
            for event in events:
                after = event["id"]
                yield format_event(event)
            now = clock()
            if events:
                last_sent = now
            elif now - last_sent >= heartbeat:
                # Also how a WSGI stream learns that the browser went away: the write fails.
                last_sent = now
                yield ": heartbeat\n\n"
            if len(events) < BATCH:
                if listener is not None and listener.connected.is_set():
                    woken.wait(_fallback_seconds())
                else:
                    sleep(poll)
    finally:
        if unsubscribe is not None:
            unsubscribe()
        _close_connection()


async def async_event_stream(
    workspace_id: int,
    after: int,
    *,
    poll_seconds: float | None = None,
    max_seconds: float | None = None,
) -> AsyncIterator[str]:
    """The ASGI stream: the same frames; DB reads run in a worker thread, waits do not hold one."""
    poll = poll_seconds if poll_seconds is not None else settings.CERCLE_LIVE_POLL_SECONDS
    max_seconds = max_seconds if max_seconds is not None else _max_seconds()
    fetch = sync_to_async(_fetch_and_release, thread_sensitive=False)
    heartbeat = _heartbeat_seconds()
    loop = asyncio.get_running_loop()
    started = last_sent = loop.time()
    # The request's own connection (view, middleware) would be held until the stream ends.
    await sync_to_async(_release_pooled_connection, thread_sensitive=True)()
    woken = asyncio.Event()
    listener = await sync_to_async(pglisten.listener, thread_sensitive=False)()
    unsubscribe = (
        listener.subscribe(str(workspace_id), lambda: loop.call_soon_threadsafe(woken.set))
        if listener
        else None
    )
    yield f"retry: {RETRY_MS}\n\n"
    try:
        while loop.time() - started < max_seconds:
            woken.clear()
            events = await fetch(workspace_id, after)
            for event in events:
                after = event["id"]
                yield format_event(event)
            now = loop.time()
            if events:
                last_sent = now
            elif now - last_sent >= heartbeat:
                last_sent = now
                yield ": heartbeat\n\n"
            if len(events) < BATCH:
                if listener is not None and listener.connected.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(woken.wait(), _fallback_seconds())
                else:
                    await asyncio.sleep(poll)
    finally:
        if unsubscribe is not None:
            unsubscribe()
        await sync_to_async(_close_connection, thread_sensitive=False)()


def _fallback_seconds() -> float:
    """How long a stream woken by NOTIFY waits before it looks anyway (a lost notification)."""
    return float(settings.CERCLE_LIVE_LISTEN_FALLBACK_SECONDS)


def _max_seconds() -> float:
    # Tests shorten streams so the threaded test server does not keep readers around.
    return float(getattr(settings, "CERCLE_LIVE_MAX_SECONDS", MAX_STREAM_SECONDS))


def _heartbeat_seconds() -> float:
    return float(getattr(settings, "CERCLE_LIVE_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS))


def _fetch_and_release(workspace_id: int, after: int) -> list[dict[str, Any]]:
    """One poll of the ASGI stream; a pooled connection goes back to the pool between polls."""
    try:
        return fetch_events(workspace_id, after)
    finally:
        _release_pooled_connection()


def _release_pooled_connection() -> None:
    # With a connection pool (PostgreSQL, see settings.py) a waiting stream must not hold a
    # connection: a few open tabs would take the whole pool and starve webhooks and pages.
    from django.db import connection

    if getattr(connection, "pool", None) is not None and not connection.in_atomic_block:
        connection.close()


def _close_connection() -> None:
    # A long stream must not keep a DB connection (or SQLite read snapshot) open.
    from django.db import close_old_connections

    close_old_connections()


def _start_id(request: HttpRequest, workspace_id: int) -> int:
    for value in (request.headers.get("Last-Event-ID"), request.GET.get("after")):
        try:
            if value is not None and value != "":
                return max(0, int(value))
        except ValueError:
            continue
    # A fresh page only wants what happens from now on.
    return latest_event_id(workspace_id)


@member_required("view")
def live(request: HttpRequest) -> HttpResponse:
    """`/live/`: the SSE stream of the member's workspace (same permission as the inbox)."""
    workspace_id = current_member(request).workspace_id
    after = _start_id(request, workspace_id)
    stream: Iterator[str] | AsyncIterator[str]
    if isinstance(request, ASGIRequest):
        stream = async_event_stream(workspace_id, after)
    else:
        stream = event_stream(workspace_id, after)
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    # Tell reverse proxies (nginx) not to buffer the stream.
    response["X-Accel-Buffering"] = "no"
    return response  # type: ignore[return-value]  # member_required is typed for HttpResponse
