"""Pre-aggregation of the dashboard: what `actions.do_roll_up` keeps, and how the report reads it.

The raw computation reads a period's whole Activity log and cuts it into waits
(`metrics.read_history`); on a large history that is the dashboard's cost. So a
drain keeps, per workspace:

- `WaitRecord`: every wait and resolution cycle, exactly as `read_history` cuts
  it, with its start day (workspace time zone), what the breakdowns group by and
  its bucketed durations. When a conversation's log grows (received, replied,
  status changed, classified, merged), its records are computed again from its
  whole log and replaced, so they never drift from the raw computation;
- `DailyRollup`: per day and combination of (first?, state, channel, kind,
  responder), the count and the histograms of the durations, regrouped from the
  records of each day a batch touched;
- `VolumeRollup`: inbound messages per day, local hour and channel;
- `PostRollup`, `MessageRollup`: inbound messages per day and post, per day and
  channel, by their labels;
- `TermRollup`: per day and language, the most frequent terms of the inbound
  messages (`trends.TERMS_PER_DAY`) and the count of messages with text (the
  trends read every message through it).

The report reads the rollups for the whole local days of its period before
today and the raw rows for the rest (the partial first day and today, the live
tail). Medians and p90 read from summed histograms equal the raw ones because
both use the same buckets (`metrics.bucket`, a monotonic floor) and the
nearest-rank percentile. A workspace whose time zone, business hours or
holidays changed (its `clock_key`) is rebuilt before the rollups are read again.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum

from cercle.workflow.sla import Clock
from cercle.workspaces.choices import Verb
from cercle.workspaces.models import Activity, Workspace

from .metrics import (
    History,
    Summary,
    Wait,
    bucket,
    histogram_percentile,
    wait_business_seconds,
    wait_seconds,
)
from .models import (
    DailyRollup,
    MessageRollup,
    PostRollup,
    RollupCursor,
    RollupState,
    VolumeRollup,
    WaitRecord,
)

CURSOR = "rollup"
# The verbs after which a conversation's records are computed again.
TRIGGER_VERBS = (
    Verb.RECEIVED,
    Verb.REPLIED,
    Verb.STATUS_CHANGED,
    Verb.CLASSIFIED,
    Verb.LABEL_CORRECTED,
    Verb.MERGED,
    Verb.CONTACTS_MERGED,
)
# The verbs after which the volume and per-post counts of a message's day are counted again.
MESSAGE_VERBS = (Verb.RECEIVED, Verb.CLASSIFIED, Verb.LABEL_CORRECTED, Verb.EDITED, Verb.DELETED)
# The verbs after which the terms of a message's day are counted again (its text changed).
TEXT_VERBS = (Verb.RECEIVED, Verb.EDITED, Verb.DELETED)
# The verbs after which a workspace's rollups are rebuilt whole (messages, and with them
# conversations and their log, went away).
REBUILD_VERBS = (Verb.MESSAGES_PURGED, Verb.CONTACT_ERASED)

State = WaitRecord.State
Metric = WaitRecord.Metric


# The layout of the rollups: a change (a new column, a new table) rebuilds every workspace.
VERSION = 6


def clock_key(workspace: Workspace, clock: Clock) -> str:
    """What the rollups were counted with: their layout, the time zone of the days and the
    business clock."""
    return hashlib.sha256(f"{VERSION}|{workspace.timezone}|{clock!r}".encode()).hexdigest()[:32]


def local_day(when: datetime, tz: ZoneInfo) -> date:
    return when.astimezone(tz).date()


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The instant the local day starts (midnight, or the first instant after a DST gap)."""
    return datetime.combine(day, time(), tzinfo=tz)


def whole_days(start: datetime, end: datetime, tz: ZoneInfo) -> tuple[date, date]:
    """The local days [first, end) that lie whole inside [start, end) (empty: first >= end)."""
    first = local_day(start, tz)
    if day_start(first, tz) < start:
        first = date.fromordinal(first.toordinal() + 1)
    return first, local_day(end, tz)


