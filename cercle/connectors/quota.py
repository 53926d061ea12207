"""Quota windows: the one mechanism that counts a channel's calls against the platform's limits.

A connector declares the windows its platform enforces (`Window`): Instagram's
60 comment writes per rolling hour, YouTube's units per day reset at midnight
Pacific, X's per-endpoint 15-minute windows. Before a call it `take`s what the
call costs; the count lives in one `QuotaWindow` row per channel and window,
changed only by a conditional UPDATE (compare-and-set on `version`), so any
number of workers count together without losing a call and without holding a
lock across the HTTP request. When the platform says where a window stands
(X's `x-rate-limit-*` headers, Meta's usage percentages) the connector
`observe`s it; when it says a window is spent (a 429, YouTube's
`quotaExceeded`) the connector `block`s it until the reset. The platform stays
the authority; counting first only spares calls that would be refused.

Rolling windows (Instagram's "per hour") use the sliding-window estimate: the
count of the current fixed window plus the previous window's count weighted by
how much of it is still within the last period.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .base import RateLimited, TransientError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from .models import Channel, QuotaWindow

# Compare-and-set attempts before giving up (only under heavy contention on one window).
MAX_ATTEMPTS = 20


@dataclass(frozen=True, slots=True)
class Window:
    """One limit the platform enforces on a channel: `limit` per `period`."""

    name: str
    limit: int
    period: timedelta
    # Sliding estimate over the last `period` (Instagram's rolling hour) instead of fixed windows.
    rolling: bool = False
    # Calendar windows: the end of the window that contains a time (YouTube: next midnight Pacific).
    reset: Callable[[datetime], datetime] | None = None
    # Shown to the team when the window is spent ("%(limit)d" is filled in).
    message: StrOrPromise = ""

    def ends(self, now: datetime) -> datetime:
        return self.reset(now) if self.reset is not None else now + self.period


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a window stands at a moment: what the channel page shows."""

    name: str
    used: int
    limit: int
    resets_at: datetime
    blocked_until: datetime | None = None

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


def _row(channel: Channel, name: str, limit: int, ends: datetime, now: datetime) -> QuotaWindow:
    from .models import QuotaWindow

    row = QuotaWindow.objects.filter(channel_id=channel.pk, name=name).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return QuotaWindow.objects.create(
                channel_id=channel.pk, name=name, limit=limit, started_at=now, resets_at=ends
            )
    except IntegrityError:  # another worker created it first
        return QuotaWindow.objects.get(channel_id=channel.pk, name=name)


@dataclass(slots=True)
class _Rolled:
    used: int
    previous_used: int
    started_at: datetime
    resets_at: datetime


def _rolled(row: QuotaWindow, window: Window, now: datetime) -> _Rolled:
    """The row's counts moved to the window that contains `now` (in memory)."""
    if now < row.resets_at:
        return _Rolled(row.used, row.previous_used, row.started_at, row.resets_at)
    if window.reset is not None:
        return _Rolled(0, 0, now, window.reset(now))
    # Fixed-length windows follow each other from the first one; after a gap, start afresh.
    if now < row.resets_at + window.period:
        return _Rolled(0, row.used, row.resets_at, row.resets_at + window.period)
    return _Rolled(0, 0, now, now + window.period)


def _previous_weight(state: _Rolled, window: Window, now: datetime) -> float:
    """How much of the previous window still lies within the last period (rolling windows)."""
    if not window.rolling or not state.previous_used:
        return 0.0
    elapsed = (now - state.started_at) / window.period
    return max(0.0, 1.0 - elapsed)


def _estimate(state: _Rolled, window: Window, now: datetime) -> float:
    return state.used + state.previous_used * _previous_weight(state, window, now)


def _retry_at(state: _Rolled, window: Window, need: int, now: datetime) -> datetime:
    """When `need` more units fit: when the previous window has slid out enough, or the reset."""
    room = window.limit - state.used - need
    if window.rolling and state.previous_used and room >= 0:
        # used + previous * (1 - elapsed) <= limit - need  ⇔  elapsed >= 1 - room / previous
        fraction = 1.0 - room / state.previous_used
        return max(now, state.started_at + window.period * fraction)
    return state.resets_at


