"""The worker process: django-tasks' database worker plus a small periodic scheduler.

The scheduler only enqueues drains when there is work (pending raw events, due
outbox rows, channels to poll, snoozes ending), so idle workers stay quiet.
Several worker processes (and machines, on PostgreSQL) share the queue.

Every tick (`SCHEDULE_EVERY`) the scheduler also recovers outbox rows left
SENDING by a worker that died (see `sender.recover_stale_sending`); every
`PRUNE_EVERY` it deletes old finished task rows (`tasks.prune_task_results`).

The database may go away (a restart, a failover, a network cut). Neither the
task loop nor the scheduler exits then: each drops its broken connection,
waits (`DB_RETRY_FIRST` doubling up to `DB_RETRY_MAX` seconds) and resumes.
Nothing is lost: a drain's work is committed in its own transactions, so what
an outage interrupted is still pending and is drained again.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.core.management import call_command
from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django.db.models import Q
from django.utils import timezone

logger = logging.getLogger(__name__)

SCHEDULE_EVERY = 5.0  # seconds between scheduler ticks
# How far ahead of a due time the scheduler wakes the SLA escalation (the longest warning lead).
SLA_LOOKAHEAD = timedelta(hours=2)
POLL_EVERY = 30.0
# A classify drain running for longer than this is presumed dead with its worker.
CLASSIFY_STALE = timedelta(minutes=10)
PRUNE_EVERY = 3600.0
# Waits after a database error: the first, doubling up to the cap.
DB_RETRY_FIRST = 1.0
DB_RETRY_MAX = 30.0
# The errors of a database that is down or unreachable (not of a bad query).
DB_DOWN = (OperationalError, InterfaceError)


# Drains of the apps above the pipeline (the insights rollups): (has work?, task), registered
# from their apps.py and enqueued with the slower jobs when they have work.
_DRAINS: list[tuple[Callable[[], bool], Any]] = []


def register_drain(has_work: Callable[[], bool], drain: Any) -> None:
    if all(task is not drain for _check, task in _DRAINS):
        _DRAINS.append((has_work, drain))


class _Clock:
    """When the scheduler last enqueued its slower jobs (monotonic seconds)."""

    def __init__(self) -> None:
        self.last_poll = -POLL_EVERY
        self.last_prune = -PRUNE_EVERY


def schedule_once(last_poll: float) -> float:
    """Enqueue the drains that have work; returns the time of the last poll enqueue."""
    from cercle.inbox.choices import BULK_ACTIVE_STATES, OutboxState, Status
    from cercle.inbox.models import BulkJob, Conversation, Outbox
    from cercle.inbox.tasks import run_bulk_jobs, wake_snoozed
    from cercle.listening.tasks import poll_searches, searches_due
    from cercle.moderation.actions import pending_messages, workspaces_to_train
    from cercle.moderation.tasks import classify_pending, train_heads, watch_crises
    from cercle.notifications.tasks import send_daily_digests
    from cercle.pipeline.choices import RawEventStatus
    from cercle.pipeline.models import RawEvent
    from cercle.pipeline.sender import recover_stale_sending
    from cercle.pipeline.tasks import (
        enqueue_once,
        ingest_pending,
        poll_channels,
        refresh_credentials,
        send_outbox,
    )
    from cercle.workflow.queries import hand_out_due
    from cercle.workflow.tasks import escalate_due, hand_out

    close_old_connections()
    now = timezone.now()
    if RawEvent.objects.filter(status=RawEventStatus.PENDING).exists():
        enqueue_once(ingest_pending)
    # A crashed worker's SENDING rows become due (UNKNOWN) here, with no other reply needed.
    recover_stale_sending(now)
    due = Outbox.objects.filter(state__in=[OutboxState.QUEUED, OutboxState.UNKNOWN]).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    if due.exists():
        enqueue_once(send_outbox)
    # Bulk jobs are enqueued when started; this picks up those a dead worker left behind.
    if BulkJob.objects.filter(state__in=BULK_ACTIVE_STATES).exists():
        enqueue_once(run_bulk_jobs)
    if pending_messages(limit=1) and not _classify_in_flight(now):
        enqueue_once(classify_pending)
    # Routing: a backlog someone now has room for, or an "off" member's grace period over.
    if hand_out_due(now):
        enqueue_once(hand_out)
    if time.monotonic() - last_poll >= POLL_EVERY:
        enqueue_once(poll_channels)
        # A pass with nothing due makes no network call.
        enqueue_once(refresh_credentials)
        if Conversation.objects.filter(status=Status.SNOOZED, snoozed_until__lte=now).exists():
            enqueue_once(wake_snoozed)
        # SLA warnings and escalations: only when a waiting conversation is due within the lead.
        if Conversation.objects.filter(
            waiting_since__isnull=False,
            sla_due_at__lte=now + SLA_LOOKAHEAD,
            status__in=[Status.NEW, Status.OPEN, Status.PENDING],
        ).exists():
            enqueue_once(escalate_due)
        # Count new messages into the quarter-hour pulses and check them for a crisis.
        enqueue_once(watch_crises)
        # The team corrected labels: train that workspace's heads again.
        if workspaces_to_train():
            enqueue_once(train_heads)
        # Daily digests whose morning has come (each sent once per member and day).
        enqueue_once(send_daily_digests)
        # Listening: only when a search is due (platform searches are rate-limited).
        if searches_due():
            enqueue_once(poll_searches)
        _schedule_registered()
        last_poll = time.monotonic()
    _schedule_notifications()
    return last_poll


def _schedule_registered() -> None:
    """The drains registered by the apps above the pipeline, when they have work."""
    from cercle.pipeline.tasks import enqueue_once

    for has_work, drain in _DRAINS:
        if has_work():
            enqueue_once(drain)


def _schedule_notifications() -> None:
    """Notifications, webhook deliveries and mails: enqueued when there is work."""
    from cercle.notifications.actions import has_work
    from cercle.notifications.mail import has_pending_mail
    from cercle.notifications.tasks import (
        drain_activity_log,
        send_notification_mail,
        send_webhooks,
    )
    from cercle.notifications.webhooks import has_due
    from cercle.pipeline.tasks import enqueue_once

    if has_work():
        enqueue_once(drain_activity_log)
    if has_due():
        enqueue_once(send_webhooks)
    if has_pending_mail():
        enqueue_once(send_notification_mail)


def _classify_in_flight(now: datetime) -> bool:
    """Whether a classify drain is running (one at a time: two would label the same newest
    batch twice, since the models run outside any lock; `enqueue_once` covers the waiting one)."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        queue_name="classify",
        status=TaskResultStatus.RUNNING,
        started_at__gte=now - CLASSIFY_STALE,
    ).exists()


