"""The live stream: Activity rows become SSE frames for the member's workspace only."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

from django.test import RequestFactory
from django.urls import reverse

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox import live
from cercle.inbox.actions import do_receive
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.actions import do_create_workspace
from cercle.workspaces.models import Activity
from tests.conftest import sim_body, sim_event


def receive(channel, *events):
    return do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(*events))))


def frames(stream, count):
    """The first `count` data frames of a stream (the retry line and heartbeats skipped)."""
    out = []
    for chunk in stream:
        if chunk.startswith("id:"):
            out.append(json.loads(chunk.split("data: ", 1)[1]))
            if len(out) == count:
                break
    return out


def test_stream_yields_a_received_event_after_do_receive(workspace, sim_channel):
    after = live.latest_event_id(workspace.pk)
    receive(sim_channel, sim_event("c1"))
    stream = live.event_stream(workspace.pk, after, poll_seconds=0, max_seconds=60)
    (event,) = frames(stream, 1)
    assert event["verb"] == "received" and event["conversation"] is not None


def test_stream_starts_after_the_given_id(workspace, sim_channel):
    receive(sim_channel, sim_event("c1"))
    after = live.latest_event_id(workspace.pk)
    receive(sim_channel, sim_event("c2", author={"id": "u2"}))
    events = frames(live.event_stream(workspace.pk, after, poll_seconds=0, max_seconds=60), 1)
    assert events[0]["id"] > after


def test_stream_is_scoped_to_the_workspace(workspace, sim_channel):
    other = do_create_workspace("Other")
    other_channel = do_create_channel(other, "simulator", "Other", external_id="o")
    receive(other_channel, sim_event("o1"))
    assert live.fetch_events(workspace.pk, 0) and all(
        e["channel"] != other_channel.pk for e in live.fetch_events(workspace.pk, 0)
    )


def test_stream_ends_and_sends_heartbeats(db):
    ticks = iter(range(0, 1000, 10))
    stream = live.event_stream(
        0,
        0,
        poll_seconds=0,
        max_seconds=40,
        clock=lambda: float(next(ticks)),
        sleep=lambda s: None,
        listen=False,
    )
    chunks = list(stream)
    assert chunks[0].startswith("retry:") and ": heartbeat\n\n" in chunks


def test_frames_carry_no_platform_text(workspace, sim_channel):
    receive(sim_channel, sim_event("c1", text="secret words"))
    assert "secret words" not in "".join(
        live.format_event(e) for e in live.fetch_events(workspace.pk, 0)
    )


def test_async_stream_yields_the_same_events(workspace, sim_channel, transactional_db):
    mark = Activity.objects.filter(workspace=workspace).latest("id").pk
    receive(sim_channel, sim_event("c1"))

    async def first_event():
        stream = live.async_event_stream(workspace.pk, mark, poll_seconds=0, max_seconds=60)
        async for chunk in stream:
            if chunk.startswith("id:"):
                await stream.aclose()
                return json.loads(chunk.split("data: ", 1)[1])
        return None

    # In its own thread: Playwright's sync API may hold an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        event = pool.submit(asyncio.run, first_event()).result(timeout=30)
    assert event is not None and event["verb"] == "received"


def test_live_view_needs_login(client, db):
    assert client.get(reverse("inbox:live")).status_code == 302


def test_live_view_streams_event_stream(client, owner, sim_channel, settings):
    settings.CERCLE_LIVE_MAX_SECONDS = 0
    client.login(username="lea", password="correct horse battery")
    response = client.get(reverse("inbox:live"), {"after": 0})
    assert response["Content-Type"] == "text/event-stream" and response.streaming


def test_last_event_id_wins_over_after(owner):
    request = RequestFactory().get("/live/?after=5", HTTP_LAST_EVENT_ID="9")
    assert live._start_id(request, owner.workspace_id) == 9
