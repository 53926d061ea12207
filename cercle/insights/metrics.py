"""Response metrics, computed from the Activity log so they are right by construction.

The log of a conversation is read in order and cut into **waits**: a wait
starts with the first inbound item after the team last answered (or after the
conversation was opened or reopened) and ends with the next reply. So:

- the *first response time* is the first wait of a conversation;
- *every response time* is every wait;
- a conversation closed and reopened by a new message starts a new wait (and a
  new resolution cycle) instead of stretching the old one;
- a wait closed without a reply is *closed unanswered* (no reply was needed, or
  the team chose not to answer), never a response;
- a reply by an automation (a rule, an auto-reply) ends the wait but counts as
  automated, separately from the team's replies.

Durations are measured around the clock and in business hours (a
`workflow.sla.Clock`). Everything here is pure: the caller loads the rows.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from cercle.workflow.sla import Clock


@dataclass(frozen=True, slots=True)
class Event:
    """One Activity row, as the metrics read it."""

    conversation_id: int
    verb: str  # received, replied, status_changed
    at: datetime
    member_id: int | None = None
    automated: bool = False
    new_status: str = ""


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    """What a breakdown groups by."""

    channel_id: int
    platform: str
    kind: str


@dataclass(slots=True)
class Wait:
    """The community waited for an answer from `started_at`; `ended_at` is the reply (or None)."""

    conversation_id: int
    started_at: datetime
    first: bool
    ended_at: datetime | None = None
    responder_id: int | None = None
    automated: bool = False
    closed_unanswered: bool = False

    @property
    def answered(self) -> bool:
        return self.ended_at is not None


@dataclass(slots=True)
class Resolution:
    """One cycle from the first inbound item to the close (None while open)."""

    conversation_id: int
    started_at: datetime
    closed_at: datetime | None = None


@dataclass(slots=True)
class History:
    """The waits and resolution cycles found in a stream of events."""

    waits: list[Wait] = field(default_factory=list)
    resolutions: list[Resolution] = field(default_factory=list)


def read_history(events: Iterable[Event]) -> History:
    """Cut the events (ordered by conversation, then time) into waits and resolution cycles."""
    history = History()
    open_wait: dict[int, Wait] = {}
    open_cycle: dict[int, Resolution] = {}
    seen: set[int] = set()
    for event in events:
        cid = event.conversation_id
        if event.verb == "received":
            if cid not in open_wait:
                wait = Wait(cid, event.at, first=cid not in seen)
                seen.add(cid)
                open_wait[cid] = wait
                history.waits.append(wait)
            if cid not in open_cycle:
                cycle = Resolution(cid, event.at)
                open_cycle[cid] = cycle
                history.resolutions.append(cycle)
        elif event.verb == "replied":
            answered = open_wait.pop(cid, None)
            if answered is not None:
                answered.ended_at = max(event.at, answered.started_at)
                answered.responder_id = event.member_id
                answered.automated = event.automated
        elif event.verb == "status_changed" and event.new_status == "closed":
            unanswered = open_wait.pop(cid, None)
            if unanswered is not None:
                unanswered.closed_unanswered = True
            closed = open_cycle.pop(cid, None)
            if closed is not None:
                closed.closed_at = max(event.at, closed.started_at)
    return history


# Durations are counted in buckets, so that a day's histogram is small and a median or a p90
# read from summed histograms equals the one of the raw values: (upper limit, step) in seconds,
# a duration is floored to its step. Seconds under 2 min, minutes under 2 h, 5 min under 12 h,
# a quarter hour under 2 days, then hours.
BUCKET_STEPS = ((120, 1), (7_200, 60), (43_200, 300), (172_800, 900), (math.inf, 3_600))


def bucket(seconds: float) -> int:
    """The bucket of a duration: its floor to the step of its range (monotonic)."""
    value = max(0.0, seconds)
    for limit, step in BUCKET_STEPS:
        if value < limit:
            return int(value // step) * step
    raise AssertionError("unreachable")


def histogram_percentile(histogram: dict[int, int], fraction: float) -> float | None:
    """Nearest-rank percentile of the values a histogram (value → count) counts."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return float(value)
    return None


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The value below which `fraction` of `values` fall (nearest-rank), None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Summary:
    """The figures of one group of waits."""

    waits: int
    answered: int
    automated: int
    closed_unanswered: int
    median_seconds: float | None
    p90_seconds: float | None
    median_business_seconds: float | None
    p90_business_seconds: float | None
    conversation_ids: tuple[int, ...]
    # The team's answer times around the clock: (bucketed seconds, how many), shortest first.
    histogram: tuple[tuple[int, int], ...] = ()

    @property
    def needing_answer(self) -> int:
        """The waits that needed an answer: all but those closed without a reply."""
        return self.waits - self.closed_unanswered

    @property
    def answered_share(self) -> float | None:
        """Answered by the team or an automation, among the waits that needed an answer."""
        needing = self.needing_answer
        return (self.answered / needing) if needing else None