def edges(
    start: datetime, end: datetime, first_day: date, end_day: date, tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """What [start, end) holds outside the whole days [first_day, end_day): the partial first
    day and the rest (today, the live tail); empty parts left out."""
    parts = [(start, day_start(first_day, tz)), (day_start(end_day, tz), end)]
    return [(a, b) for a, b in parts if a < b]


# --- records -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Facts:
    channel_id: int | None
    kind: str
    question: bool = False
    contact_id: int | None = None


def records_of(
    workspace: Workspace,
    history: History,
    facts: dict[int, Facts],
    clock: Clock,
    tz: ZoneInfo,
) -> list[WaitRecord]:
    """The records of the waits and cycles of `history` (unsaved)."""
    records = []
    for wait in history.waits:
        fact = facts.get(wait.conversation_id, Facts(None, ""))
        team = wait.answered and not wait.automated
        records.append(
            WaitRecord(
                workspace=workspace,
                conversation_id=wait.conversation_id,
                metric=Metric.WAIT,
                day=local_day(wait.started_at, tz),
                started_at=wait.started_at,
                first=wait.first,
                question=fact.question,
                state=wait_state(wait),
                channel_id=fact.channel_id,
                kind=fact.kind,
                contact_id=fact.contact_id,
                responder_id=wait.responder_id if team else None,
                seconds=bucket(wait_seconds(wait)) if wait.answered else None,
                business_seconds=(
                    bucket(wait_business_seconds(wait, clock)) if wait.answered else None
                ),
            )
        )
    for cycle in history.resolutions:
        fact = facts.get(cycle.conversation_id, Facts(None, ""))
        closed = cycle.closed_at is not None
        end = cycle.closed_at or cycle.started_at
        records.append(
            WaitRecord(
                workspace=workspace,
                conversation_id=cycle.conversation_id,
                metric=Metric.CYCLE,
                day=local_day(cycle.started_at, tz),
                started_at=cycle.started_at,
                first=False,
                question=fact.question,
                state=State.ANSWERED if closed else State.OPEN,
                channel_id=fact.channel_id,
                kind=fact.kind,
                contact_id=fact.contact_id,
                responder_id=None,
                seconds=bucket((end - cycle.started_at).total_seconds()) if closed else None,
                business_seconds=(
                    bucket(clock.working_time_between(cycle.started_at, end).total_seconds())
                    if closed
                    else None
                ),
            )
        )
    return records


def wait_state(wait: Wait) -> str:
    if wait.answered:
        return State.AUTOMATED if wait.automated else State.ANSWERED
    return State.UNANSWERED if wait.closed_unanswered else State.OPEN


def regroup_days(workspace_id: int, days: Iterable[date]) -> int:
    """Replace the `DailyRollup` rows of these days by the grouped records; rows written."""
    days = sorted(set(days))
    if not days:
        return 0
    DailyRollup.objects.filter(workspace_id=workspace_id, day__in=days).delete()
    dims = ("day", "metric", "first", "question", "state", "channel_id", "kind", "responder_id")
    rows: dict[tuple[object, ...], DailyRollup] = {}
    records = WaitRecord.objects.filter(workspace_id=workspace_id, day__in=days)
    for row in records.values(*dims).annotate(n=Count("id")).order_by():
        key = tuple(row[d] for d in dims)
        rows[key] = DailyRollup(
            workspace_id=workspace_id, count=row["n"], **{d: row[d] for d in dims}
        )
    for column, target in (("seconds", "plain"), ("business_seconds", "business")):
        grouped = (
            records.filter(**{f"{column}__isnull": False})
            .values(*dims, column)
            .annotate(n=Count("id"))
            .order_by()
        )
        for row in grouped:
            histogram = getattr(rows[tuple(row[d] for d in dims)], target)
            histogram[str(row[column])] = row["n"]
    DailyRollup.objects.bulk_create(rows.values(), batch_size=1000)
    return len(rows)


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Key:
    """What a breakdown groups a tally by."""

    first: bool
    state: str
    channel_id: int | None
    kind: str
    responder_id: int | None
    question: bool = False


@dataclass(slots=True)
class Tally:
    """Waits (or cycles) counted, with the histograms of their bucketed durations."""

    count: int = 0
    plain: Counter[int] = field(default_factory=Counter)
    business: Counter[int] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        self.count += other.count
        self.plain.update(other.plain)
        self.business.update(other.business)


Tallies = dict[Key, Tally]


def read_rollups(workspace_id: int, first_day: date, end_day: date, metric: str) -> Tallies:
    """The rollups of the local days [first_day, end_day) summed per key."""
    tallies: Tallies = defaultdict(Tally)
    rows = DailyRollup.objects.filter(
        workspace_id=workspace_id, metric=metric, day__gte=first_day, day__lt=end_day
    ).values_list(
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
        tally = tallies[Key(first, state, channel_id, kind, responder, question)]
        tally.count += count
        for value, n in (plain or {}).items():
            tally.plain[int(value)] += n
        for value, n in (business or {}).items():
            tally.business[int(value)] += n
    return tallies


def tally_records(records: Iterable[WaitRecord], tallies: Tallies) -> None:
    """Add unsaved records (the live tail computed from raw rows) to `tallies`."""
    for record in records:
        tally = tallies[
            Key(
                record.first,
                record.state,
                record.channel_id,
                record.kind,
                record.responder_id,
                record.question,
            )
        ]
        tally.count += 1
        if record.seconds is not None:
            tally.plain[record.seconds] += 1
        if record.business_seconds is not None:
            tally.business[record.business_seconds] += 1


def summary_of(tallies: Iterable[tuple[Key, Tally]]) -> Summary:
    """The same `Summary` as `metrics.summarise` on the waits counted (no conversation ids)."""
    waits = answered = automated = unanswered = 0
    total = Tally()
    for key, tally in tallies:
        waits += tally.count
        if key.state in (State.ANSWERED, State.AUTOMATED):
            answered += tally.count
        if key.state == State.AUTOMATED:
            automated += tally.count
        if key.state == State.UNANSWERED:
            unanswered += tally.count
        if key.state == State.ANSWERED:
            total.add(tally)
    return Summary(
        waits=waits,
        answered=answered,
        automated=automated,
        closed_unanswered=unanswered,
        median_seconds=histogram_percentile(total.plain, 0.5),
        p90_seconds=histogram_percentile(total.plain, 0.9),
        median_business_seconds=histogram_percentile(total.business, 0.5),
        p90_business_seconds=histogram_percentile(total.business, 0.9),
        conversation_ids=(),
        histogram=tuple(sorted((value, n) for value, n in total.plain.items() if n)),
    )


def cycle_medians(tallies: Tallies) -> tuple[float | None, float | None]:
    closed = Tally()
    for key, tally in tallies.items():
        if key.state == State.ANSWERED:
            closed.add(tally)
    return histogram_percentile(closed.plain, 0.5), histogram_percentile(closed.business, 0.5)


def read_volume(
    workspace_id: int, first_day: date, end_day: date, platform_of: dict[int, str], platform: str
) -> list[tuple[date, int, int]]:
    """(day, hour, count) of inbound messages over the local days [first_day, end_day)."""
    query = VolumeRollup.objects.filter(
        workspace_id=workspace_id, day__gte=first_day, day__lt=end_day
    )
    if platform:
        query = query.filter(
            channel_id__in=[pk for pk, name in platform_of.items() if name == platform]
        )
    return list(query.values_list("day", "hour", "count"))


PostCounts = dict[int, tuple[Counter[str], Counter[str], Counter[str]]]


def read_top_posts(
    workspace_id: int, first_day: date, end_day: date, tail: PostCounts, limit: int
) -> PostCounts:
    """The counts (by kind, intent and sentiment) over [first_day, end_day) plus `tail` of the
    `limit` posts that drew the most inbound messages (ties: the oldest post first). The
    database sums each post's rows; only the chosen posts' details are read."""
    volume: Counter[int] = Counter(
        dict(
            PostRollup.objects.filter(
                workspace_id=workspace_id, day__gte=first_day, day__lt=end_day
            )
            .values_list("post_id")
            .annotate(n=Sum("count"))
            .order_by()
            .values_list("post_id", "n")
        )
    )
    for pk, (kinds, _intents, _sentiments) in tail.items():
        volume[pk] += sum(kinds.values())
    top = sorted((pk for pk, n in volume.items() if n > 0), key=lambda pk: (-volume[pk], pk))
    chosen = top[:limit]
    counts: PostCounts = defaultdict(lambda: (Counter(), Counter(), Counter()))
    rows = PostRollup.objects.filter(
        workspace_id=workspace_id, day__gte=first_day, day__lt=end_day, post_id__in=chosen
    ).values_list("post_id", "kind", "intent", "sentiment", "count")
    for pk in chosen:
        if pk in tail:
            for into, part in zip(counts[pk], tail[pk], strict=True):
                into.update(part)
    for post_id, kind, intent, sentiment, n in rows.iterator(chunk_size=5000):
        kinds, intents, sentiments = counts[post_id]
        kinds[kind] += n
        if intent:
            intents[intent] += n
        if sentiment:
            sentiments[sentiment] += n
    return counts


def read_ratings(workspace_id: int, first_day: date, end_day: date) -> Counter[tuple[int, int]]:
    """(channel id, star) → reviews over [first_day, end_day)."""
    rows = (
        MessageRollup.objects.filter(
            workspace_id=workspace_id,
            day__gte=first_day,
            day__lt=end_day,
            kind="review",
            rating__gte=1,
            rating__lte=5,
        )
        .values_list("channel_id", "rating")
        .annotate(n=Sum("count"))
        .order_by()
    )
    return Counter({(channel_id, int(rating)): n for channel_id, rating, n in rows})


def read_mix(workspace_id: int, first_day: date, end_day: date) -> Iterable[tuple[Any, ...]]:
    """(channel id, kind, intent, count) of the inbound messages over [first_day, end_day)."""
    return (
        MessageRollup.objects.filter(workspace_id=workspace_id, day__gte=first_day, day__lt=end_day)
        .values_list("channel_id", "kind", "intent")
        .annotate(n=Sum("count"))
        .order_by()
    )


def rollups_usable(workspace: Workspace, clock: Clock) -> bool:
    state = RollupState.objects.filter(workspace=workspace).first()
    return state is not None and state.ready and state.clock_key == clock_key(workspace, clock)


def has_work() -> bool:
    """Whether the drain has anything to do (the scheduler asks before enqueueing it)."""
    from . import queries

    cursor = RollupCursor.objects.filter(name=CURSOR).first()
    if cursor is None:
        return Workspace.objects.exists()
    gap_ids = [g[0] for g in cursor.gaps if isinstance(g, list) and g]
    if Activity.objects.filter(Q(id__gt=cursor.last_id) | Q(id__in=gap_ids)).exists():
        return True
    states = {s.workspace_id: s for s in RollupState.objects.all()}
    for workspace in Workspace.objects.all():
        state = states.get(workspace.pk)
        if state is None or not state.ready:
            return True
        clock, _name = queries.workspace_clock(workspace)
        if state.clock_key != clock_key(workspace, clock):
            return True
    return False


__all__ = [
    "CURSOR",
    "MESSAGE_VERBS",
    "REBUILD_VERBS",
    "TEXT_VERBS",
    "TRIGGER_VERBS",
    "Facts",
    "Key",
    "Tally",
    "clock_key",
    "cycle_medians",
    "day_start",
    "has_work",
    "local_day",
    "read_ratings",
    "read_rollups",
    "read_top_posts",
    "read_volume",
    "records_of",
    "regroup_days",
    "rollups_usable",
    "summary_of",
    "tally_records",
]
