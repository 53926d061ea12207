"""Background tasks (django-tasks): ingestion, sending, polling. Each is an idempotent drain."""

from __future__ import annotations

from django_tasks import task

from cercle.pipeline.actions import do_ingest_pending
from cercle.pipeline.poller import poll_due
from cercle.pipeline.sender import send_due

# Upper bound of batches one task run drains before yielding to other tasks.
MAX_BATCHES_PER_RUN = 50


@task(queue_name="ingest")
def ingest_pending() -> int:
    """Drain pending RawEvents, batch after batch."""
    total = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        report = do_ingest_pending()
        total += report.events
        if report.events == 0:
            break
    return total


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


@task(queue_name="outbox")
def send_outbox() -> int:
    """Deliver due outbox rows."""
    total = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        sent = send_due()
        total += sent
        if sent == 0:
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


def wake_sender(sender: object, **kwargs: object) -> None:
    """Receiver of `inbox.signals.outbox_written`: drain the outbox soon."""
    send_outbox.enqueue()
