"""The dashboard: response metrics, when the community talks, what it reacts to; drill-down and CSV.

Every member may read it. Each figure links to the conversations behind it,
and each table downloads as CSV (cells that a spreadsheet would run as a
formula are neutralised).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cercle.connectors.models import Channel
from cercle.core import clock
from cercle.core.replicas import reads_from_replica
from cercle.inbox.actions import ActionRefused
from cercle.inbox.choices import Kind
from cercle.inbox.models import Conversation
from cercle.moderation.choices import Intent, RuleMode
from cercle.workflow.models import SlaPolicy
from cercle.workspaces.choices import Permission
from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member
from cercle.workspaces.models import Member

from . import charts, queries
from .actions import (
    Chosen,
    do_apply_community_template,
    do_delete_goal,
    do_delete_persona,
    do_save_goal,
    do_save_persona,
)
from .community import DESCRIPTIONS, CommunityType, proposal
from .forms import GoalForm, PersonaForm
from .goals import goal_status
from .http import (
    PERIODS,
    WEEKDAY_LABELS,
    csv_response,
    neutralise,
    period_of,
)
from .metrics import distribution
from .models import CommunityProfile, Goal, Persona
from .persona_figures import persona_figures
from .queries import Period
from .report import (
    GROUPS,
    PERIOD_GROUP,
    UNITS,
    PersonaFigures,
    Report,
    build_report,
    conversations_behind,
    default_unit,
    persona_comparison,
    platform_heatmap,
)
from .suggest import suggest_personas
from .trends import (
    BASELINE_DAYS,
    BASELINE_FACTOR,
    conversations_of_day,
    crisis_alerts,
    fold,
    hourly_spikes,
    messages_with,
    spikes,
    trending_terms,
)
from .weekly import build_weekly, pdf_bytes


def _unit_of(request: HttpRequest) -> str:
    """The period breakdown's unit asked for (`?by=`), or "" for the period's default."""
    unit = request.GET.get("by", "")
    return unit if unit in UNITS else ""


# How long a page's report is kept for its charts (each fetches its JSON just after the page).
REPORT_TTL_SECONDS = 300


def _moment(request: HttpRequest) -> datetime | None:
    """The instant a page was drawn (`?at=`, its charts' URLs carry it) when it is a recent
    past one: the charts then show the page's figures, read once."""
    try:
        at = datetime.fromtimestamp(float(request.GET["at"]), tz=UTC)
    except (KeyError, ValueError, OverflowError, OSError):
        return None
    now = clock.now()
    return at if now - timedelta(seconds=REPORT_TTL_SECONDS) <= at <= now else None


def _report(request: HttpRequest, use_rollups: bool = True) -> tuple[int, Report]:
    """The report of the page's period (`?days=`, `?by=`, `?at=`). From the rollups, it is
    kept a few minutes under its period and unit, so the charts of a page do not compute it
    again."""
    days, period = period_of(request)
    workspace = current_member(request).workspace
    unit = _unit_of(request)
    at = _moment(request)
    if at is not None:
        period = Period.local_days(days, at, ZoneInfo(workspace.timezone))
    unit = unit or default_unit(period)
    if not use_rollups:
        return days, build_report(workspace, period, False, unit)
    key = f"insights:report:{workspace.pk}:{days}:{unit}:{period.end.timestamp():.6f}"
    report = cache.get(key)
    if not isinstance(report, Report):
        report = build_report(workspace, period, True, unit)
        cache.set(key, report, REPORT_TTL_SECONDS)
    return days, report


def _chart_query(days: int, report: Report) -> str:
    """The query of a page's charts: its period, unit and instant."""
    return f"days={days}&by={report.unit}&at={report.period.end.timestamp():.6f}"


# The charts the JSON endpoint draws: each breakdown, the periods, and the page's other tables.
CHARTS = (
    *GROUPS,
    PERIOD_GROUP,
    "daily",
    "distribution",
    "posts",
    "platforms",
    "ratings",
    "personas",
)


@require_GET
@member_required(Permission.VIEW)
@reads_from_replica
def chart(request: HttpRequest, name: str) -> HttpResponse:
    """One chart's data as JSON (`charts`), with the page's period and filters (`?days=`,
    `?by=`), for the member's workspace only."""
    if name not in CHARTS:
        raise Http404
    days, report = _report(request)
    payload: charts.Payload
    if name in GROUPS:
        payload = charts.breakdown_chart(report, name, report.breakdowns[name], days)
    elif name == PERIOD_GROUP:
        payload = charts.period_chart(report, days)
    elif name == "daily":
        payload = charts.daily_chart(report)
    elif name == "distribution":
        payload = charts.distribution_chart(distribution_labels(), report.first)
    elif name == "posts":
        payload = charts.posts_chart(report)
    elif name == "platforms":
        mix = queries.platform_mix(current_member(request).workspace, report.period)
        payload = charts.platforms_chart(mix)
    elif name == "ratings":
        payload = charts.ratings_chart(report.ratings)
    else:
        payload = charts.personas_chart(_persona_rows(request, report), days)
    response = JsonResponse(payload)
    response["Cache-Control"] = "private, no-store"
    return response


def _persona_rows(request: HttpRequest, report: Report) -> list[PersonaFigures]:
    return persona_comparison(current_member(request).workspace, report)


@require_GET
@member_required(Permission.VIEW)
@reads_from_replica
def dashboard(request: HttpRequest) -> HttpResponse:
    days, report = _report(request)
    weekdays = [_(label) for label in WEEKDAY_LABELS]
    platform, grid = _heatmap_of(request, report)
    context: dict[str, Any] = {
        "report": report,
        "days": days,
        "periods": PERIODS,
        "groups": GROUPS,
        "heat_rows": list(zip(weekdays, grid, strict=True)),
        "heat_total": sum(map(sum, grid)),
        "heat_max": max(map(max, grid)),
        "heat_platform": platform,
        "platform_mix": _platform_mix(request, report),
        "distribution": _distribution(report),
        "heat_platforms": sorted(
            {row.key for row in report.breakdowns.get("platform", []) if row.key}
        ),
        "ratings": report.ratings,
        "hours": range(24),
        "units": [(unit, _unit_label(unit)) for unit in UNITS],
        "period_query": f"days={days}&by={report.unit}",
        "chart_query": _chart_query(days, report),
    }
    return render(request, "insights/dashboard.html", context)


def _unit_label(unit: str) -> str:
    return {"day": _("By day"), "week": _("By week"), "month": _("By month")}[unit]


def distribution_labels() -> list[str]:
    return [
        _("under 5 min"),
        _("5–15 min"),
        _("15 min–1 h"),
        _("1–4 h"),
        _("4–24 h"),
        _("over a day"),
    ]


def _distribution(report: Report) -> list[tuple[str, int]]:
    """The team's first answers of the period by time taken (metrics.DISTRIBUTION_BINS)."""
    return list(zip(distribution_labels(), distribution(report.first.histogram), strict=True))


def _platform_mix(request: HttpRequest, report: Report) -> list[queries.PlatformMix]:
    """Each platform's kinds and intents, labelled in the member's language."""
    return [
        replace(
            row,
            kinds=[(_label(Kind, kind), share) for kind, share in row.kinds],
            intents=[(_label(Intent, intent), share) for intent, share in row.intents],
        )
        for row in queries.platform_mix(current_member(request).workspace, report.period)
    ]


def _label(choices: Any, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def _heatmap_of(request: HttpRequest, report: Report) -> tuple[str, list[list[int]]]:
    """The heatmap asked for: the whole community's, or one platform's (`?platform=`, one of the
    workspace's channels' platforms; anything else is the whole community's)."""
    platform = request.GET.get("platform", "")
    workspace = current_member(request).workspace
    if not platform or not Channel.objects.filter(workspace=workspace, platform=platform).exists():
        return "", report.heatmap
    return platform, platform_heatmap(workspace, report.period, platform)


@require_GET
@member_required(Permission.VIEW)
@reads_from_replica
def drill_down(request: HttpRequest) -> HttpResponse:
    """The conversations behind one figure of the dashboard (from the raw rows: the rollups
    count, they do not list)."""
    days, report = _report(request, use_rollups=False)
    group = request.GET.get("group", "")
    if group and group not in GROUPS and group != PERIOD_GROUP:
        raise Http404
    ids = conversations_behind(
        report, group, request.GET.get("key", ""), request.GET.get("first") == "1"
    )
    behind = (
        Conversation.objects.filter(workspace_id=current_member(request).workspace_id, pk__in=ids)
        .select_related("contact", "channel")
        .order_by("-last_activity_at", "-id")
    )
    if request.GET.get("format") == "csv":
        return conversations_csv(request, behind, f"cercle-conversations-{days}d.csv")
    csv_query = request.GET.copy()
    csv_query["format"] = "csv"
    return render(
        request,
        "insights/drill_down.html",
        {
            "conversations": behind[:500],
            "count": len(ids),
            "days": days,
            "group": group,
            "csv_url": f"{request.path}?{csv_query.urlencode()}",
        },
    )


CONVERSATION_COLUMNS = [
    "id",
    "url",
    "channel",
    "platform",
    "contact",
    "status",
    "kind",
    "language",
    "priority",
    "opened_at",
    "first_response_at",
    "last_activity_at",
    "latest_message",
]


def conversations_csv(request: HttpRequest, conversations: Any, filename: str) -> HttpResponse:
    """The conversations row by row (every one, not only the page's 500), read in chunks."""
    rows = (
        [
            c.pk,
            request.build_absolute_uri(reverse("inbox:conversation", args=[c.pk])),
            c.channel.name,
            c.channel.platform,
            c.contact.display_name if c.contact else "",
            c.status,
            c.last_kind,
            c.language,
            c.priority,
            c.created_at.isoformat(),
            c.first_response_at.isoformat() if c.first_response_at else "",
            c.last_activity_at.isoformat() if c.last_activity_at else "",
            c.preview,
        ]
        for c in conversations.iterator(chunk_size=1000)
    )
    return csv_response(filename, CONVERSATION_COLUMNS, rows)


@require_GET
@member_required(Permission.VIEW)
@reads_from_replica
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
        return csv_response(f"cercle-{table}-{days}d.csv", header, rows)
    if table == PERIOD_GROUP:
        return csv_response(
            f"cercle-{report.unit}s-{days}d.csv",
            [
                report.unit,
                "from",
                "waits",
                "answered",
                "automated",
                "closed_unanswered",
                "answered_share_percent",
                "first_waits",
                "first_median_s",
                "first_p90_s",
                "first_median_business_s",
                "first_p90_business_s",
                "resolution_median_s",
                "resolution_median_business_s",
            ],
            (
                [
                    p.label,
                    p.key,
                    p.every.waits,
                    p.every.answered,
                    p.every.automated,
                    p.every.closed_unanswered,
                    charts.percent(p.every.answered_share),
                    p.first.waits,
                    p.first.median_seconds,
                    p.first.p90_seconds,
                    p.first.median_business_seconds,
                    p.first.p90_business_seconds,
                    p.resolution_median_seconds,
                    p.resolution_median_business_seconds,
                ]
                for p in report.periods
            ),
        )
    if table == "daily":
        return csv_response(f"cercle-daily-volume-{days}d.csv", ["day", "inbound"], report.daily)
    if table == "ratings":
        return csv_response(
            f"cercle-ratings-{days}d.csv",
            ["channel", "platform", "reviews", "average", "1", "2", "3", "4", "5"],
            (
                [
                    r.channel,
                    r.platform,
                    r.count,
                    f"{r.average:.2f}",
                    *(r.by_star.get(star, 0) for star in range(1, 6)),
                ]
                for r in report.ratings
            ),
        )
    if table == "personas":
        return csv_response(
            f"cercle-personas-{days}d.csv",
            [
                "persona",
                "contacts",
                "messages",
                "waits",
                "first_median_s",
                "first_median_business_s",
                "answered_share_percent",
                "negative_share_percent",
            ],
            (
                [
                    row.persona.name,
                    row.size,
                    row.messages,
                    row.every.waits if row.every else 0,
                    row.first.median_seconds if row.first else None,
                    row.first.median_business_seconds if row.first else None,
                    charts.percent(row.every.answered_share) if row.every else None,
                    charts.percent(row.negative_share),
                ]
                for row in _persona_rows(request, report)
            ),
        )
    if table == "distribution":
        return csv_response(
            f"cercle-first-answers-{days}d.csv",
            ["time_taken", "first_answers"],
            _distribution(report),
        )
    if table == "platforms":
        mix = queries.platform_mix(current_member(request).workspace, report.period)
        return csv_response(
            f"cercle-platforms-{days}d.csv",
            ["platform", "inbound", "of", "value", "share_percent"],
            (
                [row.platform, row.inbound, of, value, f"{share:.1f}"]
                for row in mix
                for of, shares in (("kind", row.kinds), ("intent", row.intents))
                for value, share in shares
            ),
        )
    if table == "posts":
        return csv_response(
            f"cercle-posts-{days}d.csv",
            ["post", "url", "platform", "inbound", "kinds", "intents", "sentiments"],
            (
                [p.text[:200], p.url, p.platform, p.inbound, p.by_kind, p.by_intent, p.by_sentiment]
                for p in report.posts
            ),
        )
    if table == "heatmap":
        platform, grid = _heatmap_of(request, report)
        return csv_response(
            f"cercle-heatmap-{platform + '-' if platform else ''}{days}d.csv",
            ["weekday", *[str(h) for h in range(24)]],
            ([WEEKDAY_LABELS[d], *grid[d]] for d in range(7)),
        )
    raise Http404


@require_GET
@member_required(Permission.VIEW)
def weekly_pdf(request: HttpRequest) -> HttpResponse:
    """Last week's report as a PDF."""
    workspace = current_member(request).workspace
    weekly = build_weekly(workspace, clock.now())
    response = HttpResponse(pdf_bytes(weekly), content_type="application/pdf")
    name = f"cercle-week-{weekly.week_start.isoformat()}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- trends ------------------------------------------------------------------------------------


@require_GET
@member_required(Permission.VIEW)
def trends_page(request: HttpRequest) -> HttpResponse:
    """Terms rising against their own baseline; days of spikes; the crisis alerts of the period."""
    workspace = current_member(request).workspace
    days, period = period_of(request)
    tz = ZoneInfo(workspace.timezone)
    today = period.end.astimezone(tz).date()
    return render(
        request,
        "insights/trends.html",
        {
            "trends": trending_terms(workspace, period.end, days=days),
            "spikes": spikes(
                workspace, today - timedelta(days=days - 1), today + timedelta(days=1), tz
            ),
            "hour_spikes": hourly_spikes(
                workspace, today - timedelta(days=days - 1), today + timedelta(days=1), tz
            )[:50],
            "alerts": crisis_alerts(workspace, period.start, period.end)[:50],
            "days": days,
            "periods": PERIODS,
            "window_days": days,
            "baseline_days": days * BASELINE_FACTOR,
            "spike_baseline_days": BASELINE_DAYS,
        },
    )


def _conversation_list(
    request: HttpRequest, ids: Sequence[int], days: int, back_url: str
) -> HttpResponse:
    conversations = (
        Conversation.objects.filter(workspace_id=current_member(request).workspace_id, pk__in=ids)
        .select_related("contact", "channel")
        .order_by("-last_activity_at", "-id")[:500]
    )
    return render(
        request,
        "insights/drill_down.html",
        {"conversations": conversations, "count": len(ids), "days": days, "back_url": back_url},
    )


@require_GET
@member_required(Permission.VIEW)
def trend_term(request: HttpRequest) -> HttpResponse:
    """The conversations whose messages of the trend window hold one term."""
    workspace = current_member(request).workspace
    term = fold(request.GET.get("term", "").strip())[:100]
    if not term:
        raise Http404
    days, _unused = period_of(request)
    ids = messages_with(workspace, term, clock.now(), days)
    return _conversation_list(request, ids, days, f"{reverse('insights:trends')}?days={days}")


@require_GET
@member_required(Permission.VIEW)
def trend_day(request: HttpRequest, day: str) -> HttpResponse:
    """The conversations of one day's inbound messages (a spike's drill-down)."""
    workspace = current_member(request).workspace
    try:
        when = date.fromisoformat(day)
    except ValueError as exc:
        raise Http404 from exc
    try:
        hour = int(request.GET["hour"]) if "hour" in request.GET else None
    except ValueError as exc:
        raise Http404 from exc
    if hour is not None and not 0 <= hour < 24:
        raise Http404
    messages_ = conversations_of_day(workspace, when, ZoneInfo(workspace.timezone), hour)
    ids = list(dict.fromkeys(messages_.values_list("conversation_id", flat=True)))
    return _conversation_list(request, ids, 30, reverse("insights:trends"))


# --- community type and templates ---------------------------------------------------------------


def _text(request: HttpRequest, name: str, default: str, limit: int = 500) -> str:
    return request.POST.get(name, default).replace("\x00", "").strip()[:limit]


def _number(request: HttpRequest, name: str, default: float) -> float:
    try:
        return float(request.POST.get(name, default))
    except ValueError:
        return default


def _chosen(request: HttpRequest, member: Member, kind: str) -> Chosen:
    """The proposal's items the form kept, as the team edited them."""
    offer = proposal(kind)
    goals = [
        Goal(
            name=_text(request, f"goal-{i}-name", str(item.name), 120),
            kpi=item.kpi,
            target=_number(request, f"goal-{i}-target", item.target),
            comparison=item.comparison,
            minutes=item.minutes,
            business_hours=item.business_hours,
            period=item.period,
            owner=member,
        )
        for i, item in enumerate(offer.goals)
        if request.POST.get(f"goal-{i}")
    ]
    slas = [
        SlaPolicy(
            name=_text(request, f"sla-{i}-name", str(item.name), 120),
            position=i,
            intent=item.intent,
            first_response_minutes=max(
                1, int(_number(request, f"sla-{i}-minutes", item.first_response_minutes))
            ),
        )
        for i, item in enumerate(offer.slas)
        if request.POST.get(f"sla-{i}")
    ]
    modes = {RuleMode.OFF, RuleMode.SUGGEST, RuleMode.LIVE}
    rules = [
        (
            _text(request, f"rule-{i}-name", str(item.name), 120),
            item.conditions,
            item.actions,
            mode if (mode := request.POST.get(f"rule-{i}-mode", "")) in modes else RuleMode.SUGGEST,
        )
        for i, item in enumerate(offer.rules)
        if request.POST.get(f"rule-{i}")
    ]
    replies = [
        (
            _text(request, f"reply-{i}-title", str(item.title), 120),
            item.shortcut,
            {
                language: _text(request, f"reply-{i}-{language}", text, 5000)
                for language, text in item.versions.items()
            },
        )
        for i, item in enumerate(offer.replies)
        if request.POST.get(f"reply-{i}")
    ]
    return Chosen(goals=goals, slas=slas, rules=rules, replies=replies)


@require_http_methods(["GET", "POST"])
@member_required(Permission.MANAGE_WORKFLOW)
def community(request: HttpRequest) -> HttpResponse:
    """Say what kind of community the workspace runs; then see and edit what Cercle proposes
    for it, and create the items kept."""
    member = current_member(request)
    profile = CommunityProfile.objects.filter(workspace_id=member.workspace_id).first()
    kind = request.GET.get("kind") or request.POST.get("kind") or (profile.kind if profile else "")
    if kind and kind not in CommunityType.values:
        raise Http404
    if request.method == "POST" and kind:
        try:
            do_apply_community_template(
                member, member.workspace, kind, _chosen(request, member, kind)
            )
        except (ValidationError, ActionRefused) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("The kind of community and the items kept are saved."))
            return redirect("insights:goals")
    return render(
        request,
        "insights/community.html",
        {
            "kinds": [(k, label, DESCRIPTIONS[k]) for k, label in CommunityType.choices],
            "kind": kind,
            "profile": profile,
            "offer": proposal(kind) if kind else None,
            "rule_modes": [
                (RuleMode.SUGGEST, _("Suggest only")),
                (RuleMode.LIVE, _("Live")),
                (RuleMode.OFF, _("Off")),
            ],
        },
    )


# --- goals -------------------------------------------------------------------------------------


@require_GET
@member_required(Permission.VIEW)
def goals(request: HttpRequest) -> HttpResponse:
    """Every goal with its live status; managers create, change and delete them."""
    member = current_member(request)
    rows = [
        goal_status(goal)
        for goal in Goal.objects.filter(workspace_id=member.workspace_id).select_related(
            "workspace", "owner__user"
        )
    ]
    return render(
        request,
        "insights/goals.html",
        {
            "statuses": rows,
            "can_manage": member.can(Permission.MANAGE_WORKFLOW),
            "community": CommunityProfile.objects.filter(workspace_id=member.workspace_id).first(),
        },
    )


@require_http_methods(["GET", "POST"])
@member_required(Permission.MANAGE_WORKFLOW)
def goal_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    member = current_member(request)
    goal = (
        get_object_or_404(Goal, pk=pk, workspace_id=member.workspace_id) if pk is not None else None
    )
    form = GoalForm(request.POST or None, instance=goal, workspace=member.workspace)
    if request.method == "POST" and form.is_valid():
        try:
            do_save_goal(member, member.workspace, form.save(commit=False))
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Goal saved."))
            return redirect("insights:goals")
    return render(
        request,
        "insights/form.html",
        {"form": form, "title": _("Goal"), "cancel_url": reverse("insights:goals")},
    )


@require_POST
@member_required(Permission.MANAGE_WORKFLOW)
def goal_delete(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    do_delete_goal(member, get_object_or_404(Goal, pk=pk, workspace_id=member.workspace_id))
    messages.success(request, _("Goal deleted."))
    return redirect("insights:goals")


# --- personas ----------------------------------------------------------------------------------


@require_GET
@member_required(Permission.VIEW)
def personas(request: HttpRequest) -> HttpResponse:
    """Every persona with its size (the contacts it holds now), and the personas side by side
    over the period: messages, first response, answered and negative shares."""
    member = current_member(request)
    now = clock.now()
    days, report = _report(request)
    compared = _persona_rows(request, report)
    return render(
        request,
        "insights/personas.html",
        {
            "rows": [(row.persona, row.size) for row in compared],
            "compared": compared,
            "days": days,
            "periods": PERIODS,
            "chart_query": _chart_query(days, report),
            "can_manage": member.can(Permission.MANAGE_WORKFLOW),
            "suggestions": suggest_personas(member.workspace, now),
        },
    )


@require_POST
@member_required(Permission.MANAGE_WORKFLOW)
def persona_accept(request: HttpRequest) -> HttpResponse:
    """Save one of the suggested personas (recomputed now), then open it to be edited."""
    member = current_member(request)
    suggestions = suggest_personas(member.workspace, clock.now())
    try:
        chosen = suggestions[int(request.POST.get("index", ""))]
    except (ValueError, IndexError) as exc:
        raise Http404 from exc
    saved = do_save_persona(
        member,
        member.workspace,
        name=chosen.name,
        description=chosen.description,
        conditions=chosen.conditions,
    )
    messages.success(request, _("Persona saved."))
    return redirect("insights:persona_edit", pk=saved.pk)


@require_GET
@member_required(Permission.VIEW)
def persona_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A persona's size, its response metrics and its heatmap over the period."""
    member = current_member(request)
    persona = get_object_or_404(Persona, pk=pk, workspace_id=member.workspace_id)
    days, period = period_of(request)
    figures = persona_figures(persona, period)
    grid = figures.heatmap
    weekdays = [_(label) for label in WEEKDAY_LABELS]
    return render(
        request,
        "insights/persona.html",
        {
            "persona": persona,
            "size": figures.size,
            "sample": [name for _pk, name in figures.sample],
            "first": figures.first,
            "every": figures.every,
            "heat_rows": list(zip(weekdays, grid, strict=True)),
            "heat_total": sum(map(sum, grid)),
            "heat_max": max(map(max, grid)),
            "hours": range(24),
            "days": days,
            "periods": PERIODS,
            "can_manage": member.can(Permission.MANAGE_WORKFLOW),
        },
    )


def _platforms(member_workspace_id: int) -> list[tuple[str, str]]:
    found = (
        Channel.objects.filter(workspace_id=member_workspace_id)
        .values_list("platform", flat=True)
        .distinct()
    )
    return [(p, p) for p in sorted(set(found))]


@require_http_methods(["GET", "POST"])
@member_required(Permission.MANAGE_WORKFLOW)
def persona_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    member = current_member(request)
    persona = (
        get_object_or_404(Persona, pk=pk, workspace_id=member.workspace_id)
        if pk is not None
        else None
    )
    form = PersonaForm(
        request.POST or None,
        initial=PersonaForm.initial_for(persona) if persona else None,
        platforms=_platforms(member.workspace_id),
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = do_save_persona(
                member,
                member.workspace,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                conditions=form.conditions(),
                persona=persona,
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Persona saved."))
            return redirect("insights:persona", pk=saved.pk)
    return render(
        request,
        "insights/form.html",
        {"form": form, "title": _("Persona"), "cancel_url": reverse("insights:personas")},
    )


@require_POST
@member_required(Permission.MANAGE_WORKFLOW)
def persona_delete(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    do_delete_persona(member, get_object_or_404(Persona, pk=pk, workspace_id=member.workspace_id))
    messages.success(request, _("Persona deleted."))
    return redirect("insights:personas")


__all__ = [
    "chart",
    "community",
    "dashboard",
    "drill_down",
    "export",
    "goal_delete",
    "goal_edit",
    "goals",
    "neutralise",
    "persona_accept",
    "persona_delete",
    "persona_detail",
    "persona_edit",
    "personas",
    "trend_day",
    "trend_term",
    "trends_page",
    "weekly_pdf",
]
