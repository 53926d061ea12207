"""Background tasks of moderation (django-tasks). Each is an idempotent drain."""

from __future__ import annotations

from django_tasks import task

from cercle.core import shutdown

from .actions import (
    do_aggregate_pulses,
    do_classify_pending,
    do_train_heads,
    do_watch_crises,
    workspaces_to_train,
)

# Upper bound of batches one task run drains before yielding to other tasks.
MAX_BATCHES_PER_RUN = 20


@task(queue_name="classify")
def classify_pending() -> int:
    """Label the inbound messages whose labels are missing, batch after batch."""
    total = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        labelled = do_classify_pending()
        total += labelled
        # A stopping worker ends the drain between batches; the next one takes the rest.
        if labelled == 0 or shutdown.requested():
            break
    return total


@task()
def watch_crises() -> int:
    """Count the messages labelled since the last run into pulses, then check for crises."""
    for _ in range(MAX_BATCHES_PER_RUN):
        if do_aggregate_pulses() == 0:
            break
    return len(do_watch_crises())


@task(queue_name="classify")
def train_heads() -> int:
    """Train the workspace heads whose examples changed since their last training."""
    return sum(len(do_train_heads(workspace_id)) for workspace_id in workspaces_to_train())
