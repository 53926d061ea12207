"""The time actions stamp their rows with: now, unless a caller sets another time.

Every action reads `clock.now()` instead of `timezone.now()`. An import of
history (the demo's backfill, a migration from another tool) runs the same
actions inside `clock.at(when)`, so the rows they write carry the time the
work really happened, and nothing has to be rewritten afterwards (the
Activity log stays append-only).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.utils import timezone

_fixed: ContextVar[datetime | None] = ContextVar("cercle_clock", default=None)


def now() -> datetime:
    """The current time (aware, UTC), or the time set by the innermost `at` block."""
    return _fixed.get() or timezone.now()


@contextmanager
def at(when: datetime) -> Iterator[datetime]:
    """Run the block as if it were `when` (aware)."""
    if timezone.is_naive(when):
        raise ValueError("clock.at needs an aware datetime")
    token = _fixed.set(when)
    try:
        yield when
    finally:
        _fixed.reset(token)
