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

from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django.db.models import Q
from django.utils import timezone

from cercle.core import shutdown

logger = logging.getLogger(__name__)

SCHEDULE_EVERY = 5.0  # seconds between scheduler ticks
# How often the ingest waker looks for pending RawEvents when it cannot LISTEN (SQLite).
INGEST_POLL_EVERY = 0.1
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
        requeue_lost_enrichment,
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
        # Items an enrich run cut off by a forced stop left loading.
        requeue_lost_enrichment()
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
    from cercle.core.taskqueue import is_running

    return is_running("classify", now - CLASSIFY_STALE)


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


def _ingest_waker(stop: threading.Event) -> None:
    """Enqueue an ingest drain soon after RawEvents are stored: the stored rows are the queue.

    On PostgreSQL it is woken by `NOTIFY cercle_ingest` (the RawEvent insert
    trigger); on SQLite, or while the LISTEN connection is down, it looks for
    pending rows every INGEST_POLL_EVERY seconds. Many deliveries arriving
    together cost one check and at most one task row (`tasks.wake_ingest`). A
    missed wake costs latency, never a delivery: the scheduler's tick enqueues
    the drain too whenever rows are pending.
    """
    from cercle.core import pglisten
    from cercle.pipeline.tasks import wake_ingest

    woken = threading.Event()
    listen = pglisten.listener(pglisten.INGEST_CHANNEL)
    unsubscribe = listen.subscribe("", woken.set) if listen is not None else None
    backoff = _Backoff()
    try:
        while not stop.is_set():
            if listen is not None and listen.connected.is_set():
                if not woken.wait(1.0):
                    continue
            else:
                stop.wait(INGEST_POLL_EVERY)
            woken.clear()
            try:
                wake_ingest()
                backoff.reset()
            except DB_DOWN as exc:
                delay = backoff.failed()
                logger.warning(
                    "ingest waker: database unavailable (%s); retrying in %.0f s", exc, delay
                )
                _drop_connections()
                stop.wait(delay)
            except Exception:
                logger.exception("ingest waker failed")
                stop.wait(SCHEDULE_EVERY)
    finally:
        if unsubscribe is not None:
            unsubscribe()
        _drop_connections()


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


# Queues of long work (classification, training) with a task loop of their own in
# every worker process: a reply, an ingest or a poll never waits behind them.
HEAVY_QUEUES = ["classify"]
# How long a stopping process waits for its children to finish their tasks.
CHILD_STOP_TIMEOUT = 120.0


def _db_worker(interval: float, *, heavy: bool, stop: threading.Event) -> Any:
    """django_tasks_db's worker loop for the heavy queues, or for all the others.

    Its `running` flag is `stop`: setting `stop` ends the loop after the task in
    flight (django_tasks_db checks the flag between tasks and after each wait).
    """
    from django.utils.crypto import get_random_string
    from django_tasks_db.management.commands.db_worker import Worker

    class StoppableWorker(Worker):
        @property
        def running(self) -> bool:
            return not stop.is_set()

        @running.setter
        def running(self, value: bool) -> None:
            if not value:
                stop.set()

    return StoppableWorker(
        queue_names=HEAVY_QUEUES if heavy else ["*"],
        excluded_queue_names=[] if heavy else HEAVY_QUEUES,
        interval=interval,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=get_random_string(32),
    )


def _run_db_worker(interval: float, heavy: bool, stop: threading.Event) -> None:
    """Run one task loop until `stop` is set (then after the task in flight)."""
    try:
        _db_worker(interval, heavy=heavy, stop=stop).run()
    finally:
        connections.close_all()  # this thread's connections go with its loop


def run_loops(interval: float, stop: threading.Event) -> None:
    """This process's two task loops: the heavy queues in a thread, every other queue here.

    Each survives database outages (`run_until_stopped`). Returns once `stop` is
    set and both loops have finished their task in flight.
    """
    heavy = threading.Thread(
        target=run_until_stopped,
        args=(lambda: _run_db_worker(interval, True, stop), stop, "classify worker"),
        daemon=True,
        name="cercle-classify",
    )
    heavy.start()
    try:
        run_until_stopped(lambda: _run_db_worker(interval, False, stop), stop, "task worker")
    finally:
        stop.set()
        heavy.join()


