"""Trending terms and phrases, and spikes of volume and negative share, over days.

- **Terms**: the words and two-word phrases of the inbound messages of the chosen
  period (the last 7, 30 or 90 local days, today so far included; `WINDOW_DAYS` by
  default), against `BASELINE_FACTOR` times as many days before (a phrase of one
  word repeated, « lumen lumen », is left out), counted once per message, in French
  and English: lower case, accents folded (« été » and « ete » are one term, shown
  in its most frequent spelling), stop words of both languages left out (the crisis
  alert's list, `moderation.crisis.STOPWORDS`, and a few more), no digits. They are
  ranked by the crisis alert's lift (`crisis.rank_rising`): how much more often than
  usual, from 3 messages up. Every message counts: the rollup drain keeps, per local
  day and language, the `TERMS_PER_DAY` most frequent terms of the day (`TermRollup`,
  a day's rarer terms are left out so its rows stay bounded) and the day's message
  count; the window and its baseline sum those days, today is counted from the
  messages. The raw computation (while the rollups are built) keeps the same terms
  per day, so both give the same figures.
- **Spikes**: a day whose inbound volume or negative share stands out against
  the `BASELINE_DAYS` before it, and an hour against the same hour of those days, read from the crisis alert's quarter-hour
  `Pulse` counters (no message is read again) with the crisis alert's
  thresholds (`crisis.MIN_VOLUME`, `VOLUME_FACTOR`, `SIGMAS`, `MIN_CLASSIFIED`,
  `NEGATIVE_SHARE`, `NEGATIVE_MARGIN`). The crisis alerts of the period (the same
  signals hour by hour) are listed beside them.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import QuerySet, Sum

from cercle.inbox.choices import Direction
from cercle.inbox.models import Message
from cercle.moderation import crisis
from cercle.moderation.models import CrisisAlert, Pulse
from cercle.workspaces.models import Workspace

from .models import TermRollup

WINDOW_DAYS = 7
BASELINE_DAYS = 28
# The terms' baseline is this many times the chosen window (7 days against 28).
BASELINE_FACTOR = 4
# The terms a local day and language keep in the rollups (`TermRollup`), the most frequent.
TERMS_PER_DAY = 300
# The conversations a term's drill-down lists at most.
DRILL_LIMIT = 500
TOP = 15
# Days of history a day's spike needs before it (fewer: nothing is "usual" yet).
MIN_BASELINE_DAYS = 7

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_CLAUSE = re.compile(r"[.,;:!?¿¡()\[\]«»\"\n]+")
MIN_LETTERS = 3
# Longer runs of letters are no words (and would not fit a rollup row).
MAX_LETTERS = 60


def fold(word: str) -> str:
    """Lower case without accents: « Été » → « ete »."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# French and English words with no meaning of their own, folded (the crisis alert's and more).
STOPWORDS = frozenset(fold(w) for w in crisis.STOPWORDS) | frozenset(
    [
        "avez",
        "avons",
        "suis",
        "etait",
        "etaient",
        "peut",
        "peux",
        "faut",
        "depuis",
        "chez",
        "sans",
        "sous",
        "entre",
        "alors",
        "apres",
        "avant",
        "non",
        "oui",
        "rien",
        "ceci",
        "cela",
        "quoi",
        "dont",
        "ete",
        "sera",
        "serait",
        "aurait",
        "avait",
        "deja",
        "toujours",
        "jamais",
        "trop",
        "peu",
        "beaucoup",
        "moins",
        "ici",
        "voila",
        "cet",
        "notre",
        "nos",
        "lui",
        "eux",
        "moi",
        "toi",
        "soit",
        "sinon",
        "puis",
        "ainsi",
        "had",
        "did",
        "does",
        "doesn",
        "don",
        "didn",
        "isn",
        "aren",
        "wasn",
        "can",
        "cannot",
        "couldn",
        "shouldn",
        "wouldn",
        "which",
        "because",
        "being",
        "these",
        "those",
        "should",
        "could",
        "where",
        "while",
        "would",
        "yes",
        "hello",
        "thank",
        "thanks",
        "hey",
        "still",
        "even",
        "much",
        "many",
        "most",
        "other",
        "such",
        "own",
        "same",
        "too",
        "now",
        "well",
        "back",
        "way",
    ]
)


@functools.lru_cache(maxsize=200_000)
def _meaningful(word: str) -> tuple[str, str] | None:
    """(folded, lower case) of a word that means something, else None (a community's words
    repeat: the rollup's first build folds each spelling once)."""
    folded = fold(word)
    if MIN_LETTERS <= len(folded) <= MAX_LETTERS and folded not in STOPWORDS:
        return folded, word.lower()
    return None


def words(text: str) -> list[tuple[str, str]]:
    """The meaningful words of `text` as (folded, lower case) pairs: no stop words, no short
    words, no digits."""
    return [pair for pair in map(_meaningful, _WORD.findall(text)) if pair is not None]


