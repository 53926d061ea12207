"""The worker process: django-tasks' database worker plus a small periodic scheduler.

The scheduler only enqueues drains when there is work (pending raw events, due
outbox rows, channels to poll, snoozes ending), so idle workers stay quiet.
Several worker processes (and machines, on PostgreSQL) share the queue.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from datetime import datetime, timedelta

from django.core.management import call_command
from django.db import close_old_connections
from django.db.models import Q
from django.utils import timezone

logger = logging.getLogger(__name__)

SCHEDULE_EVERY = 1.0  # seconds
POLL_EVERY = 30.0
CLASSIFY_STALE = timedelta(minutes=10)


def schedule_once(last_poll: float) -> float:
    """Enqueue the drains that have work; returns the time of the last poll enqueue."""
    from cercle.inbox.choices import OutboxState, Status
    from cercle.inbox.models import Conversation, Outbox
    from cercle.inbox.tasks import wake_snoozed
    from cercle.moderation.actions import pending_messages
    from cercle.moderation.tasks import classify_pending
    from cercle.pipeline.choices import RawEventStatus
    from cercle.pipeline.models import RawEvent
    from cercle.pipeline.tasks import (
        ingest_pending,
        poll_channels,
        refresh_credentials,
        send_outbox,
    )

    close_old_connections()
    now = timezone.now()
    if RawEvent.objects.filter(status=RawEventStatus.PENDING).exists():
        ingest_pending.enqueue()
    due = Outbox.objects.filter(state__in=[OutboxState.QUEUED, OutboxState.UNKNOWN]).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    if due.exists():
        send_outbox.enqueue()
    if pending_messages(limit=1) and not _classify_in_flight(now):
        classify_pending.enqueue()
    if time.monotonic() - last_poll >= POLL_EVERY:
        poll_channels.enqueue()
        # A pass with nothing due makes no network call.
        refresh_credentials.enqueue()
        if Conversation.objects.filter(status=Status.SNOOZED, snoozed_until__lte=now).exists():
            wake_snoozed.enqueue()
        last_poll = time.monotonic()
    return last_poll


def _classify_in_flight(now: datetime) -> bool:
    """Whether a classify drain is queued or running (one at a time: two would label the same
    newest batch twice, since the models run outside any lock). A run older than
    CLASSIFY_STALE is presumed dead with its worker."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return (
        DBTaskResult.objects.filter(queue_name="classify")
        .filter(
            Q(status=TaskResultStatus.READY)
            | Q(status=TaskResultStatus.RUNNING, started_at__gte=now - CLASSIFY_STALE)
        )
        .exists()
    )


def _scheduler(stop: threading.Event) -> None:
    last_poll = 0.0
    while not stop.is_set():
        try:
            last_poll = schedule_once(last_poll)
        except Exception:
            logger.exception("scheduler tick failed")
        stop.wait(SCHEDULE_EVERY * 5)


def _run_db_worker(interval: float) -> None:
    call_command("db_worker", queue_name="*", interval=interval, reload=False, verbosity=0)


def _child(interval: float) -> None:
    import django

    django.setup()
    _run_db_worker(interval)


def run_worker(processes: int = 1, interval: float = 0.2) -> int:
    stop = threading.Event()
    scheduler = threading.Thread(
        target=_scheduler, args=(stop,), daemon=True, name="cercle-scheduler"
    )
    scheduler.start()
    children = [
        multiprocessing.Process(target=_child, args=(interval,), daemon=True)
        for _ in range(processes - 1)
    ]
    for child in children:
        child.start()

    def _terminate(signum: int, frame: object) -> None:
        stop.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        _run_db_worker(interval)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        for child in children:
            child.terminate()
    return 0
