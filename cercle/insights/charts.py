"""What each chart of the insights pages draws, as the JSON its endpoint serves.

A chart is the picture of one table of the page, fed by `views.chart` (no inline
script: the CSP stays strict), with the same period and filters as the page:

    {"labels": [...], "horizontal": bool,
     "datasets": [{"label": ..., "unit": "seconds" | "percent" | "count" | "stars",
                   "values": [number or null, ...]}],
     "links": [url or null, ...]}

`links[i]` lists the conversations behind the i-th label (the drill-down), so a
click on a bar does what a click on the table's figure does. Labels are text the
canvas draws (never markup), so hostile names stay inert.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

from cercle.inbox.templatetags.inbox_tags import platform_label

from . import queries
from .http import period_title
from .metrics import Summary, distribution
from .report import PERIOD_GROUP, PersonaFigures, Report, Row

Payload = dict[str, Any]
# How long a post's text is in a chart's label.
LABEL_CHARS = 60


def series(label: str, unit: str, values: Sequence[float | int | None]) -> dict[str, Any]:
    return {"label": label, "unit": unit, "values": list(values)}


def percent(value: float | None) -> float | None:
    return round(100 * value, 1) if value is not None else None


def drill_url(days: int, unit: str, group: str = "", key: str = "", first: bool = False) -> str:
    query: dict[str, str | int] = {"days": days}
    if group:
        query["group"] = group
        query["key"] = key
    if group == PERIOD_GROUP:
        query["by"] = unit
    if first:
        query["first"] = 1
    return f"{reverse('insights:drill_down')}?{urlencode(query)}"


def breakdown_chart(report: Report, group: str, rows: Sequence[Row], days: int) -> Payload:
    """A breakdown table's median and p90 (every response, around the clock) and answered
    share, per row."""
    return {
        "horizontal": True,
        "labels": [row.label for row in rows],
        "datasets": [
            series(_("Median"), "seconds", [row.summary.median_seconds for row in rows]),
            series("p90", "seconds", [row.summary.p90_seconds for row in rows]),
            series(_("Answered"), "percent", [percent(row.summary.answered_share) for row in rows]),
        ],
        "links": [drill_url(days, report.unit, group, row.key) for row in rows],
    }


def period_chart(report: Report, days: int) -> Payload:
    rows = report.periods
    return {
        "horizontal": False,
        "labels": [period_title(row.key, report.unit) for row in rows],
        "datasets": [
            series(
                _("First response, median"),
                "seconds",
                [row.first.median_seconds for row in rows],
            ),
            series(_("First response, p90"), "seconds", [row.first.p90_seconds for row in rows]),
            series(
                _("Resolution, median"), "seconds", [row.resolution_median_seconds for row in rows]
            ),
            series(_("Answered"), "percent", [percent(row.every.answered_share) for row in rows]),
        ],
        "links": [drill_url(days, report.unit, PERIOD_GROUP, row.key) for row in rows],
    }


def daily_chart(report: Report) -> Payload:
    return {
        "horizontal": False,
        "labels": [day for day, _count in report.daily],
        "datasets": [series(_("Inbound items per day"), "count", [n for _day, n in report.daily])],
        "links": [reverse("insights:trend_day", args=[day]) for day, _count in report.daily],
    }


def distribution_chart(labels: Sequence[str], first: Summary) -> Payload:
    return {
        "horizontal": False,
        "labels": list(labels),
        "datasets": [series(_("First answers"), "count", distribution(first.histogram))],
        "links": [None] * len(labels),
    }


def posts_chart(report: Report) -> Payload:
    posts = report.posts
    return {
        "horizontal": True,
        "labels": [
            post.text if len(post.text) <= LABEL_CHARS else post.text[: LABEL_CHARS - 1] + "…"
            for post in posts
        ],
        "datasets": [series(_("Inbound"), "count", [post.inbound for post in posts])],
        "links": [None] * len(posts),
    }


def platforms_chart(mix: Sequence[queries.PlatformMix]) -> Payload:
    return {
        "horizontal": True,
        "labels": [platform_label(row.platform) for row in mix],
        "datasets": [series(_("Inbound"), "count", [row.inbound for row in mix])],
        "links": [None] * len(mix),
    }


def ratings_chart(ratings: Sequence[queries.RatingRow]) -> Payload:
    return {
        "horizontal": True,
        "labels": [row.channel for row in ratings],
        "datasets": [series(_("Average"), "stars", [round(row.average, 2) for row in ratings])],
        "links": [None] * len(ratings),
    }


def personas_chart(rows: Sequence[PersonaFigures], days: int) -> Payload:
    return {
        "horizontal": True,
        "labels": [row.persona.name for row in rows],
        "datasets": [
            series(
                _("First response, median"),
                "seconds",
                [row.first.median_seconds if row.first else None for row in rows],
            ),
            series(
                _("Answered"),
                "percent",
                [percent(row.every.answered_share) if row.every else None for row in rows],
            ),
            series(_("Negative"), "percent", [percent(row.negative_share) for row in rows]),
        ],
        "links": [drill_url(days, "", "persona", str(row.persona.pk)) for row in rows],
    }


__all__ = [
    "breakdown_chart",
    "daily_chart",
    "distribution_chart",
    "drill_url",
    "period_chart",
    "personas_chart",
    "platforms_chart",
    "posts_chart",
    "ratings_chart",
]
