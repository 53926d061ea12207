"""The worker: it survives database outages, coalesces drains and prunes its task rows."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from cercle.connectors.simulator.connector import SIGNATURE_HEADER, sign
from cercle.core import taskqueue
from cercle.pipeline import worker
from cercle.pipeline.tasks import ingest_pending, prune_task_results, wake_ingest
from tests.conftest import sim_body, sim_event

# The task rows of the database backend (test_task_backend covers coalescing on every backend).
database_queue = pytest.mark.skipif(
    taskqueue.backend_kind() != taskqueue.DATABASE, reason="reads the database backend's rows"
)


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff waits are not what these tests measure."""
    monkeypatch.setattr(worker, "DB_RETRY_FIRST", 0.0)
    monkeypatch.setattr(worker, "_drop_connections", lambda: None)


@database_queue
def test_both_task_loops_survive_a_database_outage_and_resume(no_waiting, monkeypatch):
    runs: list[bool] = []  # one entry per run of a loop: heavy (classify) or not

    def db_worker(interval: float, heavy: bool, stop: threading.Event) -> None:
        runs.append(heavy)
        if runs.count(heavy) == 1:
            raise OperationalError("connection to server failed: Connection refused")
        # The resumed loops; returning is how a loop ends when stopped.
        if heavy:
            stop.wait(5)
        else:
            deadline = time.monotonic() + 5
            while runs.count(True) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)

    monkeypatch.setattr(worker, "_run_db_worker", db_worker)
    monkeypatch.setattr(worker, "_scheduler", lambda stop: None)
    monkeypatch.setattr(worker, "_ingest_waker", lambda stop: None)
    assert (worker.run_worker(processes=1), sorted(runs)) == (0, [False, False, True, True])


def test_the_scheduler_survives_a_database_outage_and_resumes(no_waiting, monkeypatch):
    ticks: list[str] = []
    stop = threading.Event()

    def tick(clock: Any) -> None:
        ticks.append("tick")
        if len(ticks) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        stop.set()

    monkeypatch.setattr(worker, "_tick", tick)
    monkeypatch.setattr(worker, "SCHEDULE_EVERY", 0.0)
    worker._scheduler(stop)
    assert ticks == ["tick", "tick"]


def test_a_bug_in_the_task_loop_is_not_mistaken_for_an_outage(no_waiting, monkeypatch):
    def db_worker() -> None:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        worker.run_until_stopped(db_worker, threading.Event(), "task worker")


# --- coalescing and pruning ----------------------------------------------------------


def _webhook(client: Any, channel: Any, event_id: str) -> int:
    body = sim_body(sim_event(event_id))
    response = client.post(
        reverse("pipeline:webhook", kwargs={"channel_uuid": channel.uuid}),
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: sign(body, "s3cret")},
    )
    return response.status_code


def _pending_ingest_tasks() -> int:
    return DBTaskResult.objects.ready().filter(task_path=ingest_pending.module_path).count()


@database_queue
def test_a_hundred_webhooks_queue_no_task_and_one_wake_queues_one_drain(
    client, sim_channel, django_capture_on_commit_callbacks
):
    # The stored RawEvents are the queue: a webhook adds no task row; the waker adds one drain.
    with django_capture_on_commit_callbacks(execute=True):
        statuses = {_webhook(client, sim_channel, f"c{i}") for i in range(100)}
    queued_by_webhooks = _pending_ingest_tasks()
    woken = (wake_ingest(), wake_ingest())
    assert (statuses, queued_by_webhooks, woken, _pending_ingest_tasks()) == (
        {200},
        0,
        (True, False),
        1,
    )


@database_queue
def test_no_drain_is_queued_when_nothing_is_pending(db):
    assert (wake_ingest(), _pending_ingest_tasks()) == (False, 0)


@database_queue
def test_a_running_drain_does_not_stop_a_new_one_being_queued(client, sim_channel):
    # The running drain may have claimed its batch before this webhook's event was stored.
    _webhook(client, sim_channel, "c1")
    wake_ingest()
    DBTaskResult.objects.update(status=TaskResultStatus.RUNNING, started_at=timezone.now())
    _webhook(client, sim_channel, "c2")
    wake_ingest()
    assert _pending_ingest_tasks() == 1


@database_queue
@pytest.mark.django_db(transaction=True)
def test_the_ingest_waker_queues_a_drain_for_a_stored_delivery(client, sim_channel, monkeypatch):
    # SQLite: it looks for pending rows; PostgreSQL: the insert trigger's NOTIFY wakes it.
    monkeypatch.setattr(worker, "INGEST_POLL_EVERY", 0.01)
    stop = threading.Event()
    waker = threading.Thread(target=worker._ingest_waker, args=(stop,))
    waker.start()
    try:
        assert _webhook(client, sim_channel, "w1") == 200
        deadline = time.monotonic() + 20
        while _pending_ingest_tasks() == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        waker.join(10)
    assert (_pending_ingest_tasks(), waker.is_alive()) == (1, False)


def _finished_task(age: timedelta, status: str = TaskResultStatus.SUCCESSFUL) -> DBTaskResult:
    result = ingest_pending.enqueue()
    at = timezone.now() - age
    DBTaskResult.objects.filter(pk=result.id).update(status=status, started_at=at, finished_at=at)
    return DBTaskResult.objects.get(pk=result.id)


@database_queue
def test_old_finished_task_rows_are_pruned_and_recent_ones_kept(db, settings):
    settings.CERCLE_TASK_RESULTS_KEEP_DAYS = 7
    old = [
        _finished_task(timedelta(days=8)),
        _finished_task(timedelta(days=30), TaskResultStatus.FAILED),
    ]
    recent = _finished_task(timedelta(days=1))
    waiting = ingest_pending.enqueue()
    deleted = prune_task_results()
    remaining = {str(pk) for pk in DBTaskResult.objects.values_list("pk", flat=True)}
    assert (deleted, remaining) == (len(old), {str(recent.pk), str(waiting.id)})


@database_queue
def test_the_scheduler_prunes_old_task_rows(db, monkeypatch):
    _finished_task(timedelta(days=365))
    monkeypatch.setattr(worker, "close_old_connections", lambda: None)
    worker._tick(worker._Clock())
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.SUCCESSFUL).exists()
