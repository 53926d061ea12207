"""Workflow settings pages: business hours with holidays, and SLA policies.

Every member may read them (so the team knows its targets); members whose role
has `manage_workflow` (manager, admin, owner) may change them.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cercle.workspaces.choices import Permission
from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member

from .actions import do_delete_sla_policy, do_save_business_hours, do_save_sla_policy
from .forms import BusinessHoursForm, SlaPolicyForm
from .models import BusinessHours, SlaPolicy
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
    form = BusinessHoursForm(request.POST or None, instance=schedule, initial=initial)
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