def _stop_on_signals(stop: threading.Event, *, second_forces: bool = True) -> None:
    """SIGTERM or Ctrl-C: finish the tasks in flight, then stop; a second one interrupts.

    The interrupted task is marked failed (a further signal also abandons the
    classify loop's, whose row stays RUNNING): nothing is lost, since a drain is
    enqueued again by the scheduler whenever its work is pending, and a reply
    caught mid-send is reconciled before any new attempt (`recover_stale_sending`).
    A child process may get the same stop twice (from systemd or the terminal, and
    from its parent), so it never takes a second signal as "now": its parent kills
    it after `CHILD_STOP_TIMEOUT`.
    """

    def graceful(signum: int, frame: object) -> None:
        if stop.is_set() and second_forces:
            raise KeyboardInterrupt
        logger.warning("%s: finishing the tasks in flight, then stopping", signal.strsignal(signum))
        stop.set()
        shutdown.stopping.set()

    signal.signal(signal.SIGTERM, graceful)
    signal.signal(signal.SIGINT, graceful)


def _child(interval: float) -> None:
    import django

    django.setup()
    stop = threading.Event()
    _stop_on_signals(stop, second_forces=False)
    run_loops(interval, stop)


# --- RQ (CERCLE_TASK_BACKEND=rq) ---------------------------------------------------------


def _rq_worker(heavy: bool) -> Any:
    """An RQ worker for the heavy queues, or for all the others.

    A SimpleWorker runs jobs in its own process (no fork per job): what a drain
    keeps in memory (decoded classifier heads) lasts, and its database connection
    is checked before and after each job as django_tasks_db's loop does.
    """
    import django_rq
    from django_tasks_rq.backend import Job
    from rq import SimpleWorker

    class CercleRQWorker(SimpleWorker):
        def execute_job(self, job: Any, queue: Any) -> Any:
            close_old_connections()
            try:
                return super().execute_job(job, queue)
            finally:
                close_old_connections()

    names = HEAVY_QUEUES if heavy else [q for q in _queues() if q not in HEAVY_QUEUES]
    queues = [django_rq.get_queue(name, job_class=Job) for name in names]
    return CercleRQWorker(queues, connection=queues[0].connection, job_class=Job)


def _queues() -> list[str]:
    from django.conf import settings

    return [str(q) for q in settings.TASKS["default"]["QUEUES"]]


def _rq_child(heavy: bool) -> None:
    """A process of one RQ worker; RQ stops it after the job in flight on SIGTERM."""
    import django

    django.setup()
    # RQ takes a signal received twice within a second (the terminal's, then the
    # parent's) as one.
    _rq_worker(heavy).work(with_scheduler=True)


def _run_rq(processes: int, stop: threading.Event) -> None:
    """RQ workers (a light and a heavy one per process), kept running until `stop`."""
    spawn = multiprocessing.get_context("spawn")
    kinds = [heavy for _ in range(processes) for heavy in (False, True)]
    children = [spawn.Process(target=_rq_child, args=(heavy,)) for heavy in kinds]
    for child in children:
        child.start()
    try:
        while not stop.wait(1.0):
            for i, child in enumerate(children):
                if not child.is_alive():  # a crash or an OOM kill: start it again
                    logger.warning(
                        "RQ worker %s exited (%s); restarting", child.pid, child.exitcode
                    )
                    children[i] = spawn.Process(target=_rq_child, args=(kinds[i],))
                    children[i].start()
    finally:
        _stop_children(children)


def _stop_children(children: list[Any]) -> None:
    """SIGTERM each child (it finishes its task in flight), wait, then kill what remains."""
    for child in children:
        if child.is_alive():
            child.terminate()
    deadline = time.monotonic() + CHILD_STOP_TIMEOUT
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()


def run_worker(processes: int = 1, interval: float = 0.2) -> int:
    """The worker: `processes` processes of two task loops each, one scheduler, one ingest waker.

    With the RQ backend the task loops are RQ workers (one for the heavy queues,
    one for the others, per process); the scheduler is the same.
    """
    from cercle.core.taskqueue import RQ, backend_kind

    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    _stop_on_signals(stop)
    scheduler = threading.Thread(
        target=_scheduler, args=(stop,), daemon=True, name="cercle-scheduler"
    )
    scheduler.start()
    waker = threading.Thread(
        target=_ingest_waker, args=(stop,), daemon=True, name="cercle-ingest-waker"
    )
    waker.start()
    if backend_kind() == RQ:
        try:
            _run_rq(processes, stop)
        finally:
            stop.set()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0
    # Spawned, not forked: a forked child would share the parent's pooled database sockets.
    spawn = multiprocessing.get_context("spawn")
    children = [
        spawn.Process(target=_child, args=(interval,), daemon=True) for _ in range(processes - 1)
    ]
    for child in children:
        child.start()
    try:
        run_loops(interval, stop)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        # Each child may have got the signal too (a terminal's Ctrl-C reaches the whole
        # group); pass it on anyway, then let each finish its task in flight.
        _stop_children(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
