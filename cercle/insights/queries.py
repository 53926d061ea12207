"""Reads of the insights, scoped by workspace: the log's events, conversation facts, volumes.

Each read is a handful of queries whose rows are streamed (`iterator`) into the
pure computations of `metrics`; nothing here writes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Func, IntegerField, QuerySet

from cercle.connectors.models import Channel
from cercle.inbox.choices import Direction
from cercle.inbox.models import Conversation, Message, Post
from cercle.workflow.models import BusinessHours, SlaPolicy, holiday_days
from cercle.workflow.sla import Clock
from cercle.workspaces.choices import Verb
from cercle.workspaces.models import Activity, Workspace

from . import rollup
from .metrics import ConversationFacts, Event, History, heatmap, read_history
from .rollup import Facts

# The intent of a message asking something (the questions' goal).
QUESTION = "question"
# The verbs the response metrics read.
METRIC_VERBS = (Verb.RECEIVED, Verb.REPLIED, Verb.STATUS_CHANGED)


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in UTC, and how it is shown."""

    start: datetime
    end: datetime

    @classmethod
    def last_days(cls, days: int, now: datetime) -> Period:
        return cls(now - timedelta(days=days), now)

    @classmethod
    def local_days(cls, days: int, now: datetime, tz: ZoneInfo) -> Period:
        """The last `days` local days up to `now`: from the midnight (workspace time zone)
        `days - 1` days before today's, so the period holds whole days and today so far."""
        first = now.astimezone(tz).date() - timedelta(days=days - 1)
        return cls(datetime.combine(first, time(), tzinfo=tz), now)


class EpochSeconds(Func):
    """A datetime column as whole seconds since 1970 (UTC): for folding many rows' times in
    Python without building a timezone-aware datetime per row."""

    output_field = IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # julianday() is exact to about 50 µs at today's dates: the 1 ms added makes the cast
        # floor to the whole second (strftime's "%s" would trip the debug cursor's formatting).
        return self.as_sql(
            compiler,
            connection,
            template="CAST((julianday(%(expressions)s) - 2440587.5) * 86400.0 + 0.001 AS INTEGER)",
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="CAST(FLOOR(EXTRACT(EPOCH FROM %(expressions)s)) AS BIGINT)",
        )


def workspace_clock(workspace: Workspace) -> tuple[Clock, str]:
    """The business hours the metrics count in: those of the first SLA policy that has some,
    else the workspace's first schedule; around the clock when there is none. With its name."""
    policy = (
        SlaPolicy.objects.filter(workspace=workspace, is_active=True, business_hours__isnull=False)
        .select_related("business_hours")
        .order_by("position", "id")
        .first()
    )
    hours = policy.business_hours if policy else None
    hours = hours or BusinessHours.objects.filter(workspace=workspace).order_by("id").first()
    if hours is None:
        return Clock.around_the_clock(), ""
    return Clock.from_schedule(hours.time_zone, hours.weekly, holiday_days(hours)), hours.name


def history(workspace: Workspace, period: Period) -> History:
    """Waits and resolution cycles of the conversations that received something in the period."""
    touched = Activity.objects.filter(
        workspace=workspace,
        verb=Verb.RECEIVED,
        created_at__gte=period.start,
        created_at__lt=period.end,
    ).values("conversation_id")
    # By conversation alone (the subquery keeps the workspace's): with the workspace in the
    # outer filter SQLite walks the workspace's whole log by verb (1.4 s of the dashboard's
    # 1.6 s at a million messages).
    return _read(Activity.objects.filter(conversation_id__in=touched, verb__in=METRIC_VERBS))


def history_of_conversations(workspace: Workspace, ids: set[int]) -> History:
    """Waits and resolution cycles of these conversations (the workspace's), over their whole
    log. The rows are found by conversation alone: with the workspace in the filter SQLite,
    which keeps no statistics, walks the workspace's whole log by verb instead."""
    del workspace  # the ids are the workspace's conversations
    return _read(Activity.objects.filter(conversation_id__in=list(ids), verb__in=METRIC_VERBS))


