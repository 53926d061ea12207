"""On PostgreSQL the live stream is woken by NOTIFY, not by its poll."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from cercle.core import pglisten
from cercle.inbox import live
from cercle.workspaces.models import Activity

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _add_activity(workspace_id: int, verb: str) -> None:
    with transaction.atomic():
        Activity.objects.create(workspace_id=workspace_id, verb=verb)


def test_the_activity_trigger_notifies_the_workspace_at_commit(workspace):
    listener = pglisten.listener()
    assert listener is not None
    woken = threading.Event()
    unsubscribe = listener.subscribe(str(workspace.pk), woken.set)
    try:
        assert listener.connected.wait(10)
        woken.clear()
        with transaction.atomic():
            Activity.objects.create(workspace=workspace, verb="noted")
            before_commit = woken.wait(0.5)
        after_commit = woken.wait(5)
    finally:
        unsubscribe()
    assert (before_commit, after_commit) == (False, True)


def test_a_stream_with_a_long_poll_gets_the_event_at_once(workspace, settings):
    # Neither poll would fire within the test: only the notification can wake the stream.
    settings.CERCLE_LIVE_LISTEN_FALLBACK_SECONDS = 60
    listener = pglisten.listener()
    assert listener is not None
    listener.subscribe("0", lambda: None)  # the process's listener is up before the stream
    assert listener.connected.wait(10)
    mark = Activity.objects.filter(workspace=workspace).order_by("-id").values_list("id", flat=True)
    after = mark.first() or 0

    async def first_event() -> tuple[dict[str, object] | None, float]:
        stream = live.async_event_stream(workspace.pk, after, poll_seconds=60, max_seconds=60)
        started = 0.0
        async for chunk in stream:
            if chunk.startswith("retry:"):
                await asyncio.sleep(0.3)  # the stream is now waiting
                started = time.monotonic()
                threading.Thread(target=_add_activity, args=(workspace.pk, "noted")).start()
            if chunk.startswith("id:"):
                await stream.aclose()
                return json.loads(chunk.split("data: ", 1)[1]), time.monotonic() - started
        return None, 0.0

    with ThreadPoolExecutor(1) as pool:
        event, waited = pool.submit(asyncio.run, first_event()).result(timeout=30)
    connection.close()
    assert event is not None and event["verb"] == "noted"
    assert waited < 10, waited


def test_sqlite_has_no_listener(settings, monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")
    assert pglisten.listener() is None
