"""The live status of a goal: its value for the period so far, the trend, on track or at risk.

The figures come from the same reads and metrics as the dashboard
(`queries.history`, `metrics.summarise`), so a goal and the dashboard agree.

- The **current value** is the KPI over the period so far (this week, month or
  quarter, in the workspace's time zone).
- The **trend** is the difference with the previous whole period.
- The **projection** assumes the recent pace (the last quarter of the elapsed
  part of the period, at least a day) holds until the period ends: the end value
  is the current value and the recent value weighted by elapsed and remaining time.
- **At risk**: the current or the projected value is on the wrong side of the
  target. **Missed** is said of a whole period that ended on the wrong side (the
  previous period's outcome is shown next to the live status).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.db.models import Count, Q

from cercle.core import clock
from cercle.inbox.choices import Direction
from cercle.inbox.models import Message
from cercle.workflow.sla import Clock
from cercle.workspaces.models import Workspace

from . import queries
from .metrics import Wait, summarise, within
from .models import Goal, GoalPeriod, Kpi
from .queries import Period

NEGATIVE = "negative"
QUESTION = "question"


class Status(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    MISSED = "missed"
    MET = "met"
    NO_DATA = "no_data"


def period_bounds(kind: str, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the week, month or quarter holding `now`, in the time zone `tz`."""
    local = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == GoalPeriod.WEEK:
        start = local - timedelta(days=local.weekday())
        return start, start + timedelta(days=7)  # wall-clock arithmetic: DST keeps midnight
    month = local.month if kind == GoalPeriod.MONTH else 3 * ((local.month - 1) // 3) + 1
    start = local.replace(day=1, month=month)
    step = 1 if kind == GoalPeriod.MONTH else 3
    year, month = divmod(start.month - 1 + step, 12)
    return start, start.replace(year=start.year + year, month=month + 1)


def previous_bounds(kind: str, start: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return period_bounds(kind, start - timedelta(hours=12), tz)


def _question_conversations(workspace: Workspace, waits: list[Wait]) -> set[int]:
    ids = {w.conversation_id for w in waits}
    return set(
        Message.objects.filter(
            workspace=workspace,
            conversation_id__in=ids,
            direction=Direction.INBOUND,
            intent=QUESTION,
        ).values_list("conversation_id", flat=True)
    )


def _within_share(waits: list[Wait], goal: Goal, clock_: Clock, now: datetime) -> float | None:
    """Share (percent) of the waits needing an answer that got one within the goal's minutes.
    A wait still open counts as missed once its delay has passed; before, it is not counted."""
    limit = timedelta(minutes=goal.minutes or 0)
    hits = total = 0
    for wait in waits:
        if wait.closed_unanswered:
            continue
        end = wait.ended_at or now
        elapsed = (
            clock_.working_time_between(wait.started_at, end)
            if goal.business_hours
            else end - wait.started_at
        )
        if wait.ended_at is None and elapsed <= limit:
            continue
        total += 1
        hits += 1 if wait.ended_at is not None and elapsed <= limit else 0
    return 100.0 * hits / total if total else None


def kpi_value(goal: Goal, workspace: Workspace, start: datetime, end: datetime) -> float | None:
    """The goal's KPI over [start, end), in its unit (percent or minutes); None without data."""
    if goal.kpi == Kpi.NEGATIVE_SHARE:
        counts = (
            Message.objects.filter(
                workspace=workspace,
                direction=Direction.INBOUND,
                sent_at__gte=start,
                sent_at__lt=end,
            )
            .exclude(sentiment="")
            .aggregate(judged=Count("pk"), negative=Count("pk", filter=Q(sentiment=NEGATIVE)))
        )
        return 100.0 * counts["negative"] / counts["judged"] if counts["judged"] else None
    clock_, _name = queries.workspace_clock(workspace)
    waits = within(queries.history(workspace, Period(start, end)).waits, start, end)
    if goal.kpi == Kpi.ANSWER_RATE:
        share = summarise(waits, clock_).answered_share
        return None if share is None else 100.0 * share
    firsts = [w for w in waits if w.first]
    if goal.kpi == Kpi.MEDIAN_FIRST_RESPONSE:
        summary = summarise(firsts, clock_)
        seconds = summary.median_business_seconds if goal.business_hours else summary.median_seconds
        return None if seconds is None else seconds / 60
    if goal.kpi == Kpi.QUESTIONS_ANSWERED_WITHIN:
        questions = _question_conversations(workspace, firsts)
        firsts = [w for w in firsts if w.conversation_id in questions]
    return _within_share(firsts, goal, clock_, end)


@dataclass(frozen=True, slots=True)
class GoalStatus:
    goal: Goal
    start: datetime
    end: datetime
    value: float | None
    previous: float | None
    projected: float | None
    status: Status
    previous_status: Status
    elapsed_share: float

    @property
    def trend(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def trend_is_better(self) -> bool | None:
        trend = self.trend
        if not trend:
            return None
        return (trend > 0) == (self.goal.comparison == "gte")


def goal_status(goal: Goal, now: datetime | None = None) -> GoalStatus:
    """The live status of `goal` at `now` (the clock's now by default)."""
    now = now or clock.now()
    workspace = goal.workspace
    tz = ZoneInfo(workspace.timezone)
    start, end = period_bounds(goal.period, now, tz)
    value = kpi_value(goal, workspace, start, now)
    previous_start, previous_end = previous_bounds(goal.period, start, tz)
    previous = kpi_value(goal, workspace, previous_start, previous_end)
    elapsed = (now - start) / (end - start)
    recent_start = max(start, now - max((now - start) / 4, timedelta(days=1)))
    recent = kpi_value(goal, workspace, recent_start, now) if recent_start > start else value
    if value is None:
        projected = None
    elif recent is None:
        projected = value
    else:
        projected = value * elapsed + recent * (1 - elapsed)
    if value is None:
        status = Status.NO_DATA
    elif goal.meets(value) and (projected is None or goal.meets(projected)):
        status = Status.ON_TRACK
    else:
        status = Status.AT_RISK
    if previous is None:
        previous_status = Status.NO_DATA
    else:
        previous_status = Status.MET if goal.meets(previous) else Status.MISSED
    return GoalStatus(
        goal, start, end, value, previous, projected, status, previous_status, elapsed
    )


__all__ = ["GoalStatus", "Status", "goal_status", "kpi_value", "period_bounds"]