def _read(activities: QuerySet[Activity]) -> History:
    rows = activities.order_by("conversation_id", "created_at", "id").values_list(
        "conversation_id", "verb", "created_at", "actor_id", "automation", "data"
    )
    events = (
        Event(
            conversation_id=conversation_id,
            verb=verb,
            at=created_at,
            member_id=actor_id,
            automated=actor_id is None and bool(automation),
            new_status=str((data or {}).get("new", "")),
        )
        for conversation_id, verb, created_at, actor_id, automation, data in rows.iterator(
            chunk_size=5000
        )
    )
    return read_history(events)


def conversation_facts(workspace: Workspace, ids: set[int]) -> dict[int, ConversationFacts]:
    facts: dict[int, ConversationFacts] = {}
    query = Conversation.objects.filter(workspace=workspace, pk__in=ids).values_list(
        "pk", "channel_id", "channel__platform", "kind"
    )
    for pk, channel_id, platform, kind in query.iterator(chunk_size=5000):
        facts[pk] = ConversationFacts(channel_id=channel_id, platform=platform, kind=kind)
    return facts


def rollup_facts(workspace: Workspace, ids: set[int]) -> dict[int, Facts]:
    """What the rollup records of these conversations group by, with whether each holds an
    inbound question (the questions' goal)."""
    # By conversation alone, as `history_of_conversations` (the ids are the workspace's).
    questions = set(
        Message.objects.filter(
            conversation_id__in=list(ids),
            direction=Direction.INBOUND,
            intent=QUESTION,
        )
        .values_list("conversation_id", flat=True)
        .distinct()
    )
    conversations = Conversation.objects.filter(workspace=workspace, pk__in=ids).values_list(
        "pk", "channel_id", "kind", "contact_id"
    )
    return {
        pk: Facts(channel_id, kind, pk in questions, contact_id)
        for pk, channel_id, kind, contact_id in conversations.iterator(chunk_size=5000)
    }


def inbound_heatmap(workspace: Workspace, period: Period, platform: str = "") -> list[list[int]]:
    """Inbound items per weekday × hour in the workspace's time zone."""
    query = Message.objects.filter(
        workspace=workspace,
        direction=Direction.INBOUND,
        sent_at__gte=period.start,
        sent_at__lt=period.end,
    )
    if platform:
        query = query.filter(channel__platform=platform)
    times = query.values_list("sent_at", flat=True).iterator(chunk_size=5000)
    return heatmap((t for t in times if t is not None), ZoneInfo(workspace.timezone))


@dataclass(frozen=True, slots=True)
class PostRow:
    """What one of the brand's posts drew in the period."""

    post_id: int
    text: str
    url: str
    platform: str
    inbound: int
    by_kind: dict[str, int]
    by_intent: dict[str, int]
    by_sentiment: dict[str, int]


PostCounts = dict[int, tuple[Counter[str], Counter[str], Counter[str]]]


def per_post(workspace: Workspace, period: Period, limit: int = 20) -> list[PostRow]:
    """The posts that drew the most inbound items in the period, with kinds, intents and sentiment."""
    return post_rows(workspace, post_counts(workspace, period), limit)


def post_counts(workspace: Workspace, period: Period) -> PostCounts:
    """Per post: the period's inbound items under it by kind, intent and sentiment."""
    counts: PostCounts = defaultdict(lambda: (Counter(), Counter(), Counter()))
    messages = Message.objects.filter(
        workspace=workspace,
        direction=Direction.INBOUND,
        sent_at__gte=period.start,
        sent_at__lt=period.end,
        conversation__post__isnull=False,
    ).values_list("conversation__post_id", "kind", "intent", "sentiment")
    for post_id, kind, intent, sentiment in messages.iterator(chunk_size=5000):
        kinds, intents, sentiments = counts[post_id]
        kinds[kind] += 1
        if intent:
            intents[intent] += 1
        if sentiment:
            sentiments[sentiment] += 1
    return counts


