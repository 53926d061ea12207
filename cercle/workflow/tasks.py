"""Background tasks of the workflow app."""

from __future__ import annotations

from django_tasks import task

from .actions import do_escalate_due


@task(queue_name="poll")
def escalate_due() -> int:
    """Warn about responses due soon and escalate overdue ones; returns how many were touched."""
    report = do_escalate_due()
    return report.at_risk + report.breached