def _tick(clock: _Clock) -> None:
    """One scheduler tick: drains with work, then (hourly) pruning of old task rows."""
    from cercle.pipeline.tasks import prune_task_results

    clock.last_poll = schedule_once(clock.last_poll)
    if time.monotonic() - clock.last_prune >= PRUNE_EVERY:
        prune_task_results()
        # Messages past a workspace's retention are deleted in batches (cercle.privacy).
        from cercle.pipeline.tasks import enqueue_once
        from cercle.privacy.tasks import purge_expired_messages, retention_configured

        if retention_configured():
            enqueue_once(purge_expired_messages)
        clock.last_prune = time.monotonic()


def _drop_connections() -> None:
    """Close this thread's database connections: a broken one must not be reused."""
    for conn in connections.all(initialized_only=True):
        try:
            conn.close()
        except Exception:  # closing a dead connection may raise; it is gone either way
            logger.debug("closing a broken connection failed", exc_info=True)


class _Backoff:
    """Waits after consecutive database errors: DB_RETRY_FIRST, doubling up to DB_RETRY_MAX."""

    def __init__(self) -> None:
        self.next = DB_RETRY_FIRST

    def failed(self) -> float:
        delay = self.next
        self.next = min(self.next * 2, DB_RETRY_MAX)
        return delay

    def reset(self) -> None:
        self.next = DB_RETRY_FIRST


def _scheduler(stop: threading.Event) -> None:
    clock = _Clock()
    backoff = _Backoff()
    while not stop.is_set():
        wait = SCHEDULE_EVERY
        try:
            _tick(clock)
            backoff.reset()
        except DB_DOWN as exc:
            wait = max(wait, backoff.failed())
            logger.warning("scheduler: database unavailable (%s); retrying in %.0f s", exc, wait)
            _drop_connections()
        except Exception:
            logger.exception("scheduler tick failed")
        stop.wait(wait)


def run_until_stopped(run: Callable[[], None], stop: threading.Event, name: str) -> None:
    """Run `run` (a loop that returns only when told to stop), surviving database outages.

    On a database error: drop the connection, wait with backoff, run again.
    The backoff starts over once a run has lasted longer than the longest wait.
    Other exceptions (a bug, KeyboardInterrupt, SystemExit) propagate.
    """
    backoff = _Backoff()
    while not stop.is_set():
        started = time.monotonic()
        try:
            run()
            return
        except DB_DOWN as exc:
            if time.monotonic() - started > DB_RETRY_MAX:
                backoff.reset()
            delay = backoff.failed()
            logger.warning("%s: database unavailable (%s); retrying in %.0f s", name, exc, delay)
            _drop_connections()
            stop.wait(delay)


def _run_db_worker(interval: float) -> None:
    call_command("db_worker", queue_name="*", interval=interval, reload=False, verbosity=0)


def _child(interval: float) -> None:
    import django

    django.setup()
    run_until_stopped(lambda: _run_db_worker(interval), threading.Event(), "task worker")


def run_worker(processes: int = 1, interval: float = 0.2) -> int:
    stop = threading.Event()
    scheduler = threading.Thread(
        target=_scheduler, args=(stop,), daemon=True, name="cercle-scheduler"
    )
    scheduler.start()
    # Spawned, not forked: a forked child would share the parent's pooled database sockets.
    spawn = multiprocessing.get_context("spawn")
    children = [
        spawn.Process(target=_child, args=(interval,), daemon=True) for _ in range(processes - 1)
    ]
    for child in children:
        child.start()

    def _terminate(signum: int, frame: object) -> None:
        stop.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        run_until_stopped(lambda: _run_db_worker(interval), stop, "task worker")
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        for child in children:
            child.terminate()
        signal.signal(signal.SIGTERM, previous)
    return 0
