"""Workflow settings pages: business hours with holidays, SLA policies, and routing.

Every member may read them (so the team knows its targets); members whose role
has `manage_workflow` (manager, admin, owner) may change them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cercle.connectors.models import Channel
from cercle.workspaces.actions import ActionRefused
from cercle.workspaces.choices import Permission
from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member
from cercle.workspaces.models import Member
from cercle.workspaces.views import roles_allowed

from .actions import (
    do_delete_sla_policy,
    do_save_business_hours,
    do_save_channel_routing,
    do_save_routing_settings,
    do_save_sla_policy,
    routing_settings_of,
)
from .forms import BusinessHoursForm, ChannelRoutingForm, RoutingSettingsForm, SlaPolicyForm
from .models import BusinessHours, SlaPolicy
from .queries import backlog_count, channel_rules, routing_team
from .routing import DEFAULT_FIRST_RESPONSE_MINUTES


@member_required(Permission.VIEW)
def settings_page(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    context = {
        "policies": SlaPolicy.objects.filter(workspace_id=member.workspace_id).select_related(
            "business_hours", "channel", "reassign_to__user"
        ),
        "schedules": BusinessHours.objects.filter(
            workspace_id=member.workspace_id
        ).prefetch_related("holidays"),
        "can_manage": member.can(Permission.MANAGE_WORKFLOW),
        "default_minutes": DEFAULT_FIRST_RESPONSE_MINUTES,
    }
    return render(request, "workflow/settings.html", context)


def _schedule_or_404(request: HttpRequest, pk: int | None) -> BusinessHours | None:
    if pk is None:
        return None
    try:
        return BusinessHours.objects.get(pk=pk, workspace_id=current_member(request).workspace_id)
    except BusinessHours.DoesNotExist as exc:
        raise Http404 from exc


def _policy_or_404(request: HttpRequest, pk: int | None) -> SlaPolicy | None:
    if pk is None:
        return None
    try:
        return SlaPolicy.objects.get(pk=pk, workspace_id=current_member(request).workspace_id)
    except SlaPolicy.DoesNotExist as exc:
        raise Http404 from exc


@require_http_methods(["GET", "POST"])
@member_required(Permission.MANAGE_WORKFLOW)
def business_hours_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    member = current_member(request)
    schedule = _schedule_or_404(request, pk)
    initial = None if schedule else {"time_zone": member.workspace.timezone}
    form = BusinessHoursForm(
        request.POST or None, instance=schedule, initial=initial, workspace_id=member.workspace_id
    )
    if request.method == "POST" and form.is_valid():
        try:
            do_save_business_hours(
                member,
                member.workspace,
                name=form.cleaned_data["name"],
                time_zone=form.cleaned_data["time_zone"],
                weekly=form.weekly(),
                holidays=form.holiday_list(),
                hours=schedule,
                team=form.cleaned_data.get("team"),
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Business hours saved."))
            return redirect("workflow:settings")
    return render(request, "workflow/form.html", {"form": form, "title": _("Business hours")})


@require_http_methods(["GET", "POST"])
@member_required(Permission.MANAGE_WORKFLOW)
def policy_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    member = current_member(request)
    policy = _policy_or_404(request, pk)
    form = SlaPolicyForm(request.POST or None, instance=policy, workspace=member.workspace)
    if request.method == "POST" and form.is_valid():
        try:
            do_save_sla_policy(member, member.workspace, form.save(commit=False))
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("SLA policy saved."))
            return redirect("workflow:settings")
    return render(request, "workflow/form.html", {"form": form, "title": _("SLA policy")})


@require_POST
@member_required(Permission.MANAGE_WORKFLOW)
def policy_delete(request: HttpRequest, pk: int) -> HttpResponse:
    policy = _policy_or_404(request, pk)
    assert policy is not None
    do_delete_sla_policy(current_member(request), policy)
    messages.success(request, _("SLA policy deleted."))
    return redirect("workflow:settings")


# --- routing -------------------------------------------------------------------------------------


def _routing_context(member: Member, form: RoutingSettingsForm) -> dict[str, Any]:
    workspace_id = member.workspace_id
    can_manage = member.can(Permission.MANAGE_WORKFLOW)
    channel_forms = [
        (
            channel,
            rule,
            ChannelRoutingForm(
                workspace=member.workspace,
                prefix=f"ch{channel.pk}",
                initial={
                    "auto_assign": ""
                    if rule is None or rule.auto_assign is None
                    else ("on" if rule.auto_assign else "off"),
                    "skills": ", ".join(rule.skills) if rule else "",
                    "members": [m.pk for m in rule.members.all()] if rule else [],
                },
            ),
        )
        for channel, rule in channel_rules(workspace_id)
    ]
    return {
        "form": form,
        "channel_forms": channel_forms,
        "team": routing_team(workspace_id),
        "backlog": backlog_count(workspace_id),
        "can_manage": can_manage,
        "who_may_change": roles_allowed(Permission.MANAGE_WORKFLOW),
        "active_tab": "routing",
    }


@require_http_methods(["GET", "POST"])
@member_required(Permission.VIEW)
def routing_page(request: HttpRequest) -> HttpResponse:
    """Automatic assignment: the workspace's settings, each channel's, and who takes work now."""
    member = current_member(request)
    routing = routing_settings_of(member.workspace_id)
    form = RoutingSettingsForm(initial=RoutingSettingsForm.initial_for(routing))
    if request.method == "POST":
        if not member.can(Permission.MANAGE_WORKFLOW):
            raise PermissionDenied(Permission.MANAGE_WORKFLOW)
        form = RoutingSettingsForm(request.POST)
        if form.is_valid():
            try:
                do_save_routing_settings(
                    member,
                    member.workspace,
                    auto_assign=form.cleaned_data["auto_assign"],
                    default_capacity=form.cleaned_data["default_capacity"],
                    off_grace_minutes=form.cleaned_data["off_grace_minutes"],
                    kind_skills=form.kind_skills(),
                )
            except ActionRefused as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Routing saved."))
                return redirect("workflow:routing")
    return render(
        request,
        "workflow/routing.html",
        _routing_context(member, form),
        status=422 if form.errors else 200,
    )


@require_POST
@member_required(Permission.MANAGE_WORKFLOW)
def channel_routing(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    try:
        channel = Channel.objects.get(pk=pk, workspace_id=member.workspace_id, is_active=True)
    except Channel.DoesNotExist as exc:
        raise Http404 from exc
    form = ChannelRoutingForm(request.POST, workspace=member.workspace, prefix=f"ch{channel.pk}")
    if form.is_valid():
        do_save_channel_routing(
            member,
            channel,
            auto_assign=form.cleaned_data["auto_assign"],
            skills=form.skill_list(),
            member_ids=[m.pk for m in form.cleaned_data["members"]],
        )
        messages.success(request, _("Routing of %(channel)s saved.") % {"channel": channel.name})
    else:
        messages.error(request, _("Check the channel's routing."))
    return redirect("workflow:routing")
