"""Tasks the worker tests enqueue (importable by path, as the worker needs)."""

from __future__ import annotations

import threading
import time

from django_tasks import task

# Released by the test that holds the classify loop busy.
gate = threading.Event()


@task(queue_name="classify")
def hold_classify() -> str:
    """A classify drain that runs until the test releases it (at most 30 s)."""
    gate.wait(30)
    return "classified"


@task(queue_name="outbox")
def mark_sent() -> str:
    return "sent"


@task(queue_name="outbox")
def slow_send(seconds: float) -> str:
    """A send that takes `seconds`: long enough to be caught by a SIGTERM."""
    time.sleep(seconds)
    return "sent"


@task(queue_name="classify")
def classify_in_flight_seen_from_inside() -> bool:
    """Run on the classify queue: whether the scheduler sees a classify drain running."""
    from django.utils import timezone

    from cercle.pipeline.worker import _classify_in_flight

    return _classify_in_flight(timezone.now())
