"""Background tasks of the insights app (idempotent drains; the scheduler enqueues them)."""

from __future__ import annotations

from django_tasks import task

from cercle.core import clock

from .actions import (
    do_count_persona_members,
    do_prioritise_for_goals,
    do_roll_up,
    goals_to_watch,
    personas_to_count,
)
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


# Personas counted per run (each may take a second on a large workspace).
PERSONAS_PER_RUN = 20


@task()
def count_persona_members() -> int:
    """Count the contacts of the personas not counted lately; keep those slow to evaluate."""
    now = clock.now()
    due = personas_to_count(now)[:PERSONAS_PER_RUN]
    return sum(1 for persona in due if do_count_persona_members(persona, now))


def personas_due() -> bool:
    return bool(personas_to_count(clock.now()))
