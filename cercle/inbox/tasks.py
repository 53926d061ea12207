"""Background tasks of the inbox."""

from __future__ import annotations

from django_tasks import task

from .actions import do_wake_snoozed


@task()
def wake_snoozed() -> int:
    """Reopen snoozed conversations whose time has come."""
    return do_wake_snoozed()


@task()
def run_bulk_jobs() -> int:
    """Apply (or undo) queued bulk jobs, chunk after chunk; returns how many chunks ran."""
    from .bulk import do_run_bulk_jobs

    return do_run_bulk_jobs()
