"""The dashboard's figures for one workspace and period, assembled from queries and metrics.

The views, the CSV export and the drill-down all read this one report, so a
figure and the conversations listed behind it always agree.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from cercle.connectors.models import Channel
from cercle.workflow.sla import Clock
from cercle.workspaces.models import Member, Team, Workspace

from . import queries, rollup
from .metrics import History, Summary, Wait, breakdown, resolution_seconds, summarise, within
from .models import WaitRecord
from .queries import Period, PostCounts, PostRow, RatingRow

T = TypeVar("T")

# The breakdowns offered, by name: how a wait is grouped (the label is resolved below).
GROUPS = ("channel", "platform", "member", "team", "kind")
# The posts listed in the per-post table.
POSTS = 20


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a breakdown table."""

    key: str
    label: str
    summary: Summary


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

    @property
    def heatmap_total(self) -> int:
        return sum(sum(row) for row in self.heatmap)

    @property
    def heatmap_max(self) -> int:
        return max((max(row) for row in self.heatmap), default=0)


def build_report(workspace: Workspace, period: Period, use_rollups: bool = True) -> Report:
    """The dashboard's figures; from the rollups for the whole days they hold (when they are
    complete and counted with the workspace's clock), from the raw rows otherwise.
    `use_rollups=False` computes everything from the raw rows, with the conversation ids
    behind each figure (the drill-down)."""
    clock, clock_name = queries.workspace_clock(workspace)
    if use_rollups and rollup.rollups_usable(workspace, clock):
        tz = ZoneInfo(workspace.timezone)
        first_day = rollup.local_day(period.start, tz)
        if rollup.day_start(first_day, tz) < period.start:
            first_day += timedelta(days=1)
        end_day = rollup.local_day(period.end, tz)
        if first_day < end_day:
            return _from_rollups(workspace, period, clock, clock_name, first_day, end_day)
    return _from_raw(workspace, period, clock, clock_name)


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


def _from_raw(workspace: Workspace, period: Period, clock: Clock, clock_name: str) -> Report:
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
    tables = {name: tables[name] for name in GROUPS}
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
    )


def _from_rollups(
    workspace: Workspace,
    period: Period,
    clock: Clock,
    clock_name: str,
    first_day: date,
    end_day: date,
) -> Report:
    """The rollups of the local days [first_day, end_day), plus the raw rows of the partial
    first day and of the live tail (from `end_day` on)."""
    tz = ZoneInfo(workspace.timezone)
    waits = rollup.read_rollups(workspace.pk, first_day, end_day, WaitRecord.Metric.WAIT)
    cycles = rollup.read_rollups(workspace.pk, first_day, end_day, WaitRecord.Metric.CYCLE)
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
        rollup.tally_records((r for r in records if r.metric == WaitRecord.Metric.WAIT), waits)
        rollup.tally_records((r for r in records if r.metric == WaitRecord.Metric.CYCLE), cycles)
        part_grid, part_days = queries.inbound_times(workspace, part)
        for weekday, hours in enumerate(part_grid):
            for hour, count in enumerate(hours):
                grid[weekday][hour] += count
        days.update(part_days)
        for pk, counts in queries.post_counts(workspace, part).items():
            for into, more in zip(tail_posts[pk], counts, strict=True):
                into.update(more)
        ratings.update(queries.rating_counts(workspace, part))
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
    )


def platform_heatmap(workspace: Workspace, period: Period, platform: str) -> list[list[int]]:
    """The heatmap of one platform's inbound items (the dashboard's, narrowed): whole local days
    from the volume rollups when they are usable, the edges and the rest from the raw rows."""
    clock, _name = queries.workspace_clock(workspace)
    tz = ZoneInfo(workspace.timezone)
    if rollup.rollups_usable(workspace, clock):
        first_day = rollup.local_day(period.start, tz)
        if rollup.day_start(first_day, tz) < period.start:
            first_day += timedelta(days=1)
        end_day = rollup.local_day(period.end, tz)
        if first_day < end_day:
            _names, platform_of, _members = _labels(workspace)
            grid = [[0] * 24 for _ in range(7)]
            for day, hour, count in rollup.read_volume(
                workspace.pk, first_day, end_day, platform_of, platform
            ):
                grid[day.weekday()][hour] += count
            edges = (
                Period(period.start, rollup.day_start(first_day, tz)),
                Period(rollup.day_start(end_day, tz), period.end),
            )
            for part in edges:
                if part.start < part.end:
                    more = queries.inbound_heatmap(workspace, part, platform)
                    for weekday, hours in enumerate(more):
                        for hour, count in enumerate(hours):
                            grid[weekday][hour] += count
            return grid
    return queries.inbound_heatmap(workspace, period, platform)


def conversations_behind(report: Report, group: str, key: str, first_only: bool) -> tuple[int, ...]:
    """The conversations behind one figure: a whole summary, or one row of a breakdown."""
    if not group:
        return (report.first if first_only else report.every).conversation_ids
    for row in report.breakdowns.get(group, []):
        if row.key == key:
            return row.summary.conversation_ids
    return ()
