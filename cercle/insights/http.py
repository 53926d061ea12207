"""What the insights pages share: the period they show and their CSV downloads."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cercle.core import clock
from cercle.workspaces.middleware import current_member

from .queries import Period

PERIODS = (7, 30, 90)
WEEKDAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# A leading character that makes a spreadsheet evaluate the cell (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def period_title(key: str, unit: str) -> str:
    """A day, week or month of the period breakdown (its first day's ISO date) as the member
    reads it, in the active language: "2 November 2026", "week of 2 November 2026", "November
    2026".
    (The report keeps the ISO labels: it is shared by members of every language; the CSV too.)"""
    try:
        start = date.fromisoformat(key)
    except ValueError:
        return key
    if unit == "month":
        return date_format(start, "F Y").capitalize()
    day = date_format(start, "j F Y")
    return _("week of %(day)s") % {"day": day} if unit == "week" else day


def period_of(request: HttpRequest) -> tuple[int, Period]:
    """The period a page shows: `?days=` among `PERIODS` (30 by default), as whole local days
    of the workspace up to now."""
    try:
        days = int(request.GET.get("days", "30"))
    except ValueError:
        days = 30
    days = days if days in PERIODS else 30
    tz = ZoneInfo(current_member(request).workspace.timezone)
    return days, Period.local_days(days, clock.now(), tz)


def neutralise(value: object) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> HttpResponse:
    """A CSV download; cells a spreadsheet would run as formulas are neutralised."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return response


__all__ = [
    "FORMULA_PREFIXES",
    "PERIODS",
    "WEEKDAY_LABELS",
    "csv_response",
    "neutralise",
    "period_of",
]
