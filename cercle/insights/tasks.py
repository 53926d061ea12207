"""Background tasks of the insights app (idempotent drains; the scheduler enqueues them)."""

from __future__ import annotations

from django_tasks import task

from cercle.core import clock

from .actions import do_prioritise_for_goals, do_roll_up, goals_to_watch
from .weekly import send_weekly_reports

# Upper bound of passes one run makes before yielding to other tasks.
MAX_PASSES_PER_RUN = 50


@task()
def roll_up() -> int:
    """Keep the dashboard's rollups up to date; returns how many conversations were recomputed."""
    total = 0
    for _ in range(MAX_PASSES_PER_RUN):
        report = do_roll_up()
        total += report.conversations
        if not report.worked:
            break
    return total


@task()
def send_weekly() -> int:
    """Mail last week's report to the members who asked for it."""
    return send_weekly_reports()


@task()
def prioritise_for_goals() -> int:
    """Raise the priority of waiting conversations that endanger an at-risk goal."""
    now = clock.now()
    return sum(do_prioritise_for_goals(workspace, now) for workspace in goals_to_watch(now))


def goals_due() -> bool:
    return bool(goals_to_watch(clock.now()))
