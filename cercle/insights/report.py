"""The dashboard's figures for one workspace and period, assembled from queries and metrics.

The views, the CSV export and the drill-down all read this one report, so a
figure and the conversations listed behind it always agree.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from django.db.models import Count, Q

from cercle.connectors.models import Channel
from cercle.inbox.choices import Direction
from cercle.inbox.models import Message
from cercle.workflow.sla import Clock
from cercle.workspaces.models import Member, Team, Workspace

from . import queries, rollup
from .metrics import (
    History,
    Resolution,
    Summary,
    Wait,
    breakdown,
    resolution_seconds,
    summarise,
    within,
)
from .models import DailyRollup, Persona, WaitRecord
from .personas import contacts_of_conversations, persona_members
from .queries import Period, PostCounts, PostRow, RatingRow

T = TypeVar("T")

# The breakdowns offered, by name: how a wait is grouped (the label is resolved below).
GROUPS = ("channel", "platform", "member", "team", "persona", "kind")
# The response metrics per period of the report: per local day, ISO week or calendar month.
UNITS = ("day", "week", "month")
# The breakdown by period (apart from GROUPS: its rows carry first answers and resolutions).
PERIOD_GROUP = "period"
# The posts listed in the per-post table.
POSTS = 20


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a breakdown table."""

    key: str
    label: str
    summary: Summary


@dataclass(frozen=True, slots=True)
class PeriodRow:
    """The response metrics of one day, week or month of the report (by when the waits and
    the resolution cycles started, in the workspace's time zone)."""

    key: str  # the ISO date of its first day
    label: str
    first: Summary
    every: Summary
    resolution_median_seconds: float | None
    resolution_median_business_seconds: float | None


def default_unit(period: Period) -> str:
    """Days for a week or two, weeks up to two months, months beyond."""
    days = (period.end - period.start).days
    return "day" if days <= 14 else "week" if days <= 62 else "month"


def unit_start(day: date, unit: str) -> date:
    """The first day of the day, ISO week or month holding `day`."""
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def unit_label(start: date, unit: str) -> str:
    if unit == "week":
        year, week, _weekday = start.isocalendar()
        return f"{year}-W{week:02d}"
    if unit == "month":
        return start.strftime("%Y-%m")
    return start.isoformat()


def unit_starts(period: Period, tz: ZoneInfo, unit: str) -> list[date]:
    """The first days of every unit the period touches, in order (as `queries.every_day`)."""
    day, last = rollup.local_day(period.start, tz), rollup.local_day(period.end, tz)
    starts: list[date] = []
    while day <= last:
        start = unit_start(day, unit)
        if not starts or starts[-1] != start:
            starts.append(start)
        day += timedelta(days=1)
    return starts


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    clock_name: str
    first: Summary
    every: Summary
    resolution_median_seconds: float | None
    resolution_median_business_seconds: float | None
    breakdowns: dict[str, list[Row]]
    heatmap: list[list[int]]
    posts: list[PostRow]
    daily: list[tuple[str, int]]
    ratings: list[RatingRow]
    # The response metrics per day, week or month (`unit`), oldest first.
    unit: str = "week"
    periods: list[PeriodRow] = field(default_factory=list)
    # The first answers of each persona's waits (the "persona" breakdown counts every wait).
    persona_first: dict[str, Summary] = field(default_factory=dict)

    @property
    def heatmap_total(self) -> int:
        return sum(sum(row) for row in self.heatmap)

    @property
    def heatmap_max(self) -> int:
        return max((max(row) for row in self.heatmap), default=0)


