"""When a search's volume or negative share jumps: the last day against the usual week.

The idea of `moderation/crisis.py` at the scale of public mentions (which come
by the day, not by the minute): the last 24 hours are compared with the daily
mean of the 7 days before. Volume alarms when it is at least `MIN_VOLUME` and
`VOLUME_FACTOR` times the usual day; the negative share alarms from
`MIN_LABELLED` mentions when it is at least `NEGATIVE_SHARE` and
`NEGATIVE_MARGIN` above the usual share. With fewer than `MIN_HISTORY` mentions
in the week before, nothing is usual yet and no alert is raised. Pure: reads
counts, writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cercle.moderation.choices import Sentiment

from .models import ListeningSearch, Mention

DAY = timedelta(days=1)
WEEK = 7
MIN_HISTORY = 7
MIN_VOLUME = 5
VOLUME_FACTOR = 3.0
MIN_LABELLED = 5
NEGATIVE_SHARE = 0.4
NEGATIVE_MARGIN = 0.25
DEFAULT_NEGATIVE_SHARE = 0.15


@dataclass(frozen=True)
class Jump:
    """What jumped for one search (either or both), with the figures behind it."""

    volume: bool
    negative: bool
    last_day: int
    usual_day: float
    negative_share: float
    usual_negative_share: float


def jump_of(last: tuple[int, int], week: list[tuple[int, int]]) -> Jump | None:
    """(total, negative) of the last day against those of the days before; None when calm."""
    history = sum(t for t, _n in week)
    if history < MIN_HISTORY or not week:
        return None
    total, negative = last
    usual = history / len(week)
    usual_share = sum(n for _t, n in week) / history if history >= 10 else DEFAULT_NEGATIVE_SHARE
    share = negative / total if total else 0.0
    volume = total >= MIN_VOLUME and total >= VOLUME_FACTOR * usual
    negative_jump = (
        total >= MIN_LABELLED and share >= NEGATIVE_SHARE and share >= usual_share + NEGATIVE_MARGIN
    )
    if not (volume or negative_jump):
        return None
    return Jump(volume, negative_jump, total, usual, share, usual_share)


def _counts(search: ListeningSearch, start: datetime, end: datetime) -> tuple[int, int]:
    rows = Mention.objects.filter(
        workspace_id=search.workspace_id,
        search=search,
        published_at__gte=start,
        published_at__lt=end,
    )
    return rows.count(), rows.filter(sentiment=Sentiment.NEGATIVE).count()


def check(search: ListeningSearch, now: datetime) -> Jump | None:
    """The jump of `search` in the 24 hours before `now`, or None."""
    last = _counts(search, now - DAY, now)
    week = [_counts(search, now - DAY * (i + 1), now - DAY * i) for i in range(1, WEEK + 1)]
    return jump_of(last, week)