def phrases(text: str) -> dict[str, str]:
    """The distinct terms of `text`, folded → as written: its words, and the phrases of two
    words that follow each other in a clause once the stop words are left out (« colis en
    retard » → « colis retard »)."""
    found: dict[str, str] = {}
    for clause in _CLAUSE.split(text):
        tokens = words(clause)
        for index, (folded, written) in enumerate(tokens):
            found.setdefault(folded, written)
            if index + 1 < len(tokens):
                following, written_next = tokens[index + 1]
                if following != folded:  # « lumen lumen » says no more than « lumen »
                    found.setdefault(f"{folded} {following}", f"{written} {written_next}")
    return found


@dataclass(frozen=True, slots=True)
class Trend:
    term: str  # folded: the key of the drill-down
    label: str  # its most frequent spelling
    count: int  # messages of the window holding it
    baseline: int  # messages of the baseline holding it
    lift: float


@dataclass(frozen=True, slots=True)
class Trends:
    window_start: datetime
    end: datetime
    window_messages: int
    baseline_messages: int
    terms: list[Trend]


def _inbound(workspace: Workspace, start: datetime, end: datetime) -> QuerySet[Message]:
    return Message.objects.filter(
        workspace=workspace,
        direction=Direction.INBOUND,
        sent_at__gte=start,
        sent_at__lt=end,
    ).exclude(text="")


@dataclass(slots=True)
class DayTerms:
    """The terms of one local day and language: messages with text, and per term the messages
    holding it with its spellings."""

    messages: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    spellings: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, text: str) -> None:
        self.messages += 1
        for folded, written in phrases(text).items():
            self.counts[folded] += 1
            self.spellings[folded][written] += 1

    def kept(self) -> list[tuple[str, str, int]]:
        """(term, most frequent spelling, messages) of the `TERMS_PER_DAY` most frequent terms
        (ties: alphabetical), as the rollup keeps them."""
        top = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))[:TERMS_PER_DAY]
        return [(term, self.spellings[term].most_common(1)[0][0], n) for term, n in top]


DayKey = tuple[date, str]  # (local day, language)


def day_terms(
    workspace: Workspace, start: datetime | None, end: datetime | None, tz: ZoneInfo
) -> Iterator[tuple[DayKey, DayTerms]]:
    """The terms of the inbound messages of [start, end) (every one when None), one local day
    and language at a time (in day order; a day is yielded once all its messages are read)."""
    query = Message.objects.filter(
        workspace=workspace, direction=Direction.INBOUND, sent_at__isnull=False
    ).exclude(text="")
    if start is not None:
        query = query.filter(sent_at__gte=start)
    if end is not None:
        query = query.filter(sent_at__lt=end)
    rows = query.order_by("sent_at", "id").values_list("sent_at", "language", "text")
    current: date | None = None
    days: dict[DayKey, DayTerms] = {}
    for sent_at, language, text in rows.iterator(chunk_size=5000):
        if sent_at is None:  # left out by the query; the type allows it
            continue
        day = sent_at.astimezone(tz).date()
        if day != current:
            yield from sorted(days.items())
            days, current = {}, day
        key = (day, language or "")
        terms = days.get(key)
        if terms is None:
            terms = days[key] = DayTerms()
        terms.add(text)
    yield from sorted(days.items())


@dataclass(slots=True)
class TermCounts:
    """Messages with text, and per term the messages holding it (with its spellings), summed
    over days."""

    messages: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    spellings: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def add_day(self, terms: DayTerms) -> None:
        self.messages += terms.messages
        for term, label, n in terms.kept():
            self.counts[term] += n
            self.spellings[term][label] += n


def _raw_counts(
    workspace: Workspace, start: datetime, end: datetime, tz: ZoneInfo, into: TermCounts
) -> None:
    for _key, terms in day_terms(workspace, start, end, tz):
        into.add_day(terms)


def _rollup_counts(workspace: Workspace, first: date, end: date, into: TermCounts) -> None:
    """Add the `TermRollup` rows of the local days [first, end) (every language) to `into`."""
    rows = TermRollup.objects.filter(workspace=workspace, day__gte=first, day__lt=end)
    into.messages += rows.filter(term="").aggregate(n=Sum("count"))["n"] or 0
    for term, label, n in rows.exclude(term="").values_list("term", "label", "count"):
        into.counts[term] += n
        into.spellings[term][label] += n


def _rollup_sums(workspace: Workspace, first: date, end: date, into: TermCounts) -> None:
    """As `_rollup_counts` without the spellings: the database sums each term."""
    rows = TermRollup.objects.filter(workspace=workspace, day__gte=first, day__lt=end)
    grouped = rows.values_list("term").annotate(n=Sum("count")).order_by()
    for term, n in grouped.values_list("term", "n"):
        if term:
            into.counts[term] += n
        else:
            into.messages += n


