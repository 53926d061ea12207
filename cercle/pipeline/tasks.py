"""Background tasks (django-tasks): ingestion, sending, polling. Each is an idempotent drain.

A drain takes whatever is pending when it runs, so one waiting drain serves every
request that arrives before it starts: `enqueue_once` adds a drain only when none
of that task is waiting yet (at most one pending drain per task, whatever the
number of webhooks or replies). A drain already *running* does not count: it may
have claimed its batch before the new work was committed. The worker's
scheduler enqueues the same drains when work is pending, so a drain lost with a
crashed worker (its task row left RUNNING) is replaced within one tick.
Finished task rows are deleted by `prune_task_results` once older than
`CERCLE_TASK_RESULTS_KEEP_DAYS`, run by the scheduler.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks.base import Task
from django_tasks_db.models import DBTaskResult

from cercle.core import shutdown, taskqueue
from cercle.pipeline.actions import do_ingest_pending
from cercle.pipeline.poller import poll_due
from cercle.pipeline.sender import send_due

logger = logging.getLogger(__name__)

# Upper bound of batches one task run drains before yielding to other tasks.
MAX_BATCHES_PER_RUN = 50
# An enrich run started longer ago than this is presumed cut off with its worker.
ENRICH_STALE = timedelta(minutes=10)
# Task rows deleted per statement when pruning (keeps each delete's locks short).
PRUNE_CHUNK = 1000


def enqueue_once(drain: Task[Any, Any]) -> bool:
    """Enqueue `drain` unless one is already waiting to run; returns whether it enqueued.

    Two requests racing may both enqueue (the check is not a lock): that costs
    one extra, empty drain, never lost work; the number of waiting drains stays
    bounded by the concurrency, not by the traffic. Works on the database queue
    and on RQ (`cercle.core.taskqueue`).
    """
    if taskqueue.is_waiting(drain):
        return False
    drain.enqueue()
    return True


@task(queue_name="ingest")
def ingest_pending() -> int:
    """Drain pending RawEvents, batch after batch."""
    total = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        report = do_ingest_pending()
        total += report.events
        # A stopping worker ends the drain between batches; the next one takes the rest.
        if report.events == 0 or shutdown.requested():
            break
    return total


def enqueue_ingest() -> None:
    """Ask for an ingest drain (after a backfill is stored)."""
    enqueue_once(ingest_pending)


def wake_ingest() -> bool:
    """Enqueue an ingest drain when RawEvents are pending and none is waiting; whether it did.

    Called by the worker's ingest waker: a webhook only stores its RawEvent (the
    stored rows are the queue), so one drain serves every delivery that arrived
    before it starts.
    """
    from cercle.pipeline.choices import RawEventStatus
    from cercle.pipeline.models import RawEvent

    if not RawEvent.objects.filter(status=RawEventStatus.PENDING).exists():
        return False
    return enqueue_once(ingest_pending)


@task(queue_name="poll")
def enrich_items(channel_id: int, attempt: int = 1) -> int:
    """Fetch a channel's items that arrived with ids only; again later on failure (backoff)."""
    from cercle.pipeline.enrich import enrich_channel

    report = enrich_channel(channel_id, attempt)
    if report.retry_at is not None:
        enrich_items.using(run_after=report.retry_at).enqueue(channel_id, attempt + 1)
    elif report.more:
        enrich_items.enqueue(channel_id)
    return report.fetched


@task(queue_name="poll")
def enrich_posts(channel_id: int, post_ids: list[int], attempt: int = 1) -> int:
    """Fetch the details of a channel's bare posts; the rest and the failures again later."""
    from cercle.pipeline.enrich_posts import enrich_channel_posts

    report = enrich_channel_posts(channel_id, post_ids, attempt)
    if report.retry and report.retry_at is not None:
        enrich_posts.using(run_after=report.retry_at).enqueue(channel_id, report.retry, attempt + 1)
    if report.rest:
        enrich_posts.enqueue(channel_id, report.rest)
    return report.filled


def requeue_lost_enrichment() -> list[int]:
    """Enqueue `enrich_items` for each channel with loading items and no run in hand.

    A run cut off by a forced stop (SIGKILL, an OOM kill) enqueues no follow-up:
    without this, its channel's items would stay "loading" for good. A run
    waiting (a retry due later included) or started within ENRICH_STALE is in
    hand. Called by the worker's scheduler; returns the channels enqueued.
    """
    from cercle.inbox.choices import Enrichment
    from cercle.inbox.models import Message

    loading = set(
        Message.objects.filter(enrichment=Enrichment.LOADING)
        .order_by()
        .values_list("channel_id", flat=True)
        .distinct()
    )
    if not loading:
        return []
    since = timezone.now() - ENRICH_STALE
    in_hand = {args[0] for args in taskqueue.calls_in_hand(enrich_items, since) if args}
    lost = sorted(loading - in_hand)
    for channel_id in lost:
        logger.warning("channel %s: items left loading by a lost enrich run; again", channel_id)
        enrich_items.enqueue(channel_id)
    return lost


@task(queue_name="outbox")
def send_outbox() -> int:
    """Deliver due outbox rows."""
    total = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        sent = send_due()
        total += sent
        if sent == 0 or shutdown.requested():
            break
    return total


@task(queue_name="poll")
def poll_channels() -> int:
    """Poll the channels that are due."""
    return poll_due()


@task(queue_name="poll")
def refresh_credentials() -> int:
    """Refresh credentials that expire soon; returns how many were refreshed."""
    from cercle.pipeline.refresh import refresh_due_credentials

    return refresh_due_credentials().refreshed


def prune_task_results(keep: timedelta | None = None) -> int:
    """Delete finished task rows older than `keep` (default: the setting); returns how many.

    Also deletes rows left RUNNING for longer than `keep`: their worker died
    (the scheduler has long since enqueued the drain again).
    """
    keep = keep if keep is not None else timedelta(days=settings.CERCLE_TASK_RESULTS_KEEP_DAYS)
    cutoff = timezone.now() - keep
    old = DBTaskResult.objects.filter(
        Q(finished_at__lt=cutoff) | Q(status=TaskResultStatus.RUNNING, started_at__lt=cutoff)
    ).exclude(status=TaskResultStatus.READY)
    deleted = 0
    while True:
        ids = list(old.order_by().values_list("pk", flat=True)[:PRUNE_CHUNK])
        if not ids:
            break
        count, _ = DBTaskResult.objects.filter(pk__in=ids).delete()
        deleted += count
    if deleted:
        logger.info("pruned %d finished task row(s)", deleted)
    return deleted


def wake_sender(sender: object, **kwargs: object) -> None:
    """Receiver of `inbox.signals.outbox_written`: drain the outbox soon."""
    enqueue_once(send_outbox)
