"""The ingest worker: claim pending RawEvents, parse each once, upsert per channel, mark them."""

from __future__ import annotations

import httpx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cercle.inbox.models import Message
from cercle.pipeline.actions import do_ingest_pending, do_store_raw_events
from cercle.pipeline.choices import RawEventStatus
from cercle.pipeline.models import RawEvent
from cercle.workspaces.models import Activity
from tests.conftest import sim_body, sim_event


def _bodies(prefix: str, count: int) -> list[bytes]:
    """`count` deliveries, each from a new author under a new post."""
    return [
        sim_body(
            sim_event(
                f"{prefix}{i}",
                author={"id": f"{prefix}-u{i}", "name": f"Auteur {i}"},
                post={"id": f"{prefix}-p{i}", "text": "Un post"},
            )
        )
        for i in range(count)
    ]


def _queries_to_ingest(channel, bodies: list[bytes]) -> int:
    do_store_raw_events(channel, bodies)
    with CaptureQueriesContext(connection) as queries:
        report = do_ingest_pending()
    assert report.events == len(bodies)
    return len(queries)


def test_queries_per_batch_do_not_grow_with_its_size(sim_channel):
    small = _queries_to_ingest(sim_channel, _bodies("a", 3))
    large = _queries_to_ingest(sim_channel, _bodies("b", 60))
    assert large == small


def test_follow_ups_into_known_conversations_cost_no_query_per_item(sim_channel):
    first = _queries_to_ingest(sim_channel, _bodies("a", 3))
    again = [
        sim_body(
            sim_event(
                f"f{i}",
                author={"id": f"a-u{i % 3}", "name": "Auteur"},
                post={"id": f"a-p{i % 3}", "text": "Un post"},
            )
        )
        for i in range(30)
    ]
    # Same shape of work (lookups, inserts, one update of the conversations) for 30 follow-ups.
    assert _queries_to_ingest(sim_channel, again) <= first


def test_a_raw_event_that_cannot_be_parsed_fails_alone(sim_channel):
    do_store_raw_events(sim_channel, [b"not json", sim_body(sim_event("c1"))])
    report = do_ingest_pending()
    states = dict(RawEvent.objects.values_list("body", "status"))
    assert (report.failed, Message.objects.count()) == (1, 1)
    assert sorted(states.values()) == [RawEventStatus.DONE, RawEventStatus.FAILED]


def test_a_failed_raw_event_says_why(sim_channel):
    do_store_raw_events(sim_channel, [b'{"events": [{"type": "poke", "id": "x"}]}'])
    do_ingest_pending()
    assert "unknown event type" in RawEvent.objects.get().error


def test_parsing_builds_no_http_client(sim_channel, monkeypatch: pytest.MonkeyPatch):
    # Building an httpx client loads the CA bundle (~0.1 s): never per event, and parse() is pure.
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an HTTP client was built to parse an event")

    monkeypatch.setattr(httpx.Client, "__init__", refuse)
    do_store_raw_events(sim_channel, _bodies("a", 2))
    assert do_ingest_pending().events == 2


def test_events_of_several_channels_land_in_their_own_channel(sim_channel, workspace):
    from cercle.pipeline.actions import do_create_channel

    other = do_create_channel(workspace, "simulator", "Reviews", external_id="reviews-1")
    do_store_raw_events(sim_channel, [sim_body(sim_event("same-id"))])
    do_store_raw_events(other, [sim_body(sim_event("same-id", text="Another platform item"))])
    do_ingest_pending()
    channels = sorted(
        Message.objects.filter(external_id="same-id").values_list("channel_id", flat=True)
    )
    assert channels == sorted([sim_channel.pk, other.pk])


def test_a_drained_queue_reports_nothing(sim_channel):
    do_store_raw_events(sim_channel, _bodies("a", 2))
    do_ingest_pending()
    assert (do_ingest_pending().events, Activity.objects.filter(verb="received").count()) == (0, 2)


def test_the_batch_limit_is_respected(sim_channel):
    do_store_raw_events(sim_channel, _bodies("a", 5))
    assert do_ingest_pending(limit=2).events == 2
    assert RawEvent.objects.filter(status=RawEventStatus.PENDING).count() == 3


def test_an_event_a_stage_chokes_on_fails_alone_and_the_queue_moves_on(sim_channel, monkeypatch):
    from cercle.inbox import stages

    def rules(messages):
        if any(m.text == "BOOM" for m in messages):
            raise RuntimeError("a rule crashed")

    monkeypatch.setattr(stages, "_rules", [rules])
    do_store_raw_events(
        sim_channel, [sim_body(sim_event("c1")), sim_body(sim_event("c2", text="BOOM"))]
    )
    report = do_ingest_pending()
    failed = RawEvent.objects.get(status=RawEventStatus.FAILED)
    assert (report.failed, list(Message.objects.values_list("external_id", flat=True))) == (
        1,
        ["c1"],
    )
    assert "a rule crashed" in failed.error


def test_a_connector_bug_while_parsing_fails_only_that_event(sim_channel, monkeypatch):
    from cercle.connectors.simulator.connector import SimulatorConnector

    real_parse = SimulatorConnector.parse

    def parse(self, raw):
        if b"c2" in raw.body:
            raise AttributeError("'NoneType' object has no attribute 'get'")
        return real_parse(self, raw)

    monkeypatch.setattr(SimulatorConnector, "parse", parse)
    do_store_raw_events(sim_channel, [sim_body(sim_event("c1")), sim_body(sim_event("c2"))])
    assert (do_ingest_pending().failed, Message.objects.count()) == (1, 1)