def wait_seconds(wait: Wait) -> float:
    return ((wait.ended_at or wait.started_at) - wait.started_at).total_seconds()


def wait_business_seconds(wait: Wait, clock: Clock) -> float:
    return clock.working_time_between(
        wait.started_at, wait.ended_at or wait.started_at
    ).total_seconds()


def summarise(waits: Sequence[Wait], clock: Clock) -> Summary:
    """Median and p90 of the team's answers (automated ones counted apart), both clocks."""
    by_team = [w for w in waits if w.answered and not w.automated]
    plain = [bucket(wait_seconds(w)) for w in by_team]
    business = [bucket(wait_business_seconds(w, clock)) for w in by_team]
    return Summary(
        waits=len(waits),
        answered=sum(1 for w in waits if w.answered),
        automated=sum(1 for w in waits if w.automated),
        closed_unanswered=sum(1 for w in waits if w.closed_unanswered),
        median_seconds=percentile(plain, 0.5),
        p90_seconds=percentile(plain, 0.9),
        median_business_seconds=percentile(business, 0.5),
        p90_business_seconds=percentile(business, 0.9),
        conversation_ids=tuple(dict.fromkeys(w.conversation_id for w in waits)),
        histogram=tuple(sorted(Counter(plain).items())),
    )


# The distribution's bins: (upper bound in seconds, excluded), the last one open.
DISTRIBUTION_BINS = (5 * 60, 15 * 60, 3600, 4 * 3600, 24 * 3600)


def distribution(histogram: Sequence[tuple[int, int]]) -> list[int]:
    """How many answers fell in each bin of DISTRIBUTION_BINS (and after the last)."""
    counts = [0] * (len(DISTRIBUTION_BINS) + 1)
    for seconds, n in histogram:
        index = next(
            (i for i, bound in enumerate(DISTRIBUTION_BINS) if seconds < bound),
            len(DISTRIBUTION_BINS),
        )
        counts[index] += n
    return counts


def breakdown(
    waits: Sequence[Wait], key: Callable[[Wait], Hashable], clock: Clock
) -> dict[Hashable, Summary]:
    """A summary per value of `key` (a channel, a member, a kind…)."""
    groups: dict[Hashable, list[Wait]] = defaultdict(list)
    for wait in waits:
        groups[key(wait)].append(wait)
    return {value: summarise(group, clock) for value, group in groups.items()}


def resolution_seconds(
    cycles: Sequence[Resolution], clock: Clock
) -> tuple[float | None, float | None]:
    """Median resolution time of the closed cycles, around the clock and in business hours."""
    closed = [c for c in cycles if c.closed_at is not None]
    plain = [bucket(((c.closed_at or c.started_at) - c.started_at).total_seconds()) for c in closed]
    business = [
        bucket(
            clock.working_time_between(c.started_at, c.closed_at or c.started_at).total_seconds()
        )
        for c in closed
    ]
    return percentile(plain, 0.5), percentile(business, 0.5)


def heatmap(times: Iterable[datetime], tz: tzinfo) -> list[list[int]]:
    """Counts per weekday (Monday = 0) × hour, in the time zone `tz`."""
    grid = [[0] * 24 for _ in range(7)]
    for when in times:
        local = when.astimezone(tz)
        grid[local.weekday()][local.hour] += 1
    return grid


def local_hour(epoch: int, tz: tzinfo, cache: dict[int, tuple[date, int]]) -> tuple[date, int]:
    """The local day and hour of an instant (epoch seconds). A UTC hour that falls in one local
    hour (whole-hour offsets, away from a clock change) is converted once and cached."""
    utc_hour = epoch // 3600
    hit = cache.get(utc_hour)
    if hit is not None:
        return hit
    start = datetime.fromtimestamp(utc_hour * 3600, tz)
    end = datetime.fromtimestamp(utc_hour * 3600 + 3599, tz)
    if start.minute == 0 and (start.date(), start.hour) == (end.date(), end.hour):
        cache[utc_hour] = (start.date(), start.hour)
        return cache[utc_hour]
    local = datetime.fromtimestamp(epoch, tz)
    return local.date(), local.hour


def within(waits: Iterable[Wait], start: datetime, end: datetime) -> list[Wait]:
    """The waits that started in [start, end)."""
    return [w for w in waits if start <= w.started_at < end]


__all__ = [
    "ConversationFacts",
    "Event",
    "History",
    "Resolution",
    "Summary",
    "Wait",
    "breakdown",
    "bucket",
    "heatmap",
    "histogram_percentile",
    "local_hour",
    "percentile",
    "read_history",
    "resolution_seconds",
    "summarise",
    "within",
]