def post_rows(workspace: Workspace, counts: PostCounts, limit: int) -> list[PostRow]:
    """The `limit` posts with the most items (then the oldest first), with their counts."""
    volume = {pk: sum(c[0].values()) for pk, c in counts.items()}
    top = sorted((pk for pk, n in volume.items() if n > 0), key=lambda pk: (-volume[pk], pk))
    posts = {
        pk: (text, url, platform)
        for pk, text, url, platform in Post.objects.filter(
            workspace=workspace, pk__in=top[: limit * 2]
        ).values_list("pk", "text", "url", "channel__platform")
    }
    rows = []
    for pk in top:
        if pk not in posts:
            continue
        text, url, platform = posts[pk]
        kinds, intents, sentiments = counts[pk]
        rows.append(
            PostRow(
                pk, text, url, platform, volume[pk], dict(kinds), dict(intents), dict(sentiments)
            )
        )
        if len(rows) == limit:
            break
    return rows


@dataclass(frozen=True, slots=True)
class PlatformMix:
    """What the community sends on one platform over a period: how many inbound items, and the
    share of each kind and of each intent (intents among the items the classifiers read)."""

    platform: str
    inbound: int
    kinds: list[tuple[str, float]]
    intents: list[tuple[str, float]]


def platform_mix(workspace: Workspace, period: Period) -> list[PlatformMix]:
    """Per platform, the share of each kind and intent of the inbound items (the most active
    platform first, each list largest share first): from the message rollups for the whole
    local days they hold (when complete), from the messages for the rest (two grouped queries
    per part: the partial first day, today)."""
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    intents: dict[str, Counter[str]] = defaultdict(Counter)
    parts = [(period.start, period.end)]
    clock_, _name = workspace_clock(workspace)
    if rollup.rollups_usable(workspace, clock_):
        tz = ZoneInfo(workspace.timezone)
        first_day, end_day = rollup.whole_days(period.start, period.end, tz)
        if first_day < end_day:
            platform_of = dict(
                Channel.objects.filter(workspace=workspace).values_list("pk", "platform")
            )
            for channel_id, kind, intent, n in rollup.read_mix(workspace.pk, first_day, end_day):
                platform = platform_of.get(channel_id, "")
                kinds[platform][kind] += n
                if intent:
                    intents[platform][intent] += n
            parts = rollup.edges(period.start, period.end, first_day, end_day, tz)
    for start, end in parts:
        inbound = Message.objects.filter(
            workspace=workspace, direction=Direction.INBOUND, sent_at__gte=start, sent_at__lt=end
        ).order_by()
        for platform, kind, n in inbound.values_list("channel__platform", "kind").annotate(
            n=Count("pk")
        ):
            kinds[platform][kind] += n
        for platform, intent, n in (
            inbound.exclude(intent="")
            .values_list("channel__platform", "intent")
            .annotate(n=Count("pk"))
        ):
            intents[platform][intent] += n

    def shares(counts: Counter[str]) -> list[tuple[str, float]]:
        total = sum(counts.values())
        return [(key, 100.0 * n / total) for key, n in counts.most_common()] if total else []

    rows = [
        PlatformMix(platform, sum(counts.values()), shares(counts), shares(intents[platform]))
        for platform, counts in kinds.items()
    ]
    return sorted(rows, key=lambda r: (-r.inbound, r.platform))


def daily_volume(workspace: Workspace, period: Period) -> list[tuple[str, int]]:
    """Inbound items per day (workspace time zone), every day of the period listed."""
    return every_day(period, ZoneInfo(workspace.timezone), daily_counts(workspace, period))