def trending_terms(
    workspace: Workspace,
    now: datetime,
    top: int = TOP,
    days: int = WINDOW_DAYS,
    use_rollups: bool = True,
) -> Trends:
    """The terms of the last `days` local days (today so far included) rising the most against
    the `BASELINE_FACTOR` times as many days before (by default 7 against 28), over every
    message: the whole days from the `TermRollup` rows, today from the messages (all of them
    while the rollups are being built)."""
    from . import queries, rollup

    tz = ZoneInfo(workspace.timezone)
    today = now.astimezone(tz).date()
    window_first = today - timedelta(days=days - 1)
    baseline_first = window_first - timedelta(days=days * BASELINE_FACTOR)
    window_start = rollup.day_start(window_first, tz)
    window, usual = TermCounts(), TermCounts()
    clock_, _name = queries.workspace_clock(workspace)
    if use_rollups and rollup.rollups_usable(workspace, clock_):
        _rollup_counts(workspace, window_first, today, window)
        _rollup_sums(workspace, baseline_first, window_first, usual)
        _raw_counts(workspace, rollup.day_start(today, tz), now, tz, window)
    else:
        _raw_counts(workspace, window_start, now, tz, window)
        _raw_counts(workspace, rollup.day_start(baseline_first, tz), window_start, tz, usual)
    now_counts, before = window.counts, usual.counts
    # Without history before the window, nothing can be said to rise.
    ranked = (
        crisis.rank_rising(now_counts, before, window.messages, usual.messages, top * 3)
        if usual.messages
        else []
    )
    trends = []
    shown: set[str] = set()
    for term, count in ranked:
        lift = crisis.lift(count, window.messages, before[term], usual.messages)
        if lift <= 1.0:
            continue  # not rising: as frequent as before (or no history before to compare with)
        # A word whose every message is already shown by a phrase holding it adds nothing.
        if " " not in term and any(
            term in phrase.split(" ") and now_counts[phrase] == count for phrase in shown
        ):
            continue
        shown.add(term)
        trends.append(
            Trend(
                term=term,
                label=window.spellings[term].most_common(1)[0][0],
                count=count,
                baseline=before[term],
                lift=round(lift, 1),
            )
        )
        if len(trends) == top:
            break
    return Trends(window_start, now, window.messages, usual.messages, trends)


def messages_with(
    workspace: Workspace, term: str, now: datetime, days: int = WINDOW_DAYS
) -> list[int]:
    """The ids of the conversations whose window messages (the last `days` local days) hold
    `term` (folded), newest first; the first `DRILL_LIMIT` found."""
    from . import rollup

    tz = ZoneInfo(workspace.timezone)
    first = now.astimezone(tz).date() - timedelta(days=days - 1)
    rows = (
        _inbound(workspace, rollup.day_start(first, tz), now)
        .order_by("-sent_at", "-id")
        .values_list("conversation_id", "text")
    )
    found: dict[int, None] = {}
    for conversation_id, text in rows.iterator(chunk_size=2000):
        if conversation_id not in found and term in phrases(text):
            found[conversation_id] = None
            if len(found) >= DRILL_LIMIT:
                break
    return list(found)


# --- spikes --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayCounts:
    day: date
    messages: int
    classified: int
    negative: int

    @property
    def negative_share(self) -> float | None:
        return self.negative / self.classified if self.classified else None


@dataclass(frozen=True, slots=True)
class Spike:
    day: date
    signal: str  # crisis.CrisisSignal: volume or negative
    observed: float
    baseline: float
    hour: int | None = None  # an hour's spike (local time), else the whole day's


def daily_counts(workspace: Workspace, first: date, end: date, tz: ZoneInfo) -> list[DayCounts]:
    """Every local day of [first, end) with its inbound, labelled and negative counts (from the
    channels' pulses)."""
    start = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    stop = datetime.combine(end, datetime.min.time(), tzinfo=tz)
    totals: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    rows = Pulse.objects.filter(
        workspace=workspace, post__isnull=True, start__gte=start, start__lt=stop
    ).values_list("start", "messages", "classified", "negative")
    for when, messages, classified, negative in rows.iterator(chunk_size=5000):
        counts = totals[when.astimezone(tz).date()]
        counts[0] += messages
        counts[1] += classified
        counts[2] += negative
    days = []
    day = first
    while day < end:
        m, c, n = totals.get(day, (0, 0, 0))
        days.append(DayCounts(day, m, c, n))
        day += timedelta(days=1)
    return days


