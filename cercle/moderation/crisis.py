"""The crisis alert: the last hour of a channel or a post against its own usual week.

Two signals, each measured per channel and per post:

- **volume**: inbound messages in the last hour. It alarms when it is at least
  `CERCLE_CRISIS_MIN_VOLUME` (a setting, 12 by default), at least `VOLUME_FACTOR`
  times the usual hourly mean, at least
  `SIGMAS` standard deviations above it, and at least `SAME_HOUR_FACTOR` times
  the busiest same hour of day of the past week (so the evening peak of a normal
  day is not a crisis);
- **negative**: the share of negative messages among the labelled ones of the
  last hour. It alarms from `MIN_CLASSIFIED` labelled messages when the share is
  at least `NEGATIVE_SHARE` and `NEGATIVE_MARGIN` above the usual share.

Both need `MIN_HISTORY_HOURS` of history: with less, nothing is "usual" yet and
Cercle says nothing rather than something wrong. The figures come from the
quarter-hour `Pulse` rows (`actions.do_aggregate_pulses`), so a check reads a
week of counters, not a week of messages. An alert ends after a quiet hour.
This module computes; `actions.do_watch_crises` writes.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, QuerySet, Sum

from cercle.inbox.choices import Direction
from cercle.inbox.models import Message

from .choices import CrisisSignal
from .models import CrisisAlert, Pulse

QUARTER = timedelta(minutes=15)
WINDOW = timedelta(hours=1)
HISTORY = timedelta(days=7)
MIN_HISTORY_HOURS = 24
# The default of CERCLE_CRISIS_MIN_VOLUME: fewer messages in an hour is never a volume crisis.
MIN_VOLUME = 12
VOLUME_FACTOR = 3.0
SIGMAS = 4.0
SAME_HOUR_FACTOR = 1.5
MIN_CLASSIFIED = 10
NEGATIVE_SHARE = 0.4
NEGATIVE_MARGIN = 0.25
# The negative share assumed while the history holds too few labelled messages.
DEFAULT_NEGATIVE_SHARE = 0.15
QUIET_AFTER = timedelta(hours=1)
# A message is counted once labelled, or after this long unlabelled (classifiers off or late).
CLASSIFY_GRACE = timedelta(minutes=10)


def min_volume() -> int:
    """The fewest inbound messages in an hour of a channel or post for a volume alert."""
    return int(getattr(settings, "CERCLE_CRISIS_MIN_VOLUME", MIN_VOLUME))


def quarter_of(when: datetime) -> datetime:
    """The start of the quarter hour `when` falls in."""
    return when.replace(minute=when.minute - when.minute % 15, second=0, microsecond=0)


def hour_of(when: datetime) -> datetime:
    return when.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Scope:
    """A channel (post_id None) or one post of it."""

    workspace_id: int
    channel_id: int
    post_id: int | None


@dataclass
class Counts:
    messages: int = 0
    classified: int = 0
    negative: int = 0

    def add(self, messages: int, classified: int, negative: int) -> None:
        self.messages += messages
        self.classified += classified
        self.negative += negative


@dataclass(frozen=True)
class Reading:
    """A signal of a scope above its baseline, at one check."""

    scope: Scope
    signal: str
    observed: float
    baseline: float
    history_hours: int


@dataclass
class History:
    """A scope's hourly counts over the past week (before the last hour)."""

    hours: int
    # The start of the hour the history runs up to (excluded).
    end: datetime | None = None
    hourly: dict[datetime, int] = field(default_factory=dict)
    classified: int = 0
    negative: int = 0

    def mean_and_deviation(self) -> tuple[float, float]:
        values = [self.hourly.get(h, 0) for h in self._hour_starts()]
        if not values:
            return 0.0, 0.0
        mean = sum(values) / len(values)
        variance = sum((v - mean) ** 2 for v in values) / len(values)
        return mean, math.sqrt(variance)

    def same_hour_peak(self, hours_of_day: set[int]) -> int:
        return max((n for h, n in self.hourly.items() if h.hour in hours_of_day), default=0)

    def negative_share(self) -> float:
        if self.classified < 2 * MIN_CLASSIFIED:
            return DEFAULT_NEGATIVE_SHARE
        return self.negative / self.classified

    def _hour_starts(self) -> list[datetime]:
        if self.end is None:
            return []
        return [self.end - timedelta(hours=i) for i in range(1, self.hours + 1)]


