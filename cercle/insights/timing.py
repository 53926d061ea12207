"""When to publish and when to answer: estimates from the history, with what each rests on.

- **Best time to publish.** For each hour of the day (the workspace's time zone):
  how much the community writes then (inbound items per hour, on average), how
  many of the brand's posts were published at that hour, and how many comments
  and replies each drew in its first day (the median). An hour is rated on its
  posts' response once it holds `MIN_POSTS` posts; the best hours are those whose
  posts drew most. Without enough posts the estimate falls back on the
  community's activity alone, and says so.
- **Staffing to answer in time.** For each weekday × hour: the items that need a
  reply arriving in that hour (on average over the period), the members who
  actually worked then (who did something in the Activity log, on average), and
  the members needed so that `SERVICE_LEVEL` of the items are answered within the
  SLA target. The need comes from Erlang C (the standard model of a queue served
  by several agents), with the team's own pace: the median time between a member's
  consecutive replies when they follow within `BURST_GAP` (the time one reply takes
  in a run of work). With fewer than `MIN_GAPS` such gaps the pace is assumed
  (`DEFAULT_HANDLE_MINUTES`), and the page says so.

Each figure carries the history it rests on (items, posts, replies, member-hours),
so a team can see how far to trust it. The arrivals (inbound items, those that may
need a reply) come from the rollups (`VolumeRollup`) for the whole local days they
hold, from the messages for today; the members' work and pace need each reply's
time, which no rollup keeps (`WaitRecord` holds a wait's start and bucketed length,
not who acted when), so they are read from the period's Activity rows (timestamps
only, folded in Python; at most 90 days).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, F

from cercle.inbox.choices import Direction
from cercle.inbox.models import Message, Post
from cercle.workflow.models import SlaPolicy
from cercle.workspaces.choices import Verb
from cercle.workspaces.models import Activity, Workspace

from . import queries, rollup
from .metrics import local_hour
from .models import VolumeRollup
from .queries import EpochSeconds, Period

# Posts an hour needs before it is rated on what its posts drew.
MIN_POSTS = 2
# A post's response: the comments and replies of its first day.
FIRST_DAY = timedelta(hours=24)
# The share of items to answer within the target, for the staffing estimate.
SERVICE_LEVEL = 0.9
# The target when no SLA policy sets one (minutes).
DEFAULT_TARGET_MINUTES = 60
# Two replies of a member this close belong to one run of work: their gap is a reply's time.
BURST_GAP = timedelta(minutes=15)
# Gaps needed to measure the team's pace; below, one reply every DEFAULT_HANDLE_MINUTES.
MIN_GAPS = 20
DEFAULT_HANDLE_MINUTES = 4.0
# The most members the staffing estimate will ask for in one hour.
MAX_STAFF = 200
BEST = 3


@dataclass(frozen=True, slots=True)
class PublishHour:
    hour: int
    # Inbound items written in this hour of the day, per day on average.
    activity: float
    posts: int
    # The median first-day response of the posts published at this hour (None: too few).
    response: float | None


@dataclass(frozen=True, slots=True)
class StaffSlot:
    weekday: int
    hour: int
    # Items needing a reply arriving in this hour, per week on average.
    arrivals: float
    # Members who worked in this hour, per week on average.
    working: float
    # Members needed for the target (None: no pace measured yet).
    needed: int | None

    @property
    def short(self) -> bool:
        return self.needed is not None and self.needed > 0 and self.working + 0.5 < self.needed


@dataclass
class Timing:
    period: Period
    time_zone: str
    hours: list[PublishHour] = field(default_factory=list)
    best_hours: list[PublishHour] = field(default_factory=list)
    # Whether the best hours come from the posts' response (else from activity alone).
    rated_on_posts: bool = False
    best_weekdays: list[tuple[int, float]] = field(default_factory=list)
    inbound: int = 0
    posts: int = 0
    # Staffing.
    target_minutes: int = DEFAULT_TARGET_MINUTES
    target_name: str = ""
    replies: int = 0
    member_hours: int = 0
    # Minutes per reply in a run of work, and how many gaps measured it (0: assumed).
    handle_minutes: float = DEFAULT_HANDLE_MINUTES
    gaps: int = 0
    pace: float | None = None
    needing_reply: int = 0
    slots: list[list[StaffSlot]] = field(default_factory=list)

    @property
    def short_slots(self) -> list[StaffSlot]:
        """The hours with fewer members than needed: the largest gap, then the busiest, first."""
        short = [s for row in self.slots for s in row if s.short]
        return sorted(
            short, key=lambda s: (s.working - (s.needed or 0), -s.arrivals, s.weekday, s.hour)
        )


def erlang_c_staff(arrivals: float, pace: float, target_minutes: float, level: float) -> int:
    """The fewest agents answering `level` of the items within the target (Erlang C).

    `arrivals` per hour, `pace` items per agent-hour. Erlang B by its stable
    recursion, then C = nB / (n − a(1 − B)); the service level is
    1 − C·exp(−(n − a)·pace·t).
    """
    if arrivals <= 0:
        return 0
    load = arrivals / pace
    blocking = 1.0
    for agents in range(1, MAX_STAFF + 1):
        blocking = load * blocking / (agents + load * blocking)
        if agents <= load:
            continue
        waiting = agents * blocking / (agents - load * (1 - blocking))
        served = 1 - waiting * math.exp(-(agents - load) * pace * target_minutes / 60)
        if served >= level:
            return agents
    return MAX_STAFF


def _days_by_weekday(period: Period, tz: ZoneInfo) -> Counter[int]:
    """How many times each weekday occurs in the period (local days, at least once)."""
    first: date = period.start.astimezone(tz).date()
    last: date = (period.end - timedelta(microseconds=1)).astimezone(tz).date()
    counts: Counter[int] = Counter()
    day = first
    while day <= last:
        counts[day.weekday()] += 1
        day += timedelta(days=1)
    return counts


def _target(workspace: Workspace) -> tuple[int, str]:
    policy = (
        SlaPolicy.objects.filter(workspace=workspace, is_active=True)
        .order_by("position", "id")
        .values_list("first_response_minutes", "name")
        .first()
    )
    return (int(policy[0]), str(policy[1])) if policy else (DEFAULT_TARGET_MINUTES, "")


def build_timing(workspace: Workspace, period: Period, use_rollups: bool = True) -> Timing:
    tz = ZoneInfo(workspace.timezone)
    timing = Timing(period=period, time_zone=workspace.timezone)
    occurrences = _days_by_weekday(period, tz)
    by_hour, by_weekday, needing = _community(workspace, period, tz, timing, use_rollups)
    _publish(workspace, period, tz, timing, by_hour, max(1, sum(occurrences.values())))
    timing.best_weekdays = sorted(
        (
            (weekday, by_weekday[weekday] / occurrences[weekday])
            for weekday in range(7)
            if occurrences[weekday] and by_weekday[weekday]
        ),
        key=lambda item: -item[1],
    )[:BEST]
    _staffing(workspace, period, tz, timing, needing, occurrences)
    return timing


def _community(
    workspace: Workspace, period: Period, tz: ZoneInfo, timing: Timing, use_rollups: bool
) -> tuple[Counter[int], Counter[int], Counter[tuple[int, int]]]:
    """Inbound items by local hour and weekday; those needing a reply by weekday × hour: from
    the `VolumeRollup` rows for the whole local days they hold (when complete), from the
    messages for the rest (the partial first day, today)."""
    by_hour: Counter[int] = Counter()
    by_weekday: Counter[int] = Counter()
    needing: Counter[tuple[int, int]] = Counter()
    raw_parts = [(period.start, period.end)]
    clock_, _name = queries.workspace_clock(workspace)
    if use_rollups and rollup.rollups_usable(workspace, clock_):
        first_day, end_day = rollup.whole_days(period.start, period.end, tz)
        if first_day < end_day:
            rows = VolumeRollup.objects.filter(
                workspace=workspace, day__gte=first_day, day__lt=end_day
            ).values_list("day", "hour", "count", "needing")
            for day, hour, count, needing_count in rows.iterator(chunk_size=5000):
                by_hour[hour] += count
                by_weekday[day.weekday()] += count
                needing[(day.weekday(), hour)] += needing_count
                timing.inbound += count
                timing.needing_reply += needing_count
            raw_parts = rollup.edges(period.start, period.end, first_day, end_day, tz)
    for start, end in raw_parts:
        inbound = Message.objects.filter(
            workspace=workspace,
            direction=Direction.INBOUND,
            sent_at__gte=start,
            sent_at__lt=end,
        ).values_list("sent_at", "needs_reply")
        for sent_at, needs_reply in inbound.iterator(chunk_size=5000):
            if sent_at is None:
                continue
            local = sent_at.astimezone(tz)
            by_hour[local.hour] += 1
            by_weekday[local.weekday()] += 1
            timing.inbound += 1
            if needs_reply is not False:
                needing[(local.weekday(), local.hour)] += 1
                timing.needing_reply += 1
    return by_hour, by_weekday, needing


def _first_day_responses(
    workspace: Workspace, period: Period, tz: ZoneInfo
) -> dict[int, list[int]]:
    """Per local hour of publication: the first-day inbound count of each post published then
    (counted by the database, one row per post)."""
    posts: dict[int, datetime] = {
        pk: published
        for pk, published in Post.objects.filter(
            workspace=workspace,
            published_at__gte=period.start,
            published_at__lt=period.end - FIRST_DAY,
        ).values_list("pk", "published_at")
        if published is not None
    }
    drawn: Counter[int] = Counter()
    if posts:
        answers = (
            Message.objects.filter(
                workspace=workspace,
                direction=Direction.INBOUND,
                conversation__post_id__in=list(posts),
                # Bounds the read to the posts' first days before the per-post test below.
                sent_at__gte=min(posts.values()),
                sent_at__lt=max(posts.values()) + FIRST_DAY,
            )
            .filter(
                sent_at__gte=F("conversation__post__published_at"),
                sent_at__lt=F("conversation__post__published_at") + FIRST_DAY,
            )
            .values_list("conversation__post_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        drawn.update(dict(answers.values_list("conversation__post_id", "n")))
    by_publish_hour: dict[int, list[int]] = defaultdict(list)
    for post_id, published in posts.items():
        by_publish_hour[published.astimezone(tz).hour].append(drawn[post_id])
    return by_publish_hour


def _median(values: list[int]) -> float | None:
    if len(values) < MIN_POSTS:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def _publish(
    workspace: Workspace,
    period: Period,
    tz: ZoneInfo,
    timing: Timing,
    by_hour: Counter[int],
    days: int,
) -> None:
    by_publish_hour = _first_day_responses(workspace, period, tz)
    timing.posts = sum(len(v) for v in by_publish_hour.values())
    for hour in range(24):
        responses = by_publish_hour.get(hour, [])
        timing.hours.append(
            PublishHour(hour, by_hour[hour] / days, len(responses), _median(responses))
        )
    rated = [h for h in timing.hours if h.response is not None]
    timing.rated_on_posts = bool(rated)
    if rated:
        timing.best_hours = sorted(rated, key=lambda h: (-(h.response or 0), -h.activity))[:BEST]
    else:
        active = [h for h in timing.hours if h.activity > 0]
        timing.best_hours = sorted(active, key=lambda h: (-h.activity, h.hour))[:BEST]


def _staffing(
    workspace: Workspace,
    period: Period,
    tz: ZoneInfo,
    timing: Timing,
    needing: Counter[tuple[int, int]],
    occurrences: Counter[int],
) -> None:
    """Who worked when (anything they did in the Activity log), the team's pace, the need."""
    worked: set[tuple[int, date, int]] = set()
    replied_at: dict[int, list[int]] = defaultdict(list)
    # Epoch seconds rather than datetimes: the period's log can hold a hundred thousand
    # members' actions, and building a timezone-aware datetime per row was most of the cost.
    acts = (
        Activity.objects.filter(
            workspace=workspace,
            actor__isnull=False,
            created_at__gte=period.start,
            created_at__lt=period.end,
        )
        .annotate(epoch=EpochSeconds("created_at"))
        .values_list("actor_id", "epoch", "verb")
    )
    local_hours: dict[int, tuple[date, int]] = {}
    for actor_id, epoch, verb in acts.iterator(chunk_size=5000):
        worked.add((actor_id, *local_hour(int(epoch), tz, local_hours)))
        if verb == Verb.REPLIED:
            replied_at[actor_id].append(int(epoch))
    burst = BURST_GAP.total_seconds()
    gaps = [
        (later - earlier) / 60
        for times in replied_at.values()
        for earlier, later in itertools.pairwise(sorted(times))
        if 0 < later - earlier <= burst
    ]
    timing.replies = sum(len(times) for times in replied_at.values())
    timing.member_hours, timing.gaps = len(worked), len(gaps)
    if len(gaps) >= MIN_GAPS:
        timing.handle_minutes = max(0.5, statistics.median(gaps))
    else:
        timing.gaps = 0
    timing.pace = 60 / timing.handle_minutes
    working: Counter[tuple[int, int]] = Counter(
        (day.weekday(), hour) for _actor, day, hour in worked
    )
    timing.target_minutes, timing.target_name = _target(workspace)
    for weekday in range(7):
        weeks = max(1, occurrences[weekday])
        row = []
        for hour in range(24):
            arrivals = needing[(weekday, hour)] / weeks
            needed = (
                erlang_c_staff(arrivals, timing.pace, timing.target_minutes, SERVICE_LEVEL)
                if timing.pace
                else None
            )
            row.append(StaffSlot(weekday, hour, arrivals, working[(weekday, hour)] / weeks, needed))
        timing.slots.append(row)