def spikes(workspace: Workspace, first: date, end: date, tz: ZoneInfo) -> list[Spike]:
    """The days of [first, end) whose volume or negative share stands out against the
    `BASELINE_DAYS` before each, with the crisis alert's thresholds; newest first."""
    series = daily_counts(workspace, first - timedelta(days=BASELINE_DAYS), end, tz)
    active = next((i for i, d in enumerate(series) if d.messages), len(series))
    found = []
    for index in range(BASELINE_DAYS, len(series)):
        history = series[max(index - BASELINE_DAYS, active) : index]
        found.extend(_stands_out(series[index], history, None))
    return sorted(found, key=lambda s: (s.day, s.signal), reverse=True)


def _stands_out(point: DayCounts, history: list[DayCounts], hour: int | None) -> list[Spike]:
    """The spikes of `point` (a day, or one hour of a day) against `history` (the days before,
    or the same hour of the days before), with the crisis alert's thresholds."""
    if len(history) < MIN_BASELINE_DAYS:
        return []
    found = []
    volumes = [d.messages for d in history]
    mean = sum(volumes) / len(volumes)
    deviation = math.sqrt(sum((v - mean) ** 2 for v in volumes) / len(volumes))
    if (
        point.messages >= crisis.MIN_VOLUME
        and point.messages >= crisis.VOLUME_FACTOR * max(mean, 1.0)
        and point.messages >= mean + crisis.SIGMAS * deviation
    ):
        found.append(Spike(point.day, "volume", point.messages, round(mean, 1), hour))
    classified = sum(d.classified for d in history)
    usual = (
        sum(d.negative for d in history) / classified
        if classified >= 2 * crisis.MIN_CLASSIFIED
        else crisis.DEFAULT_NEGATIVE_SHARE
    )
    share = point.negative_share
    if (
        share is not None
        and point.classified >= crisis.MIN_CLASSIFIED
        and share >= crisis.NEGATIVE_SHARE
        and share >= usual + crisis.NEGATIVE_MARGIN
    ):
        found.append(Spike(point.day, "negative", round(share, 3), round(usual, 3), hour))
    return found


def hourly_spikes(workspace: Workspace, first: date, end: date, tz: ZoneInfo) -> list[Spike]:
    """The hours of the local days [first, end) whose volume or negative share stands out
    against the same hour of the `BASELINE_DAYS` days before (the community's day has its
    rhythm: 3 a.m. is compared with 3 a.m.), with the crisis alert's thresholds; newest first."""
    since = first - timedelta(days=BASELINE_DAYS)
    start = datetime.combine(since, datetime.min.time(), tzinfo=tz)
    stop = datetime.combine(end, datetime.min.time(), tzinfo=tz)
    totals: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    rows = Pulse.objects.filter(
        workspace=workspace, post__isnull=True, start__gte=start, start__lt=stop
    ).values_list("start", "messages", "classified", "negative")
    for when, messages, classified, negative in rows.iterator(chunk_size=5000):
        local = when.astimezone(tz)
        counts = totals[(local.date(), local.hour)]
        counts[0] += messages
        counts[1] += classified
        counts[2] += negative
    active = min((day for (day, _hour), c in totals.items() if c[0]), default=end)
    found = []
    day = first
    while day < end:
        for hour in range(24):
            point = DayCounts(day, *totals.get((day, hour), (0, 0, 0)))
            if point.messages < crisis.MIN_VOLUME and point.classified < crisis.MIN_CLASSIFIED:
                continue
            history = [
                DayCounts(before, *totals.get((before, hour), (0, 0, 0)))
                for before in (day - timedelta(days=n) for n in range(BASELINE_DAYS, 0, -1))
                if before >= active
            ]
            found.extend(_stands_out(point, history, hour))
        day += timedelta(days=1)
    return sorted(found, key=lambda s: (s.day, s.hour or 0, s.signal), reverse=True)


def crisis_alerts(workspace: Workspace, start: datetime, end: datetime) -> QuerySet[CrisisAlert]:
    """The crisis alerts (hour by hour) that started in the period."""
    return (
        CrisisAlert.objects.filter(workspace=workspace, started_at__gte=start, started_at__lt=end)
        .select_related("channel", "post")
        .order_by("-started_at")
    )


def conversations_of_day(
    workspace: Workspace, day: date, tz: ZoneInfo, hour: int | None = None
) -> QuerySet[Message]:
    """The inbound messages of one local day, or of one hour of it (a spike's drill-down)."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    if hour is None:
        return _inbound(workspace, start, start + timedelta(days=1))
    start = datetime.combine(day, datetime.min.time().replace(hour=hour), tzinfo=tz)
    return _inbound(workspace, start, start + timedelta(hours=1))


__all__ = [
    "STOPWORDS",
    "DayCounts",
    "Spike",
    "Trend",
    "Trends",
    "conversations_of_day",
    "crisis_alerts",
    "daily_counts",
    "fold",
    "hourly_spikes",
    "messages_with",
    "phrases",
    "spikes",
    "trending_terms",
]
