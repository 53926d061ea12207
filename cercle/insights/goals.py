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

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum

from cercle.core import clock
from cercle.inbox.choices import Direction
from cercle.inbox.models import Message
from cercle.workflow.sla import Clock
from cercle.workspaces.models import Workspace

from . import queries, rollup
from .metrics import History, Wait, bucket, summarise, within
from .models import WITHIN_KPIS, Goal, GoalPeriod, Kpi, MessageRollup, WaitRecord
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


def in_time(seconds: float, limit: timedelta) -> bool:
    """Whether an answer after `seconds` is within the goal's delay, counted as the metrics
    count durations (`metrics.bucket`: to the second under 2 min, the minute under 2 h, five
    minutes under 12 h…), so the rollups' histograms give the same answer."""
    return bucket(seconds) <= bucket(limit.total_seconds())


def _elapsed(goal: Goal, clock_: Clock, start: datetime, end: datetime) -> timedelta:
    return clock_.working_time_between(start, end) if goal.business_hours else end - start


def _within_counts(
    waits: Iterable[Wait], goal: Goal, clock_: Clock, now: datetime
) -> tuple[int, int]:
    """(in time, counted) among the waits needing an answer: a wait still open counts as
    missed once its delay has passed; before, it is not counted."""
    limit = timedelta(minutes=goal.minutes or 0)
    hits = total = 0
    for wait in waits:
        if wait.closed_unanswered:
            continue
        elapsed = _elapsed(goal, clock_, wait.started_at, wait.ended_at or now)
        if wait.ended_at is None:
            if elapsed > limit:
                total += 1
            continue
        total += 1
        hits += 1 if in_time(elapsed.total_seconds(), limit) else 0
    return hits, total


def _share(hits: int, total: int) -> float | None:
    return 100.0 * hits / total if total else None


def _negative_counts(workspace: Workspace, start: datetime, end: datetime) -> tuple[int, int]:
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
    return counts["negative"], counts["judged"]


def returning_contributors(workspace: Workspace, start: datetime, end: datetime) -> int:
    """How many contacts wrote in [start, end) having already written before `start`."""
    inbound = Message.objects.filter(workspace=workspace, direction=Direction.INBOUND)
    active = set(
        inbound.filter(sent_at__gte=start, sent_at__lt=end, conversation__contact__isnull=False)
        .values_list("conversation__contact_id", flat=True)
        .distinct()
    )
    if not active:
        return 0
    return (
        inbound.filter(sent_at__lt=start, conversation__contact_id__in=active)
        .values("conversation__contact_id")
        .distinct()
        .count()
    )


def _returning_growth(workspace: Workspace, start: datetime, end: datetime) -> float | None:
    """The change, in percent, of the returning contributors of [start, end) against the same
    length of time just before it (a quarter so far against as many days before it); None when
    nobody returned then."""
    before = returning_contributors(workspace, start - (end - start), start)
    if not before:
        return None
    return 100.0 * (returning_contributors(workspace, start, end) / before - 1)


def kpi_value(
    goal: Goal, workspace: Workspace, start: datetime, end: datetime, use_rollups: bool = True
) -> float | None:
    """The goal's KPI over [start, end), in its unit (percent or minutes); None without data.
    The whole local days of the period are read from the rollups when they are usable, the
    rest (today so far, a partial first day) from the raw rows; `use_rollups=False` reads
    everything raw (the two agree, see the tests)."""
    if goal.kpi == Kpi.RETURNING_GROWTH:
        return _returning_growth(workspace, start, end)
    clock_, _name = queries.workspace_clock(workspace)
    if use_rollups and rollup.rollups_usable(workspace, clock_):
        tz = ZoneInfo(workspace.timezone)
        first_day = rollup.local_day(start, tz)
        if rollup.day_start(first_day, tz) < start:
            first_day += timedelta(days=1)
        end_day = rollup.local_day(end, tz)
        if first_day < end_day:
            return _from_rollups(goal, workspace, start, end, clock_, tz, first_day, end_day)
    if goal.kpi == Kpi.NEGATIVE_SHARE:
        return _share(*_negative_counts(workspace, start, end))
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
    return _share(*_within_counts(firsts, goal, clock_, end))


