"""Background tasks (django-tasks): ingestion, sending, polling. Each is an idempotent drain."""

from __future__ import annotations

from django_tasks import task

from .actions import do_ingest_pending
from .outbox import send_due
from .poller import poll_due

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
    from .refresh import refresh_due_credentials

    return refresh_due_credentials().refreshed
