"""Faults 3 and 5: a worker dying between the acknowledgement and the processing, and a poller
dying in the middle of a page. Both end with nothing lost and nothing stored twice.

The death is a `SystemExit` raised after the real upsert wrote its rows and before the
transaction commits (what a killed process leaves: an open transaction the database rolls
back). `SystemExit` is not an `Exception`, so no handler of the drain or the poller can
catch it and carry on: it behaves like the end of the process.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cercle.connectors.base import Page
from cercle.connectors.simulator.connector import SIGNATURE_HEADER, SimulatorConnector, sign
from cercle.inbox import receive
from cercle.inbox.models import Message
from cercle.pipeline import actions as pipeline_actions
from cercle.pipeline.actions import do_ingest_pending
from cercle.pipeline.models import RawEvent
from cercle.pipeline.poller import poll_channel
from cercle.pipeline.sender import send_due
from tests.conftest import sim_body, sim_event


def _dies_after_writing(monkeypatch: pytest.MonkeyPatch, when: Any) -> list[int]:
    """Make the upsert write its rows, then kill the process when `when(entries)` says so."""
    real = receive.receive_items
    deaths: list[int] = []

    def receive_then_die(channel: Any, entries: Any) -> Any:
        result = real(channel, entries)
        if when(entries) and not deaths:
            deaths.append(Message.objects.filter(channel=channel).count())
            raise SystemExit("worker killed")
        return result

    monkeypatch.setattr(pipeline_actions, "receive_items", receive_then_die)
    return deaths


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_between_the_acknowledgement_and_the_processing_loses_nothing(
    sim_channel, monkeypatch
):
    body = sim_body(sim_event("c1"), sim_event("c2", text="Et la facture ?"))
    response = Client().post(
        reverse("pipeline:webhook", args=[sim_channel.uuid]),
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: sign(body, "s3cret")},
    )
    # Acknowledged: the delivery is stored (committed) before the 200, not yet processed.
    assert response.status_code == 200
    assert RawEvent.objects.get().status == "pending"
    assert not Message.objects.exists()

    deaths = _dies_after_writing(monkeypatch, lambda entries: True)
    with pytest.raises(SystemExit):
        do_ingest_pending()
    # It had written both messages when it died; the database rolled them back with the claim.
    assert deaths == [2]
    assert (Message.objects.count(), RawEvent.objects.get().status) == (0, "pending")

    monkeypatch.undo()
    report = do_ingest_pending()  # the next worker
    assert report.events == 1
    do_ingest_pending()  # and once more: nothing left, nothing doubled
    assert sorted(Message.objects.values_list("external_id", flat=True)) == ["c1", "c2"]
    assert RawEvent.objects.get().status == "done"
    assert send_due() == 0  # nothing was queued for a platform


@pytest.mark.django_db(transaction=True)
def test_a_poller_killed_in_the_middle_of_a_page_resumes_from_the_last_stored_cursor(
    sim_channel, monkeypatch
):
    pages = {
        "": Page(
            items=[_item("p1-a"), _item("p1-b")], cursor="after-page-1", raw=b"1", has_more=True
        ),
        "after-page-1": Page(
            items=[_item("p2-a"), _item("p2-b")], cursor="after-page-2", raw=b"2", has_more=False
        ),
        "after-page-2": Page(items=[], cursor="after-page-2", raw=b"", has_more=False),
    }
    asked: list[str] = []

    def poll(self: Any, cursor: str | None) -> Page:
        asked.append(cursor or "")
        return pages[cursor or ""]

    monkeypatch.setattr(SimulatorConnector, "poll", poll)
    second_page = {"p2-a", "p2-b"}
    deaths = _dies_after_writing(
        monkeypatch, lambda entries: {i.external_id for i, _ in entries} == second_page
    )
    with pytest.raises(SystemExit):
        poll_channel(sim_channel)
    assert deaths == [4]  # page 2 was written when it died …
    sim_channel.refresh_from_db()
    # … and rolled back with its cursor: page 1 and its cursor stand, page 2 is not half-stored.
    assert sim_channel.cursor == "after-page-1"
    assert sorted(Message.objects.values_list("external_id", flat=True)) == ["p1-a", "p1-b"]

    monkeypatch.setattr(pipeline_actions, "receive_items", receive.receive_items)
    poll_channel(sim_channel)  # the next run asks again from the stored cursor
    sim_channel.refresh_from_db()
    assert asked == ["", "after-page-1", "after-page-1"]
    assert sim_channel.cursor == "after-page-2"
    assert sorted(Message.objects.values_list("external_id", flat=True)) == [
        "p1-a",
        "p1-b",
        "p2-a",
        "p2-b",
    ]
    assert RawEvent.objects.filter(channel=sim_channel, source="poll").count() == 2


def _item(external_id: str) -> Any:
    from cercle.connectors.base import Author, Incoming

    return Incoming(
        external_id=external_id,
        kind="comment",
        author=Author(external_id="u1", name="Camille", handle="camille"),
        text=f"message {external_id}",
    )
