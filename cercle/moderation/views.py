"""Moderation pages: rules (with a dry run before trusting them), the suggestion queue, house rules.

Rules and house rules are changed by members with `manage_workflow`; the queue
is worked by members who may moderate; the house rules have a public page the
team can link to from its platforms.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cercle.core import clock
from cercle.inbox.actions import ActionRefused
from cercle.workspaces.choices import Permission
from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member
from cercle.workspaces.models import Activity, Workspace

from .actions import (
    do_acknowledge_crisis,
    do_decide_suggestion,
    do_save_house_rule,
    do_save_rule,
    do_undo_activity,
)
from .choices import SuggestionState
from .crisis import drivers
from .dryrun import dry_run
from .forms import HouseRuleForm, RuleForm
from .models import CrisisAlert, HouseRule, Rule, Suggestion

DRY_RUN_WEEKS = (1, 4, 12)


@require_GET
@member_required(Permission.VIEW)
def rule_list(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    return render(
        request,
        "moderation/rules.html",
        {
            "rules": Rule.objects.filter(workspace_id=member.workspace_id).select_related(
                "house_rule"
            ),
            "house_rules": HouseRule.objects.filter(workspace_id=member.workspace_id),
            "pending": Suggestion.objects.filter(
                workspace_id=member.workspace_id, state=SuggestionState.PENDING
            ).count(),
            "can_manage": member.can(Permission.MANAGE_WORKFLOW),
            "house_form": HouseRuleForm(),
        },
    )


@require_http_methods(["GET", "POST"])
@member_required(Permission.MANAGE_WORKFLOW)
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    member = current_member(request)
    rule = get_object_or_404(Rule, pk=pk, workspace_id=member.workspace_id) if pk else None
    form = RuleForm(request.POST or None, workspace=member.workspace, rule=rule)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            saved = do_save_rule(
                member,
                member.workspace,
                name=form.cleaned_data["name"],
                conditions=form.conditions(),
                actions=form.actions(),
                mode=form.cleaned_data["mode"],
                position=form.cleaned_data["position"],
                stop=form.cleaned_data["stop"],
                house_rule=form.cleaned_data["house_rule"],
                rule=rule,
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(
                request, _("Rule saved. Try it on past messages before turning it on.")
            )
            return redirect("moderation:rule_edit", pk=saved.pk)
    if rule is not None:
        try:
            weeks = int(request.GET.get("weeks", "4"))
        except ValueError:
            weeks = 4
        result = dry_run(rule, weeks if weeks in DRY_RUN_WEEKS else 4)
    examples = []
    if result is not None:
        from cercle.inbox.models import Message

        examples = list(
            Message.objects.filter(pk__in=result.examples, workspace_id=member.workspace_id)
            .select_related("conversation")
            .order_by("-id")
        )
    return render(
        request,
        "moderation/rule_form.html",
        {
            "form": form,
            "rule": rule,
            "dry_run": result,
            "examples": examples,
            "weeks": DRY_RUN_WEEKS,
        },
    )


@require_GET
@member_required(Permission.MODERATE)
def queue(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    suggestions = (
        Suggestion.objects.filter(workspace_id=member.workspace_id, state=SuggestionState.PENDING)
        .select_related("rule", "message", "conversation__contact")
        .order_by("id")[:100]
    )
    return render(request, "moderation/queue.html", {"suggestions": suggestions})


@require_POST
@member_required(Permission.MODERATE)
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    suggestion = get_object_or_404(Suggestion, pk=pk, workspace_id=member.workspace_id)
    try:
        do_decide_suggestion(member, suggestion, accept=request.POST.get("decision") == "accept")
    except ActionRefused as exc:
        messages.error(request, str(exc))
    return redirect("moderation:queue")


@require_POST
@member_required(Permission.ASSIGN)
def undo(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    activity = get_object_or_404(Activity, pk=pk, workspace_id=member.workspace_id)
    try:
        do_undo_activity(member, activity)
    except ActionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Undone."))
    if activity.conversation_id:
        return redirect("inbox:conversation", activity.conversation_id)
    return redirect("moderation:rules")


@require_POST
@member_required(Permission.MANAGE_WORKFLOW)
def house_rule_save(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    form = HouseRuleForm(request.POST)
    if form.is_valid():
        do_save_house_rule(member, member.workspace, **form.cleaned_data)
        messages.success(request, _("House rule saved."))
    else:
        messages.error(request, _("The house rule needs a number and both texts."))
    return redirect("moderation:rules")


@require_GET
def house_rules_public(request: HttpRequest, slug: str) -> HttpResponse:
    """The community's guidelines, public (the team links to it from its platforms)."""
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        raise Http404
    rules = HouseRule.objects.filter(workspace=workspace)
    if not rules:
        raise Http404
    language = "fr" if (get_language() or "").startswith("fr") else "en"
    return render(
        request,
        "moderation/house_rules_public.html",
        {"workspace": workspace, "rules": [(r.number, r.text(language)) for r in rules]},
    )


@require_GET
@member_required(Permission.VIEW)
def crises(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    since = clock.now() - timedelta(days=30)
    alerts = CrisisAlert.objects.filter(workspace_id=member.workspace_id).filter(
        Q(ended_at__isnull=True) | Q(started_at__gte=since)
    )
    return render(
        request, "moderation/crises.html", {"alerts": alerts.select_related("channel")[:200]}
    )


@require_GET
@member_required(Permission.VIEW)
def crisis(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    alert = get_object_or_404(
        CrisisAlert.objects.select_related("channel", "post", "acknowledged_by__user"),
        pk=pk,
        workspace_id=member.workspace_id,
    )
    return render(
        request,
        "moderation/crisis.html",
        {
            "alert": alert,
            "drivers": drivers(alert),
            "can_acknowledge": member.can(Permission.MODERATE),
        },
    )


@require_POST
@member_required(Permission.MODERATE)
def crisis_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    alert = get_object_or_404(CrisisAlert, pk=pk, workspace_id=member.workspace_id)
    do_acknowledge_crisis(member, alert)
    messages.success(request, _("The alert is acknowledged: the team is on it."))
    return redirect("moderation:crisis", pk=alert.pk)