def take(channel: Channel, window: Window, cost: int = 1, *, keep: int = 0) -> None:
    """Count `cost` units of `window` before a call, or raise RateLimited with when they will fit.

    `keep`: units that must stay available after this call (YouTube keeps units
    for replies while polling). Safe across workers: the count is a
    compare-and-set UPDATE, retried when another worker counted first.
    """
    from .models import QuotaWindow

    for _attempt in range(MAX_ATTEMPTS):
        now = timezone.now()
        row = _row(channel, window.name, window.limit, window.ends(now), now)
        if row.blocked_until is not None and row.blocked_until > now:
            raise RateLimited(_spent(window), row.blocked_until)
        state = _rolled(row, window, now)
        if _estimate(state, window, now) + cost + keep > window.limit:
            raise RateLimited(_spent(window), _retry_at(state, window, cost + keep, now))
        changed = QuotaWindow.objects.filter(pk=row.pk, version=row.version).update(
            used=state.used + cost,
            previous_used=state.previous_used,
            started_at=state.started_at,
            resets_at=state.resets_at,
            limit=window.limit,
            blocked_until=None,
            version=F("version") + 1,
        )
        if changed:
            return
    raise TransientError(f"quota window {window.name} is contended: try again")


def give_back(channel: Channel, window: Window, cost: int = 1) -> None:
    """Return units counted for a call the platform certainly did not carry out."""
    from .models import QuotaWindow

    QuotaWindow.objects.filter(channel_id=channel.pk, name=window.name, used__gte=cost).update(
        used=F("used") - cost, version=F("version") + 1
    )


def observe(channel: Channel, name: str, *, limit: int, used: int, resets_at: datetime) -> None:
    """Believe what the platform says about a window (rate-limit or usage headers)."""
    from .models import QuotaWindow

    now = timezone.now()
    row = _row(channel, name, limit, resets_at, now)
    QuotaWindow.objects.filter(pk=row.pk).update(
        limit=max(1, limit),
        used=max(0, used),
        previous_used=0,
        started_at=min(now, resets_at),
        resets_at=resets_at,
        version=F("version") + 1,
    )


def take_observed(channel: Channel, name: str, cost: int = 1, message: str = "") -> None:
    """Count a call against a window known only from the platform's headers (X).

    Nothing is known before the first answer: the call goes. After that the
    count is checked and advanced like `take`, until the reset the headers gave.
    """
    from .models import QuotaWindow

    for _attempt in range(MAX_ATTEMPTS):
        now = timezone.now()
        row = QuotaWindow.objects.filter(channel_id=channel.pk, name=name).first()
        if row is None or row.resets_at <= now:
            return
        if row.blocked_until is not None and row.blocked_until > now:
            raise RateLimited(message or f"{name}: rate limit spent", row.blocked_until)
        if row.used + cost > row.limit:
            raise RateLimited(message or f"{name}: rate limit spent until reset", row.resets_at)
        changed = QuotaWindow.objects.filter(pk=row.pk, version=row.version).update(
            used=F("used") + cost, version=F("version") + 1
        )
        if changed:
            return
    raise TransientError(f"quota window {name} is contended: try again")


def block(channel: Channel, window: Window, until: datetime) -> None:
    """The platform said the window is spent: no call counted against it before `until`."""
    from .models import QuotaWindow

    now = timezone.now()
    row = _row(channel, window.name, window.limit, window.ends(now), now)
    QuotaWindow.objects.filter(pk=row.pk).update(
        blocked_until=until, used=window.limit, version=F("version") + 1
    )


def standing(channel: Channel, window: Window) -> Standing:
    """Where `window` stands now (nothing counted yet: all of it is left)."""
    from .models import QuotaWindow

    now = timezone.now()
    row = QuotaWindow.objects.filter(channel_id=channel.pk, name=window.name).first()
    if row is None:
        return Standing(window.name, 0, window.limit, window.ends(now))
    state = _rolled(row, window, now)
    blocked = row.blocked_until if row.blocked_until and row.blocked_until > now else None
    used = window.limit if blocked else round(_estimate(state, window, now))
    return Standing(window.name, used, window.limit, state.resets_at, blocked)


def standings(channel: Channel) -> list[Standing]:
    """Every window of the channel that is current, most used first (the channel page's meters)."""
    from .models import QuotaWindow

    now = timezone.now()
    result = []
    for row in QuotaWindow.objects.filter(channel_id=channel.pk).order_by("name"):
        blocked = row.blocked_until if row.blocked_until and row.blocked_until > now else None
        if row.resets_at <= now and blocked is None:
            continue  # a window that has rolled over holds nothing any more
        used = row.limit if blocked else row.used
        result.append(Standing(row.name, used, row.limit, row.resets_at, blocked))
    return sorted(result, key=lambda s: s.used / max(1, s.limit), reverse=True)


def _spent(window: Window) -> str:
    if window.message:
        return str(window.message) % {"limit": window.limit}
    return f"{window.name}: {window.limit} per {window.period} spent"
