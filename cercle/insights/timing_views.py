"""Insights pages: "When" (the best time to publish, the staffing to answer in time) and
"Members" (the most active contacts, first-time or returning, advocates and critics)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cercle.core.replicas import reads_from_replica
from cercle.workspaces.choices import Permission
from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member

from .http import PERIODS, WEEKDAY_LABELS, csv_response, period_of
from .members import build_members
from .timing import SERVICE_LEVEL, build_timing


@require_GET
@member_required(Permission.VIEW)
@reads_from_replica
def timing(request: HttpRequest) -> HttpResponse:
    days, period = period_of(request)
    workspace = current_member(request).workspace
    result = build_timing(workspace, period)
    weekdays = [_(label) for label in WEEKDAY_LABELS]
    if request.GET.get("format") == "csv":
        return csv_response(
            f"staffing-{days}d.csv",
            [
                _("Weekday"),
                _("Hour"),
                _("Items needing a reply"),
                _("Members working"),
                _("Members needed"),
            ],
            (
                [
                    weekdays[slot.weekday],
                    slot.hour,
                    round(slot.arrivals, 2),
                    round(slot.working, 2),
                    "" if slot.needed is None else slot.needed,
                ]
                for row in result.slots
                for slot in row
            ),
        )
    return render(
        request,
        "insights/timing.html",
        {
            "timing": result,
            "days": days,
            "periods": PERIODS,
            "hours": range(24),
            "staff_rows": list(zip(weekdays, result.slots, strict=True)),
            "best_weekdays": [weekdays[weekday] for weekday, _per_day in result.best_weekdays],
            "short_slots": [(weekdays[slot.weekday], slot) for slot in result.short_slots[:5]],
            "service_level": round(SERVICE_LEVEL * 100),
        },
    )


@require_GET
@member_required(Permission.VIEW)
@reads_from_replica
def members(request: HttpRequest) -> HttpResponse:
    """The most active contacts, first-time or returning, advocates and critics."""
    days, period = period_of(request)
    result = build_members(current_member(request).workspace, period)
    return render(
        request, "insights/members.html", {"members": result, "days": days, "periods": PERIODS}
    )