def post_lookup(post_id: int | None) -> dict[str, Any]:
    """The filter of a scope's post: that post, or the channel's own rows (post NULL)."""
    return {"post_id": post_id} if post_id is not None else {"post__isnull": True}


def window_counts(now: datetime) -> dict[Scope, Counts]:
    """Every scope's counts in the last hour (the quarters that started in it)."""
    rows = (
        Pulse.objects.filter(start__gt=now - WINDOW, start__lte=now)
        .values("workspace_id", "channel_id", "post_id")
        .annotate(m=Sum("messages"), c=Sum("classified"), n=Sum("negative"))
    )
    counts: dict[Scope, Counts] = {}
    for row in rows:
        scope = Scope(row["workspace_id"], row["channel_id"], row["post_id"])
        counts[scope] = Counts(row["m"] or 0, row["c"] or 0, row["n"] or 0)
    return counts


def history_of(scope: Scope, now: datetime) -> History:
    """The scope's week before the last hour, by hour; `hours` counts from its first pulse."""
    end = now - WINDOW
    scoped = Pulse.objects.filter(channel_id=scope.channel_id, **post_lookup(scope.post_id))
    first = scoped.order_by("start").values_list("start", flat=True).first()
    if first is None or first > end:
        return History(hours=0)
    hours = min(int((end - first) / timedelta(hours=1)), int(HISTORY / timedelta(hours=1)))
    history = History(hours=hours, end=hour_of(end) + timedelta(hours=1))
    for start, messages, classified, negative in scoped.filter(
        start__gt=end - HISTORY, start__lte=end
    ).values_list("start", "messages", "classified", "negative"):
        hour = hour_of(start)
        history.hourly[hour] = history.hourly.get(hour, 0) + messages
        history.classified += classified
        history.negative += negative
    return history


def assess(scope: Scope, window: Counts, history: History, now: datetime) -> list[Reading]:
    """The signals of `scope` above their baseline now (empty on an ordinary hour)."""
    if history.hours < MIN_HISTORY_HOURS:
        return []
    readings = []
    mean, deviation = history.mean_and_deviation()
    peak = history.same_hour_peak({(now - WINDOW).hour, now.hour})
    if (
        window.messages >= min_volume()
        and window.messages >= VOLUME_FACTOR * max(mean, 1.0)
        and window.messages >= mean + SIGMAS * deviation
        and window.messages >= SAME_HOUR_FACTOR * peak
    ):
        readings.append(
            Reading(scope, CrisisSignal.VOLUME, window.messages, round(mean, 2), history.hours)
        )
    if window.classified >= MIN_CLASSIFIED:
        share = window.negative / window.classified
        usual = history.negative_share()
        if share >= NEGATIVE_SHARE and share >= usual + NEGATIVE_MARGIN:
            readings.append(
                Reading(
                    scope, CrisisSignal.NEGATIVE, round(share, 3), round(usual, 3), history.hours
                )
            )
    return readings


def readings_at(now: datetime) -> list[Reading]:
    """Every signal above its baseline now, across workspaces.

    Only scopes busy enough in the last hour to alarm read their history.
    """
    readings: list[Reading] = []
    for scope, window in window_counts(now).items():
        if window.messages < min_volume() and window.classified < MIN_CLASSIFIED:
            continue
        readings.extend(assess(scope, window, history_of(scope, now), now))
    return readings


# --- what drives an alert ------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "you",
        "your",
        "are",
        "was",
        "were",
        "with",
        "this",
        "that",
        "have",
        "has",
        "not",
        "but",
        "all",
        "can",
        "our",
        "out",
        "they",
        "them",
        "their",
        "what",
        "when",
        "who",
        "why",
        "how",
        "its",
        "it's",
        "just",
        "from",
        "about",
        "will",
        "would",
        "there",
        "here",
        "been",
        "more",
        "some",
        "than",
        "then",
        "very",
        "also",
        "only",
        "into",
        "over",
        "any",
        "one",
        "get",
        "got",
        "like",
        "please",
        "thanks",
        "les",
        "des",
        "une",
        "est",
        "pas",
        "que",
        "qui",
        "pour",
        "dans",
        "sur",
        "avec",
        "vous",
        "nous",
        "mais",
        "par",
        "plus",
        "son",
        "ses",
        "aux",
        "elle",
        "ils",
        "sont",
        "ont",
        "été",
        "être",
        "avoir",
        "fait",
        "faire",
        "cette",
        "ces",
        "mon",
        "mes",
        "ton",
        "tes",
        "votre",
        "vos",
        "leur",
        "leurs",
        "tout",
        "tous",
        "toute",
        "comme",
        "bien",
        "très",
        "aussi",
        "merci",
        "bonjour",
        "encore",
        "quand",
        "même",
        "donc",
        "car",
    ]
)


