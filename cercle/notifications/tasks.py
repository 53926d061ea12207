"""Background tasks of the notifications app (idempotent drains; the scheduler enqueues them)."""

from __future__ import annotations

from django_tasks import task

from .actions import do_drain_activity_log
from .mail import send_digests, send_pending_mail
from .webhooks import send_due

# Upper bound of batches one run drains before yielding to other tasks.
MAX_BATCHES_PER_RUN = 20


@task()
def drain_activity_log() -> int:
    """Make notifications and webhook deliveries from new activities; returns how many read."""
    total = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        report = do_drain_activity_log()
        total += report.activities
        if report.activities == 0:
            break
    return total


@task()
def send_webhooks() -> int:
    """Attempt the due webhook deliveries."""
    total = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        attempted = send_due()
        total += attempted
        if attempted == 0:
            break
    return total


@task()
def send_notification_mail() -> int:
    """Mail the notifications of members who are away."""
    return send_pending_mail()


@task()
def send_daily_digests() -> int:
    """Send the digests whose morning has come."""
    return send_digests()
