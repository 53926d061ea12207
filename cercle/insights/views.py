"""The dashboard: response metrics, when the community talks, what it reacts to; drill-down and CSV.

Every member may read it. Each figure links to the conversations behind it,
and each table downloads as CSV (cells that a spreadsheet would run as a
formula are neutralised).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cercle.core import clock
from cercle.inbox.models import Conversation
from cercle.workspaces.choices import Permission
from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member

from .queries import Period
from .report import GROUPS, Report, build_report, conversations_behind

PERIODS = (7, 30, 90)
WEEKDAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# A leading character that makes a spreadsheet evaluate the cell (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _period(request: HttpRequest) -> tuple[int, Period]:
    try:
        days = int(request.GET.get("days", "30"))
    except ValueError:
        days = 30
    days = days if days in PERIODS else 30
    return days, Period.last_days(days, clock.now())


def _report(request: HttpRequest) -> tuple[int, Report]:
    days, period = _period(request)
    return days, build_report(current_member(request).workspace, period)


@require_GET
@member_required(Permission.VIEW)
def dashboard(request: HttpRequest) -> HttpResponse:
    days, report = _report(request)
    weekdays = [_(label) for label in WEEKDAY_LABELS]
    context: dict[str, Any] = {
        "report": report,
        "days": days,
        "periods": PERIODS,
        "groups": GROUPS,
        "heat_rows": list(zip(weekdays, report.heatmap, strict=True)),
        "hours": range(24),
        "chart_data": {
            "labels": [day for day, _count in report.daily],
            "values": [count for _day, count in report.daily],
            "label": _("Inbound items per day"),
        },
    }
    return render(request, "insights/dashboard.html", context)


@require_GET
@member_required(Permission.VIEW)
def drill_down(request: HttpRequest) -> HttpResponse:
    """The conversations behind one figure of the dashboard."""
    days, report = _report(request)
    group = request.GET.get("group", "")
    if group and group not in GROUPS:
        raise Http404
    ids = conversations_behind(
        report, group, request.GET.get("key", ""), request.GET.get("first") == "1"
    )
    conversations = (
        Conversation.objects.filter(workspace_id=current_member(request).workspace_id, pk__in=ids)
        .select_related("contact", "channel")
        .order_by("-last_activity_at", "-id")[:500]
    )
    return render(
        request,
        "insights/drill_down.html",
        {"conversations": conversations, "count": len(ids), "days": days, "group": group},
    )


def neutralise(value: object) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _csv(filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return response


@require_GET
@member_required(Permission.VIEW)
def export(request: HttpRequest, table: str) -> HttpResponse:
    days, report = _report(request)
    if table in GROUPS:
        header = [
            table,
            "waits",
            "answered",
            "automated",
            "closed_unanswered",
            "median_s",
            "p90_s",
            "median_business_s",
            "p90_business_s",
        ]
        rows = (
            [
                r.label,
                r.summary.waits,
                r.summary.answered,
                r.summary.automated,
                r.summary.closed_unanswered,
                r.summary.median_seconds,
                r.summary.p90_seconds,
                r.summary.median_business_seconds,
                r.summary.p90_business_seconds,
            ]
            for r in report.breakdowns[table]
        )
        return _csv(f"cercle-{table}-{days}d.csv", header, rows)
    if table == "posts":
        return _csv(
            f"cercle-posts-{days}d.csv",
            ["post", "url", "platform", "inbound", "kinds", "intents", "sentiments"],
            (
                [p.text[:200], p.url, p.platform, p.inbound, p.by_kind, p.by_intent, p.by_sentiment]
                for p in report.posts
            ),
        )
    if table == "heatmap":
        return _csv(
            f"cercle-heatmap-{days}d.csv",
            ["weekday", *[str(h) for h in range(24)]],
            ([WEEKDAY_LABELS[d], *report.heatmap[d]] for d in range(7)),
        )
    raise Http404


__all__ = ["dashboard", "drill_down", "export", "neutralise"]