def terms(text: str) -> set[str]:
    """The distinct words of `text` worth counting (lower case, no stop words, no digits)."""
    return {w for w in (m.lower() for m in _WORD.findall(text)) if w not in STOPWORDS}


@dataclass(frozen=True)
class Drivers:
    """What the messages of an alert talk about, against the usual week of the same scope."""

    messages: list[Message]
    total: int
    terms: list[tuple[str, int]]
    posts: list[tuple[Any, int]]
    sentiments: dict[str, int]


def rising_terms(
    window_texts: Sequence[str], usual_texts: Sequence[str], top: int = 8
) -> list[tuple[str, int]]:
    """Words in at least 3 of `window_texts`, ranked by how much more often than usual."""
    now = Counter(t for text in window_texts for t in terms(text))
    before = Counter(t for text in usual_texts for t in terms(text))
    return rank_rising(now, before, len(window_texts), len(usual_texts), top)


def lift(now: int, n_now: int, before: int, n_before: int) -> float:
    """How much more often a term is in the window's texts than in the usual ones (smoothed)."""
    return (now / max(n_now, 1)) / ((before + 1) / (max(n_before, 1) + 1))


def rank_rising(
    now: Counter[str], before: Counter[str], n_now: int, n_before: int, top: int
) -> list[tuple[str, int]]:
    """Terms (counted once per text) in at least 3 of the `n_now` texts, by lift, then by name.
    Also used by the insights' trending terms."""
    ranked = sorted(
        (t for t, n in now.items() if n >= 3),
        key=lambda t: (-lift(now[t], n_now, before[t], n_before), t),
    )
    return [(t, now[t]) for t in ranked[:top]]


def drivers(alert: CrisisAlert, sample: int = 300) -> Drivers:
    """The messages of the alert's hour(s), the words rising in them, their posts, sentiments."""
    scoped = Message.objects.filter(
        workspace_id=alert.workspace_id, channel_id=alert.channel_id, direction=Direction.INBOUND
    )
    if alert.post_id is not None:
        scoped = scoped.filter(conversation__post_id=alert.post_id)
    start = alert.started_at - WINDOW
    end = alert.ended_at or alert.last_seen_at
    during = scoped.filter(sent_at__gt=start, sent_at__lte=end)
    recent = list(
        during.select_related("conversation", "conversation__post", "author_identity").order_by(
            "-id"
        )[:sample]
    )
    usual = list(
        scoped.filter(sent_at__gt=start - HISTORY, sent_at__lte=start)
        .order_by("-id")
        .values_list("text", flat=True)[: sample * 5]
    )
    posts: dict[int, tuple[Any, int]] = {}
    sentiments: dict[str, int] = defaultdict(int)
    for message in recent:
        sentiments[message.sentiment or "unlabelled"] += 1
        post = message.conversation.post
        if post is not None:
            posts[post.pk] = (post, posts.get(post.pk, (post, 0))[1] + 1)
    return Drivers(
        messages=recent[:20],
        total=during.count(),
        terms=rising_terms([m.text for m in recent], usual),
        posts=sorted(posts.values(), key=lambda pair: -pair[1])[:5],
        sentiments=dict(sentiments),
    )


def active_alerts(workspace_id: int) -> QuerySet[CrisisAlert]:
    return (
        CrisisAlert.objects.filter(workspace_id=workspace_id, ended_at__isnull=True)
        .select_related("channel", "post")
        # A whole channel before one of its posts, the newest first.
        .order_by(F("post").asc(nulls_first=True), "-started_at", "signal")
    )
