"""The worker's two task loops and its graceful stop.

A reply must never wait behind classification: every worker process runs the
heavy queues (classify) in a loop of their own. SIGTERM lets the task in
flight finish; a long drain ends between two batches.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from cercle.core import shutdown, taskqueue
from cercle.pipeline import worker
from tests.pipeline import worker_tasks

ROOT = Path(__file__).resolve().parents[2]

# These drive django_tasks_db's loops; RQ's are RQ's own (test_task_backend runs on both).
pytestmark = pytest.mark.skipif(
    taskqueue.backend_kind() != taskqueue.DATABASE, reason="the database task backend's loops"
)


def _status(result: Any) -> str:
    return str(DBTaskResult.objects.get(pk=result.id).status)


def _wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def loops() -> Iterator[threading.Event]:
    """The task loops of one worker process, in a thread; stopped and joined at the end."""
    worker_tasks.gate.clear()
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_loops, args=(0.05, stop), daemon=True)
    thread.start()
    yield stop
    worker_tasks.gate.set()
    stop.set()
    thread.join(20)
    assert not thread.is_alive()


@pytest.mark.django_db(transaction=True)
def test_a_send_enqueued_while_a_classify_drain_runs_is_done_at_once(loops):
    held = worker_tasks.hold_classify.enqueue()
    assert _wait_for(lambda: _status(held) == TaskResultStatus.RUNNING)
    sent = worker_tasks.mark_sent.enqueue()
    done = _wait_for(lambda: _status(sent) == TaskResultStatus.SUCCESSFUL, timeout=10)
    assert (done, _status(held)) == (True, TaskResultStatus.RUNNING)


@pytest.mark.django_db(transaction=True)
def test_a_stop_lets_the_task_in_flight_finish_and_takes_no_other(loops):
    held = worker_tasks.hold_classify.enqueue()
    assert _wait_for(lambda: _status(held) == TaskResultStatus.RUNNING)
    loops.set()
    time.sleep(0.3)  # the other loop has stopped by now
    later = worker_tasks.mark_sent.enqueue()
    worker_tasks.gate.set()
    assert _wait_for(lambda: _status(held) == TaskResultStatus.SUCCESSFUL)
    time.sleep(0.3)
    assert _status(later) == TaskResultStatus.READY


def _sqlite_or_postgres_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


@pytest.mark.django_db(transaction=True)
def test_sigterm_to_cercle_worker_lets_the_send_in_flight_finish(tmp_path):
    task = worker_tasks.slow_send.enqueue(2.0)
    env = {
        **os.environ,
        "DATABASE_URL": _sqlite_or_postgres_url(),
        "CERCLE_DATA_DIR": str(tmp_path),
        "CERCLE_DB_POOL_MAX": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cercle", "worker", "--processes", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert _wait_for(lambda: _status(task) == TaskResultStatus.RUNNING, timeout=60)
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = process.stderr.read().decode() if process.stderr else ""
    assert (code, _status(task)) == (0, TaskResultStatus.SUCCESSFUL), stderr


def test_a_classify_drain_ends_between_batches_when_the_worker_stops(monkeypatch):
    from cercle.moderation import tasks

    batches: list[int] = []

    def one_batch() -> int:
        batches.append(1)
        shutdown.stopping.set()
        return 50

    monkeypatch.setattr(tasks, "do_classify_pending", one_batch)
    try:
        labelled = tasks.classify_pending.call()
    finally:
        shutdown.stopping.clear()
    assert (labelled, len(batches)) == (50, 1)