def build_report(
    workspace: Workspace, period: Period, use_rollups: bool = True, unit: str = ""
) -> Report:
    """The dashboard's figures; from the rollups for the whole days they hold (when they are
    complete and counted with the workspace's clock), from the raw rows otherwise.
    `use_rollups=False` computes everything from the raw rows, with the conversation ids
    behind each figure (the drill-down). `unit` is the period breakdown's (`UNITS`; by
    default from the period's length)."""
    unit = unit if unit in UNITS else default_unit(period)
    clock, clock_name = queries.workspace_clock(workspace)
    if use_rollups and rollup.rollups_usable(workspace, clock):
        tz = ZoneInfo(workspace.timezone)
        first_day = rollup.local_day(period.start, tz)
        if rollup.day_start(first_day, tz) < period.start:
            first_day += timedelta(days=1)
        end_day = rollup.local_day(period.end, tz)
        if first_day < end_day:
            return _from_rollups(workspace, period, clock, clock_name, first_day, end_day, unit)
    return _from_raw(workspace, period, clock, clock_name, unit)


def _labels(workspace: Workspace) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """Channel names, channel platforms, member names."""
    channels = Channel.objects.filter(workspace=workspace).values_list("pk", "name", "platform")
    members = {
        m.pk: m.name for m in Member.objects.filter(workspace=workspace).select_related("user")
    }
    names = {pk: name for pk, name, _platform in channels}
    platforms = {pk: platform for pk, _name, platform in channels}
    return names, platforms, members


class Teams:
    """The workspace's teams as they are now: each member's teams, and the teams' names.

    The team breakdown counts a wait under the team(s) of the member who answered it (a
    member in two teams counts in both, so its rows may add up to more than the total);
    waits not answered by a person, or answered by someone in no team, under "—".
    """

    def __init__(self, workspace: Workspace) -> None:
        self.names = dict(Team.objects.filter(workspace=workspace).values_list("pk", "name"))
        self.of: dict[int, list[int]] = defaultdict(list)
        links = Team.members.through.objects.filter(team__workspace=workspace)
        for member_id, team_id in links.values_list("member_id", "team_id").order_by("team_id"):
            self.of[member_id].append(team_id)

    def label(self, value: object) -> str:
        return self.names.get(value, "?") if isinstance(value, int) else "—"

    def group(
        self, items: Iterable[T], responder: Callable[[T], int | None]
    ) -> dict[object, list[T]]:
        """`items` by the team(s) of their responder."""
        groups: dict[object, list[T]] = defaultdict(list)
        for item in items:
            who = responder(item)
            teams: list[int | None] = list(self.of.get(who, ())) if who is not None else []
            for team in teams or [None]:
                groups[team].append(item)
        return groups