def daily_counts(workspace: Workspace, period: Period) -> Counter[str]:
    """Inbound items per local day (ISO date) in the period."""
    tz = ZoneInfo(workspace.timezone)
    days: Counter[str] = Counter()
    times = (
        Message.objects.filter(
            workspace=workspace,
            direction=Direction.INBOUND,
            sent_at__gte=period.start,
            sent_at__lt=period.end,
        )
        .values_list("sent_at", flat=True)
        .iterator(chunk_size=5000)
    )
    for when in times:
        if when is not None:
            days[when.astimezone(tz).date().isoformat()] += 1
    return days


def inbound_times(workspace: Workspace, period: Period) -> tuple[list[list[int]], Counter[str]]:
    """The heatmap and the per-day counts of the period's inbound items, in one read."""
    tz = ZoneInfo(workspace.timezone)
    days: Counter[str] = Counter()
    times = [
        when
        for when in Message.objects.filter(
            workspace=workspace,
            direction=Direction.INBOUND,
            sent_at__gte=period.start,
            sent_at__lt=period.end,
        )
        .values_list("sent_at", flat=True)
        .iterator(chunk_size=5000)
        if when is not None
    ]
    for when in times:
        days[when.astimezone(tz).date().isoformat()] += 1
    return heatmap(times, tz), days


def every_day(period: Period, tz: ZoneInfo, days: Counter[str]) -> list[tuple[str, int]]:
    """The counts of every local day of the period, in order (zero where none)."""
    first, last = period.start.astimezone(tz).date(), period.end.astimezone(tz).date()
    out = []
    day = first
    while day <= last:
        out.append((day.isoformat(), days.get(day.isoformat(), 0)))
        day += timedelta(days=1)
    return out


@dataclass(frozen=True, slots=True)
class RatingRow:
    """The star ratings one channel received in a period (reviews)."""

    channel_id: int
    channel: str
    platform: str
    by_star: dict[int, int]  # 1..5 → reviews

    @property
    def count(self) -> int:
        return sum(self.by_star.values())

    @property
    def average(self) -> float:
        return sum(star * n for star, n in self.by_star.items()) / self.count if self.count else 0.0

    @property
    def bars(self) -> list[tuple[int, int, int]]:
        """(star, reviews, percent of the channel's reviews), five stars first."""
        total = self.count or 1
        return [
            (star, self.by_star.get(star, 0), round(100 * self.by_star.get(star, 0) / total))
            for star in range(5, 0, -1)
        ]


def ratings(workspace: Workspace, period: Period) -> list[RatingRow]:
    """Reviews received in the period per channel, counted by star rating (one grouped query)."""
    return rating_rows(workspace, rating_counts(workspace, period))


RatingCounts = Counter[tuple[int, int]]  # (channel id, star) → reviews


def rating_counts(workspace: Workspace, period: Period) -> RatingCounts:
    rows = (
        Message.objects.filter(
            workspace=workspace,
            direction=Direction.INBOUND,
            kind="review",
            rating__gte=1,
            rating__lte=5,
            sent_at__gte=period.start,
            sent_at__lt=period.end,
        )
        .values_list("channel_id", "rating")
        .annotate(n=Count("id"))
        .order_by()
    )
    return Counter({(channel_id, int(rating)): n for channel_id, rating, n in rows})


def rating_rows(workspace: Workspace, counts: RatingCounts) -> list[RatingRow]:
    """The rows of the ratings table, the channels with most reviews first."""
    channels = dict(
        ((pk, (name, platform)))
        for pk, name, platform in Channel.objects.filter(
            workspace=workspace, pk__in={channel_id for channel_id, _star in counts}
        ).values_list("pk", "name", "platform")
    )
    found: dict[int, RatingRow] = {}
    for (channel_id, star), n in sorted(counts.items()):
        if channel_id not in channels or n <= 0:
            continue
        name, platform = channels[channel_id]
        row = found.setdefault(channel_id, RatingRow(channel_id, name, platform, {}))
        row.by_star[star] = n
    return sorted(found.values(), key=lambda r: (-r.count, r.channel))