def _from_rollups(
    goal: Goal,
    workspace: Workspace,
    start: datetime,
    end: datetime,
    clock_: Clock,
    tz: ZoneInfo,
    first_day: date,
    end_day: date,
) -> float | None:
    """The KPI from the rollups of the local days [first_day, end_day) and the raw rows of the
    edges of [start, end) outside them."""
    edges = [
        Period(start, rollup.day_start(first_day, tz)),
        Period(rollup.day_start(end_day, tz), end),
    ]
    edges = [part for part in edges if part.start < part.end]
    if goal.kpi == Kpi.NEGATIVE_SHARE:
        judged = MessageRollup.objects.filter(
            workspace=workspace, day__gte=first_day, day__lt=end_day
        ).exclude(sentiment="")
        sums = judged.aggregate(
            judged=Sum("count"), negative=Sum("count", filter=Q(sentiment=NEGATIVE))
        )
        negative, total = sums["negative"] or 0, sums["judged"] or 0
        for part in edges:
            more_negative, more_total = _negative_counts(workspace, part.start, part.end)
            negative, total = negative + more_negative, total + more_total
        return _share(negative, total)
    questions_only = goal.kpi == Kpi.QUESTIONS_ANSWERED_WITHIN
    tallies = rollup.read_rollups(workspace.pk, first_day, end_day, WaitRecord.Metric.WAIT)
    tail: list[Wait] = []
    for part in edges:
        history = queries.history(workspace, part)
        part_waits = within(history.waits, part.start, part.end)
        facts = queries.rollup_facts(workspace, {w.conversation_id for w in part_waits})
        if goal.kpi in WITHIN_KPIS:
            tail.extend(
                w
                for w in part_waits
                if w.first
                and (
                    not questions_only
                    or (w.conversation_id in facts and facts[w.conversation_id].question)
                )
            )
        else:
            waits_only = History(waits=part_waits, resolutions=[])
            rollup.tally_records(
                rollup.records_of(workspace, waits_only, facts, clock_, tz), tallies
            )
    if goal.kpi == Kpi.ANSWER_RATE:
        share = rollup.summary_of(tallies.items()).answered_share
        return None if share is None else 100.0 * share
    if goal.kpi == Kpi.MEDIAN_FIRST_RESPONSE:
        summary = rollup.summary_of((key, tally) for key, tally in tallies.items() if key.first)
        seconds = summary.median_business_seconds if goal.business_hours else summary.median_seconds
        return None if seconds is None else seconds / 60
    hits, total = _within_from_rollups(
        goal, workspace, tallies, end, clock_, tz, first_day, end_day
    )
    more_hits, more_total = _within_counts(tail, goal, clock_, end)
    return _share(hits + more_hits, total + more_total)


def _within_from_rollups(
    goal: Goal,
    workspace: Workspace,
    tallies: rollup.Tallies,
    end: datetime,
    clock_: Clock,
    tz: ZoneInfo,
    first_day: date,
    end_day: date,
) -> tuple[int, int]:
    """(in time, counted) among the first waits of the local days [first_day, end_day), as
    `_within_counts` counts them: the answered ones from the histograms; the open ones by
    their start, all counted (missed) on the days that ended longer than the delay ago, one by
    one (their `started_at`) on the last days."""
    questions_only = goal.kpi == Kpi.QUESTIONS_ANSWERED_WITHIN
    limit = timedelta(minutes=goal.minutes or 0)

    def wanted(key: rollup.Key) -> bool:
        return key.first and (key.question or not questions_only)

    hits = total = 0
    for key, tally in tallies.items():
        if wanted(key) and key.state in (rollup.State.ANSWERED, rollup.State.AUTOMATED):
            histogram = tally.business if goal.business_hours else tally.plain
            total += tally.count
            hits += sum(n for value, n in histogram.items() if in_time(value, limit))
    recent = end_day
    while recent > first_day and _elapsed(goal, clock_, rollup.day_start(recent, tz), end) <= limit:
        recent -= timedelta(days=1)
    old = rollup.read_rollups(workspace.pk, first_day, recent, WaitRecord.Metric.WAIT)
    total += sum(t.count for k, t in old.items() if wanted(k) and k.state == rollup.State.OPEN)
    open_waits = WaitRecord.objects.filter(
        workspace=workspace,
        metric=WaitRecord.Metric.WAIT,
        first=True,
        state=WaitRecord.State.OPEN,
        day__gte=recent,
        day__lt=end_day,
    )
    if questions_only:
        open_waits = open_waits.filter(question=True)
    waits = [
        Wait(conversation_id=conversation_id, started_at=started_at, first=True)
        for conversation_id, started_at in open_waits.values_list("conversation_id", "started_at")
        if started_at is not None
    ]
    more_hits, more_total = _within_counts(waits, goal, clock_, end)
    return hits + more_hits, total + more_total


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
