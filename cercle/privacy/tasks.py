"""The retention drain: deletes expired messages of every workspace, in batches."""

from __future__ import annotations

from django_tasks import task

from .actions import do_purge_expired_messages
from .models import RetentionPolicy

# Batches one run takes per workspace at most (the next hourly run goes on).
MAX_BATCHES_PER_RUN = 200


@task()
def purge_expired_messages() -> int:
    """Delete messages older than each workspace's retention (idempotent, resumable)."""
    total = 0
    workspace_ids = RetentionPolicy.objects.filter(message_days__isnull=False).values_list(
        "workspace_id", flat=True
    )
    for workspace_id in list(workspace_ids):
        for _ in range(MAX_BATCHES_PER_RUN):
            purged = do_purge_expired_messages(workspace_id)
            total += purged
            if purged == 0:
                break
    return total


def retention_configured() -> bool:
    return RetentionPolicy.objects.filter(message_days__isnull=False).exists()
