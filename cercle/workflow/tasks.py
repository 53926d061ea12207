"""Background tasks of the workflow app."""

from __future__ import annotations

from django_tasks import task

from .actions import do_escalate_due, do_hand_out


@task(queue_name="poll")
def escalate_due() -> int:
    """Warn about responses due soon and escalate overdue ones; returns how many were touched."""
    report = do_escalate_due()
    return report.at_risk + report.breached


@task(queue_name="poll")
def hand_out() -> int:
    """Hand back the work of members off past the grace period, then hand the backlog out."""
    report = do_hand_out()
    return report.handed_back + report.assigned