def _sorted_rows(rows: Iterable[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: (-r.summary.waits, r.label))


def _raw_periods(
    waits: Sequence[Wait],
    cycles: Sequence[Resolution],
    clock: Clock,
    starts: list[date],
    unit: str,
    tz: ZoneInfo,
) -> list[PeriodRow]:
    by_wait: dict[date, list[Wait]] = defaultdict(list)
    by_cycle: dict[date, list[Resolution]] = defaultdict(list)
    for wait in waits:
        by_wait[unit_start(rollup.local_day(wait.started_at, tz), unit)].append(wait)
    for cycle in cycles:
        by_cycle[unit_start(rollup.local_day(cycle.started_at, tz), unit)].append(cycle)
    rows = []
    for start in starts:
        group = by_wait.get(start, [])
        plain, business = resolution_seconds(by_cycle.get(start, []), clock)
        rows.append(
            PeriodRow(
                key=start.isoformat(),
                label=unit_label(start, unit),
                first=summarise([w for w in group if w.first], clock),
                every=summarise(group, clock),
                resolution_median_seconds=plain,
                resolution_median_business_seconds=business,
            )
        )
    return rows


def _from_raw(
    workspace: Workspace, period: Period, clock: Clock, clock_name: str, unit: str
) -> Report:
    history = queries.history(workspace, period)
    waits = within(history.waits, period.start, period.end)
    cycles = [c for c in history.resolutions if period.start <= c.started_at < period.end]
    facts = queries.conversation_facts(workspace, {w.conversation_id for w in waits})
    channels, _platforms, members = _labels(workspace)

    def fact(attribute: str) -> Callable[[Wait], Hashable]:
        return lambda w: (
            getattr(facts[w.conversation_id], attribute) if w.conversation_id in facts else ""
        )

    keys: dict[str, tuple[Callable[[Wait], Hashable], Callable[[Hashable], str]]] = {
        "channel": (
            fact("channel_id"),
            lambda v: channels.get(v, "?") if isinstance(v, int) else "?",
        ),
        "platform": (fact("platform"), str),
        "member": (
            lambda w: w.responder_id if w.answered and not w.automated else None,
            lambda v: members.get(v, "?") if isinstance(v, int) else "—",
        ),
        "kind": (fact("kind"), str),
    }
    tables: dict[str, list[Row]] = {}
    for name, (key, label) in keys.items():
        groups = breakdown(waits, key, clock)
        rows = [Row(str(value), label(value), summary) for value, summary in groups.items()]
        tables[name] = sorted(rows, key=lambda r: (-r.summary.waits, r.label))
    teams = Teams(workspace)
    by_team = teams.group(
        waits, lambda w: w.responder_id if w.answered and not w.automated else None
    )
    tables["team"] = sorted(
        (
            Row(str(team), teams.label(team), summarise(group, clock))
            for team, group in by_team.items()
        ),
        key=lambda r: (-r.summary.waits, r.label),
    )
    persona_first: dict[str, Summary] = {}
    persona_rows = []
    persona_sets = persona_members(workspace, period.end)
    contact_of = (
        contacts_of_conversations({w.conversation_id for w in waits}) if persona_sets else {}
    )
    for persona, contacts in persona_sets:
        theirs = [w for w in waits if contact_of.get(w.conversation_id) in contacts]
        if theirs:
            persona_rows.append(Row(str(persona.pk), persona.name, summarise(theirs, clock)))
            persona_first[str(persona.pk)] = summarise([w for w in theirs if w.first], clock)
    tables["persona"] = _sorted_rows(persona_rows)
    tables = {name: tables[name] for name in GROUPS}
    tz = ZoneInfo(workspace.timezone)
    resolution_plain, resolution_business = resolution_seconds(cycles, clock)
    return Report(
        period=period,
        clock_name=clock_name,
        first=summarise([w for w in waits if w.first], clock),
        every=summarise(waits, clock),
        resolution_median_seconds=resolution_plain,
        resolution_median_business_seconds=resolution_business,
        breakdowns=tables,
        heatmap=queries.inbound_heatmap(workspace, period),
        posts=queries.per_post(workspace, period, POSTS),
        daily=queries.daily_volume(workspace, period),
        ratings=queries.ratings(workspace, period),
        unit=unit,
        periods=_raw_periods(waits, cycles, clock, unit_starts(period, tz, unit), unit, tz),
        persona_first=persona_first,
    )


def day_tallies(
    workspace_id: int, first_day: date, end_day: date, metric: str
) -> dict[date, rollup.Tallies]:
    """The rollups of the local days [first_day, end_day) summed per day and key (as
    `rollup.read_rollups`, with the day kept for the period breakdown)."""
    days: dict[date, rollup.Tallies] = defaultdict(lambda: defaultdict(rollup.Tally))
    rows = DailyRollup.objects.filter(
        workspace_id=workspace_id, metric=metric, day__gte=first_day, day__lt=end_day
    ).values_list(
        "day",
        "first",
        "state",
        "channel_id",
        "kind",
        "responder_id",
        "question",
        "count",
        "plain",
        "business",
    )
    for (
        day,
        first,
        state,
        channel_id,
        kind,
        responder,
        question,
        count,
        plain,
        business,
    ) in rows.iterator(chunk_size=5000):
        tally = days[day][rollup.Key(first, state, channel_id, kind, responder, question)]
        tally.count += count
        for value, n in (plain or {}).items():
            tally.plain[int(value)] += n
        for value, n in (business or {}).items():
            tally.business[int(value)] += n
    return days


def _merged(tallies: Iterable[rollup.Tallies]) -> rollup.Tallies:
    merged: rollup.Tallies = defaultdict(rollup.Tally)
    for one in tallies:
        for key, tally in one.items():
            merged[key].add(tally)
    return merged


def _rolled_periods(
    waits: dict[date, rollup.Tallies],
    cycles: dict[date, rollup.Tallies],
    starts: list[date],
    unit: str,
) -> list[PeriodRow]:
    by_wait: dict[date, list[rollup.Tallies]] = defaultdict(list)
    by_cycle: dict[date, list[rollup.Tallies]] = defaultdict(list)
    for day, tallies in waits.items():
        by_wait[unit_start(day, unit)].append(tallies)
    for day, tallies in cycles.items():
        by_cycle[unit_start(day, unit)].append(tallies)
    rows = []
    for start in starts:
        group = _merged(by_wait.get(start, []))
        plain, business = rollup.cycle_medians(_merged(by_cycle.get(start, [])))
        rows.append(
            PeriodRow(
                key=start.isoformat(),
                label=unit_label(start, unit),
                first=rollup.summary_of((k, t) for k, t in group.items() if k.first),
                every=rollup.summary_of(group.items()),
                resolution_median_seconds=plain,
                resolution_median_business_seconds=business,
            )
        )
    return rows


def _rolled_personas(
    workspace: Workspace,
    period: Period,
    first_day: date,
    end_day: date,
    tail: list[WaitRecord],
) -> tuple[list[Row], dict[str, Summary]]:
    """The persona breakdown from the stored wait records of the whole days and the records of
    the raw edges (the daily rollups do not keep who wrote). Each persona's contacts are
    found once; the records are read once, grouped by the database by contact (each record
    keeps its conversation's) and what a summary reads."""
    members = persona_members(workspace, period.end)
    if not members:
        return [], {}
    stored = (
        WaitRecord.objects.filter(
            workspace=workspace,
            metric=WaitRecord.Metric.WAIT,
            day__gte=first_day,
            day__lt=end_day,
        )
        .values_list("contact_id", "first", "state", "seconds", "business_seconds")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_contact: dict[int, rollup.Tallies] = defaultdict(lambda: defaultdict(rollup.Tally))
    for contact, first, state, seconds, business, n in stored.iterator(chunk_size=5000):
        tally = by_contact[contact][rollup.Key(first, state, None, "", None)]
        tally.count += n
        if seconds is not None:
            tally.plain[seconds] += n
        if business is not None:
            tally.business[business] += n
    # The edges' records (today so far), computed with their contact.
    for record in tail:
        if record.contact_id is not None:
            rollup.tally_records([record], by_contact[record.contact_id])
    rows = []
    firsts: dict[str, Summary] = {}
    for persona, contacts in members:
        tallies: rollup.Tallies = defaultdict(rollup.Tally)
        for contact_id in contacts & by_contact.keys():
            for key, tally in by_contact[contact_id].items():
                tallies[key].add(tally)
        if tallies:
            rows.append(Row(str(persona.pk), persona.name, rollup.summary_of(tallies.items())))
            firsts[str(persona.pk)] = rollup.summary_of(
                (k, t) for k, t in tallies.items() if k.first
            )
    return _sorted_rows(rows), firsts


def _from_rollups(
    workspace: Workspace,
    period: Period,
    clock: Clock,
    clock_name: str,
    first_day: date,
    end_day: date,
    unit: str,
) -> Report:
    """The rollups of the local days [first_day, end_day), plus the raw rows of the partial
    first day and of the live tail (from `end_day` on)."""
    tz = ZoneInfo(workspace.timezone)
    wait_days = day_tallies(workspace.pk, first_day, end_day, WaitRecord.Metric.WAIT)
    cycle_days = day_tallies(workspace.pk, first_day, end_day, WaitRecord.Metric.CYCLE)
    tail: list[WaitRecord] = []
    ratings = rollup.read_ratings(workspace.pk, first_day, end_day)
    grid = [[0] * 24 for _ in range(7)]
    days: Counter[str] = Counter()
    for day, hour, count in rollup.read_volume(workspace.pk, first_day, end_day, {}, ""):
        grid[day.weekday()][hour] += count
        days[day.isoformat()] += count
    edges = (
        Period(period.start, rollup.day_start(first_day, tz)),
        Period(rollup.day_start(end_day, tz), period.end),
    )
    tail_posts: PostCounts = defaultdict(lambda: (Counter(), Counter(), Counter()))
    for part in edges:
        if part.start >= part.end:
            continue
        history = queries.history(workspace, part)
        part_history = History(
            waits=within(history.waits, part.start, part.end),
            resolutions=[c for c in history.resolutions if part.start <= c.started_at < part.end],
        )
        ids = {w.conversation_id for w in part_history.waits} | {
            c.conversation_id for c in part_history.resolutions
        }
        facts = queries.rollup_facts(workspace, ids)
        records = rollup.records_of(workspace, part_history, facts, clock, tz)
        for record in records:
            by_day = wait_days if record.metric == WaitRecord.Metric.WAIT else cycle_days
            rollup.tally_records([record], by_day[record.day])
        tail.extend(r for r in records if r.metric == WaitRecord.Metric.WAIT)
        part_grid, part_days = queries.inbound_times(workspace, part)
        for weekday, hours in enumerate(part_grid):
            for hour, count in enumerate(hours):
                grid[weekday][hour] += count
        days.update(part_days)
        for pk, counts in queries.post_counts(workspace, part).items():
            for into, more in zip(tail_posts[pk], counts, strict=True):
                into.update(more)
        ratings.update(queries.rating_counts(workspace, part))
    waits = _merged(wait_days.values())
    cycles = _merged(cycle_days.values())
    # Twice the table's length: a post deleted since is skipped, as the raw reading does.
    posts = rollup.read_top_posts(workspace.pk, first_day, end_day, tail_posts, POSTS * 2)
    channels, platforms, members = _labels(workspace)
    keyed: dict[str, tuple[Callable[[rollup.Key], object], Callable[[object], str]]] = {
        "channel": (
            lambda k: k.channel_id if k.channel_id is not None else "",
            lambda v: channels.get(v, "?") if isinstance(v, int) else "?",
        ),
        "platform": (
            lambda k: platforms.get(k.channel_id, "") if k.channel_id is not None else "",
            str,
        ),
        "member": (
            lambda k: k.responder_id,
            lambda v: members.get(v, "?") if isinstance(v, int) else "—",
        ),
        "kind": (lambda k: k.kind, str),
    }
    tables: dict[str, list[Row]] = {}
    for name, (key, label) in keyed.items():
        groups: dict[object, list[tuple[rollup.Key, rollup.Tally]]] = defaultdict(list)
        for item in waits.items():
            groups[key(item[0])].append(item)
        rows = [
            Row(str(value), label(value), rollup.summary_of(items))
            for value, items in groups.items()
        ]
        tables[name] = sorted(rows, key=lambda r: (-r.summary.waits, r.label))
    teams = Teams(workspace)
    tables["team"] = sorted(
        (
            Row(str(team), teams.label(team), rollup.summary_of(items))
            for team, items in teams.group(waits.items(), lambda item: item[0].responder_id).items()
        ),
        key=lambda r: (-r.summary.waits, r.label),
    )
    tables["persona"], persona_first = _rolled_personas(workspace, period, first_day, end_day, tail)
    tables = {name: tables[name] for name in GROUPS}
    resolution_plain, resolution_business = rollup.cycle_medians(cycles)
    return Report(
        period=period,
        clock_name=clock_name,
        first=rollup.summary_of((k, t) for k, t in waits.items() if k.first),
        every=rollup.summary_of(waits.items()),
        resolution_median_seconds=resolution_plain,
        resolution_median_business_seconds=resolution_business,
        breakdowns=tables,
        heatmap=grid,
        posts=queries.post_rows(workspace, posts, POSTS),
        daily=queries.every_day(period, tz, days),
        ratings=queries.rating_rows(workspace, ratings),
        unit=unit,
        periods=_rolled_periods(wait_days, cycle_days, unit_starts(period, tz, unit), unit),
        persona_first=persona_first,
    )


def platform_heatmap(workspace: Workspace, period: Period, platform: str) -> list[list[int]]:
    """The heatmap of one platform's inbound items (the dashboard's, narrowed): whole local days
    from the volume rollups when they are usable, the edges and the rest from the raw rows."""
    clock, _name = queries.workspace_clock(workspace)
    tz = ZoneInfo(workspace.timezone)
    if rollup.rollups_usable(workspace, clock):
        first_day, end_day = rollup.whole_days(period.start, period.end, tz)
        if first_day < end_day:
            _names, platform_of, _members = _labels(workspace)
            grid = [[0] * 24 for _ in range(7)]
            for day, hour, count in rollup.read_volume(
                workspace.pk, first_day, end_day, platform_of, platform
            ):
                grid[day.weekday()][hour] += count
            for start, end in rollup.edges(period.start, period.end, first_day, end_day, tz):
                more = queries.inbound_heatmap(workspace, Period(start, end), platform)
                for weekday, hours in enumerate(more):
                    for hour, count in enumerate(hours):
                        grid[weekday][hour] += count
            return grid
    return queries.inbound_heatmap(workspace, period, platform)


def conversations_behind(report: Report, group: str, key: str, first_only: bool) -> tuple[int, ...]:
    """The conversations behind one figure: a whole summary, one row of a breakdown or one
    period (its waits, or its first waits)."""
    if not group:
        return (report.first if first_only else report.every).conversation_ids
    if group == PERIOD_GROUP:
        for period_row in report.periods:
            if period_row.key == key:
                return (period_row.first if first_only else period_row.every).conversation_ids
        return ()
    for row in report.breakdowns.get(group, []):
        if row.key == key:
            return row.summary.conversation_ids
    return ()


# The sentiment the negative share counts (of the inbound items a classifier judged).
NEGATIVE = "negative"


@dataclass(frozen=True, slots=True)
class PersonaFigures:
    """One persona side by side with the others, over the report's period."""

    persona: Persona
    size: int  # its contacts, as of the period's end
    messages: int  # their inbound items in the period
    judged: int  # of which a classifier gave a sentiment
    negative: int  # of which negative
    first: Summary | None  # the first answers to its contacts (None: no wait in the period)
    every: Summary | None

    @property
    def negative_share(self) -> float | None:
        return self.negative / self.judged if self.judged else None


def persona_comparison(workspace: Workspace, report: Report) -> list[PersonaFigures]:
    """Every persona's size, messages, first response and answered share (from the report's
    persona breakdown) and negative share. A contact in two personas counts in both."""
    period = report.period
    every = {row.key: row.summary for row in report.breakdowns.get("persona", [])}
    members = persona_members(workspace, period.end)
    if not members:
        return []
    # The period's messages grouped by contact once (the time index), summed per persona.
    counts = {
        contact: (total, judged, negative)
        for contact, total, judged, negative in Message.objects.filter(
            workspace=workspace,
            direction=Direction.INBOUND,
            sent_at__gte=period.start,
            sent_at__lt=period.end,
        )
        .values_list("conversation__contact_id")
        .annotate(
            total=Count("pk"),
            judged=Count("pk", filter=~Q(sentiment="")),
            negative=Count("pk", filter=Q(sentiment=NEGATIVE)),
        )
        .order_by()
    }
    out = []
    for persona, contacts in members:
        theirs = [counts[contact] for contact in contacts & counts.keys()]
        key = str(persona.pk)
        out.append(
            PersonaFigures(
                persona=persona,
                size=len(contacts),
                messages=sum(c[0] for c in theirs),
                judged=sum(c[1] for c in theirs),
                negative=sum(c[2] for c in theirs),
                first=report.persona_first.get(key),
                every=every.get(key),
            )
        )
    return out
