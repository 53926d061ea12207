"""The SLA clock: due times counted in business hours (or around the clock), holidays skipped.

Pure functions on a `Clock` value (no database), so the routing stage can load
a workspace's schedules once per batch and compute due times for every
conversation without a query each. All arithmetic is done in UTC; the weekly
hours are read in the schedule's own time zone, so a daylight-saving change
moves the opening hour, not the length of the work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A due time further than this is a configuration error (no open hour in a year).
HORIZON_DAYS = 400


@dataclass(frozen=True, slots=True)
class Clock:
    """When the team works: intervals per weekday (Monday = 0) in a time zone, minus holidays.

    `around_the_clock()` is the clock without business hours.
    """

    time_zone: str = "UTC"
    weekly: tuple[tuple[tuple[time, time], ...], ...] = ()
    holidays: frozenset[date] = frozenset()

    @property
    def always_open(self) -> bool:
        return not self.weekly or not any(self.weekly)

    @classmethod
    def around_the_clock(cls) -> Clock:
        return cls()

    @classmethod
    def from_schedule(
        cls, time_zone: str, weekly: dict[str, list[list[str]]], holidays: frozenset[date]
    ) -> Clock:
        days = tuple(
            tuple(
                sorted(
                    (time.fromisoformat(opening), time.fromisoformat(closing))
                    for opening, closing in weekly.get(str(day), [])
                )
            )
            for day in range(7)
        )
        return cls(time_zone=time_zone, weekly=days, holidays=holidays)

    def _open_intervals(self, day: date, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        return [
            (
                datetime.combine(day, opening, tzinfo=tz).astimezone(UTC),
                datetime.combine(day, closing, tzinfo=tz).astimezone(UTC),
            )
            for opening, closing in self.weekly[day.weekday()]
        ]

    def add(self, start: datetime, minutes: int) -> datetime:
        """The time `minutes` of working time after `start` (aware), in UTC."""
        remaining = timedelta(minutes=minutes)
        start = start.astimezone(UTC)
        if self.always_open:
            return start + remaining
        tz = ZoneInfo(self.time_zone)
        day = start.astimezone(tz).date()
        for _ in range(HORIZON_DAYS):
            for opening, closing in self._open_intervals(day, tz):
                begin = max(opening, start)
                if begin >= closing:
                    continue
                available = closing - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
            day += timedelta(days=1)
        raise ValueError("these business hours have no open time within a year")

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time elapsed from `start` to `end` (zero when `end` is earlier)."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return timedelta(0)
        if self.always_open:
            return end - start
        tz = ZoneInfo(self.time_zone)
        total = timedelta(0)
        day = start.astimezone(tz).date()
        last = end.astimezone(tz).date()
        while day <= last:
            for opening, closing in self._open_intervals(day, tz):
                overlap = min(closing, end) - max(opening, start)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total
