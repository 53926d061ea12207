"""The dashboard's figures for one workspace and period, assembled from queries and metrics.

The views, the CSV export and the drill-down all read this one report, so a
figure and the conversations listed behind it always agree.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from cercle.connectors.models import Channel
from cercle.workspaces.models import Member, Workspace

from . import queries
from .metrics import Summary, Wait, breakdown, resolution_seconds, summarise, within
from .queries import Period, PostRow

# The breakdowns offered, by name: how a wait is grouped (the label is resolved below).
GROUPS = ("channel", "platform", "member", "kind")


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

    @property
    def heatmap_total(self) -> int:
        return sum(sum(row) for row in self.heatmap)

    @property
    def heatmap_max(self) -> int:
        return max((max(row) for row in self.heatmap), default=0)


def build_report(workspace: Workspace, period: Period) -> Report:
    clock, clock_name = queries.workspace_clock(workspace)
    history = queries.history(workspace, period)
    waits = within(history.waits, period.start, period.end)
    cycles = [c for c in history.resolutions if period.start <= c.started_at < period.end]
    facts = queries.conversation_facts(workspace, {w.conversation_id for w in waits})
    channels = dict(Channel.objects.filter(workspace=workspace).values_list("pk", "name"))
    members = {
        m.pk: m.name for m in Member.objects.filter(workspace=workspace).select_related("user")
    }

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
        posts=queries.per_post(workspace, period),
        daily=queries.daily_volume(workspace, period),
    )


def conversations_behind(report: Report, group: str, key: str, first_only: bool) -> tuple[int, ...]:
    """The conversations behind one figure: a whole summary, or one row of a breakdown."""
    if not group:
        return (report.first if first_only else report.every).conversation_ids
    for row in report.breakdowns.get(group, []):
        if row.key == key:
            return row.summary.conversation_ids
    return ()
