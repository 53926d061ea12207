"""Login, logout, the workspace switcher, and the members, teams, settings, audit and profile pages.

Every lookup is scoped by the member's workspace (another workspace's member is
a 404). Views only read and call actions; the actions check the roles again.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from .actions import (
    ActionRefused,
    do_accept_invitation,
    do_change_member_role,
    do_change_profile,
    do_change_team,
    do_change_workspace,
    do_create_team,
    do_deactivate_member,
    do_delete_team,
    do_invite_member,
    do_reactivate_member,
    do_revoke_invitation,
    do_set_member_capacity,
    invitation_for_token,
    mail_server_configured,
)
from .choices import (
    ROLE_PERMISSIONS,
    AutomationKind,
    Availability,
    Permission,
    Role,
    Verb,
)
from .decorators import member_required
from .forms import (
    AcceptForm,
    CapacityForm,
    InviteForm,
    ProfileForm,
    RoleForm,
    TeamForm,
    WorkspaceForm,
    roles_up_to,
    split_list,
)
from .mentions import own_handles
from .middleware import SESSION_KEY, current_member
from .models import Activity, Team
from .queries import (
    MEMBER_PREFIX,
    AuditFilters,
    audit_page,
    invitation_in,
    member_in,
    members_of,
    memberships,
    pending_invitations,
    team_in,
    teams_of,
)


class LoginView(auth_views.LoginView):
    template_name = "workspaces/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # "Sign in with <provider>" when single sign-on is configured (cercle.accounts.sso).
        config = getattr(settings, "CERCLE_OIDC", None)
        context["sso_name"] = getattr(config, "name", "") if config is not None else ""
        return context


@require_POST
@member_required("view")
def switch_workspace(request: HttpRequest) -> HttpResponse:
    try:
        workspace_id = int(request.POST.get("workspace", ""))
    except ValueError:
        return HttpResponseBadRequest("bad workspace")
    if not 0 < workspace_id < 2**63:  # beyond the database's integers the query crashes
        return HttpResponseBadRequest("bad workspace")
    if not memberships(request.user).filter(workspace_id=workspace_id).exists():
        return HttpResponseBadRequest("not a member of that workspace")
    request.session[SESSION_KEY] = workspace_id
    return redirect("inbox:index")


# --- members, invitations, teams, settings, audit, profile -------------------------------------


def roles_allowed(permission: str) -> str:
    """ "Owner, Admin": the roles whose members may change a page (each page says so)."""
    return ", ".join(
        str(label) for value, label in Role.choices if permission in ROLE_PERMISSIONS[value]
    )


def _refused(request: HttpRequest, exc: Exception) -> None:
    messages.error(request, str(exc) or _("You may not do this."))


@member_required("view")
def members_page(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    workspace = member.workspace
    can_manage = member.can(Permission.MANAGE_MEMBERS)
    invite_form = InviteForm(member.role)
    shown_link = request.session.pop(SHOWN_LINK_KEY, None)
    if request.method == "POST":
        invite_form = InviteForm(member.role, request.POST)
        if invite_form.is_valid():
            try:
                sent = do_invite_member(
                    member,
                    workspace,
                    invite_form.cleaned_data["email"],
                    invite_form.cleaned_data["role"],
                    accept_url=lambda token: request.build_absolute_uri(
                        reverse("workspaces:accept", args=[token])
                    ),
                )
            except (ActionRefused, PermissionDenied) as exc:
                _refused(request, exc)
            else:
                if sent.mailed:
                    messages.success(
                        request,
                        _("Invitation sent to %(email)s.") % {"email": sent.invitation.email},
                    )
                else:
                    # Shown once, on the next page, to the member who invited.
                    request.session[SHOWN_LINK_KEY] = {
                        "email": sent.invitation.email,
                        "url": sent.url,
                    }
                return redirect("workspaces:members")
    return render(
        request,
        "workspaces/members.html",
        {
            "members": members_of(workspace),
            "former_members": members_of(workspace, active=False),
            "invitations": pending_invitations(workspace) if can_manage else [],
            "invite_form": invite_form,
            "roles": roles_up_to(member.role),
            "can_manage": can_manage,
            "can_set_capacity": member.can(Permission.MANAGE_WORKFLOW),
            "who_may_change": roles_allowed(Permission.MANAGE_MEMBERS),
            "shown_link": shown_link,
            "mail_configured": mail_server_configured(),
            "active_tab": "members",
        },
    )


SHOWN_LINK_KEY = "invitation_link"


@require_POST
@member_required(Permission.MANAGE_MEMBERS)
def change_role(request: HttpRequest, member_id: int) -> HttpResponse:
    actor = current_member(request)
    target = member_in(actor.workspace, member_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            do_change_member_role(actor, target, form.cleaned_data["role"])
            messages.success(request, _("Role changed."))
        except (ActionRefused, PermissionDenied) as exc:
            _refused(request, exc)
    return redirect("workspaces:members")


@require_POST
@member_required(Permission.MANAGE_WORKFLOW)
def set_capacity(request: HttpRequest, member_id: int) -> HttpResponse:
    """A manager sets how many open conversations automatic assignment gives a member."""
    actor = current_member(request)
    target = member_in(actor.workspace, member_id)
    form = CapacityForm(request.POST)
    if form.is_valid():
        try:
            do_set_member_capacity(actor, target, form.cleaned_data["capacity"])
            messages.success(request, _("Capacity changed."))
        except (ActionRefused, PermissionDenied) as exc:
            _refused(request, exc)
    else:
        messages.error(request, _("A capacity is a number between 0 and 500, or empty."))
    return redirect("workspaces:members")


@require_POST
@member_required(Permission.MANAGE_MEMBERS)
def deactivate_member(request: HttpRequest, member_id: int) -> HttpResponse:
    actor = current_member(request)
    target = member_in(actor.workspace, member_id)
    try:
        do_deactivate_member(actor, target)
        messages.success(
            request,
            _("%(name)s no longer has access; their open conversations were unassigned.")
            % {"name": target.name},
        )
    except (ActionRefused, PermissionDenied) as exc:
        _refused(request, exc)
    return redirect("workspaces:members")


@require_POST
@member_required(Permission.MANAGE_MEMBERS)
def reactivate_member(request: HttpRequest, member_id: int) -> HttpResponse:
    actor = current_member(request)
    target = member_in(actor.workspace, member_id)
    try:
        do_reactivate_member(actor, target)
    except (ActionRefused, PermissionDenied) as exc:
        _refused(request, exc)
    return redirect("workspaces:members")


@require_POST
@member_required(Permission.MANAGE_MEMBERS)
def revoke_invitation(request: HttpRequest, invitation_id: int) -> HttpResponse:
    actor = current_member(request)
    do_revoke_invitation(actor, invitation_in(actor.workspace, invitation_id))
    return redirect("workspaces:members")


@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation link: join with the login in use, or create one."""
    invitation = invitation_for_token(token)
    if invitation is None:
        return render(request, "workspaces/invitation_invalid.html", status=404)
    form = AcceptForm()
    if request.method == "POST":
        try:
            if request.POST.get("join") and request.user.is_authenticated:
                joined = do_accept_invitation(token, user=request.user)
            else:
                form = AcceptForm(request.POST)
                if not form.is_valid():
                    raise _FormInvalid
                joined = do_accept_invitation(
                    token,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                    display_name=form.cleaned_data["display_name"],
                )
                login(request, joined.user, backend="django.contrib.auth.backends.ModelBackend")
        except _FormInvalid:
            pass
        except ActionRefused as exc:
            form.add_error(None, str(exc))
        else:
            request.session[SESSION_KEY] = joined.workspace_id
            return redirect("inbox:index")
    return render(
        request,
        "workspaces/accept.html",
        {"invitation": invitation, "form": form, "page_body_class": "page-login"},
    )


class _FormInvalid(Exception):
    """The accept form has errors: show it again."""


@member_required("view")
def teams_page(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    workspace = member.workspace
    active = members_of(workspace)
    form = TeamForm(active)
    if request.method == "POST":
        form = TeamForm(active, request.POST)
        if form.is_valid():
            try:
                do_create_team(
                    member, workspace, form.cleaned_data["name"], form.cleaned_data["members"]
                )
            except (ActionRefused, PermissionDenied) as exc:
                _refused(request, exc)
            else:
                return redirect("workspaces:teams")
    teams = teams_of(workspace)
    return render(
        request,
        "workspaces/teams.html",
        {
            "teams": [
                (team, TeamForm(active, initial=_team_initial(team), prefix=f"team{team.pk}"))
                for team in teams
            ],
            "form": form,
            "can_manage": member.can(Permission.MANAGE_MEMBERS),
            "who_may_change": roles_allowed(Permission.MANAGE_MEMBERS),
            "active_tab": "teams",
        },
    )


def _team_initial(team: Team) -> dict[str, Any]:
    return {"name": team.name, "members": [m.pk for m in team.members.all()]}


@require_POST
@member_required(Permission.MANAGE_MEMBERS)
def change_team(request: HttpRequest, team_id: int) -> HttpResponse:
    actor = current_member(request)
    team = team_in(actor.workspace, team_id)
    if request.POST.get("delete"):
        do_delete_team(actor, team)
        return redirect("workspaces:teams")
    form = TeamForm(members_of(actor.workspace), request.POST, prefix=f"team{team.pk}")
    if form.is_valid():
        try:
            do_change_team(actor, team, form.cleaned_data["name"], form.cleaned_data["members"])
        except (ActionRefused, PermissionDenied) as exc:
            _refused(request, exc)
    else:
        messages.error(request, _("Check the team's name and members."))
    return redirect("workspaces:teams")


@member_required("view")
def workspace_settings(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    workspace = member.workspace
    initial = {
        "name": workspace.name,
        "timezone": workspace.timezone,
        "languages": ", ".join(workspace.languages),
    }
    form = WorkspaceForm(initial=initial)
    can_manage = member.can(Permission.MANAGE_WORKSPACE)
    if request.method == "POST":
        form = WorkspaceForm(request.POST, initial=initial)
        if form.is_valid():
            try:
                do_change_workspace(
                    member,
                    workspace,
                    name=form.cleaned_data["name"],
                    timezone=form.cleaned_data["timezone"],
                    languages=split_list(form.cleaned_data["languages"]),
                )
            except ActionRefused as exc:
                form.add_error(None, str(exc))
            except PermissionDenied:
                form.add_error(
                    None,
                    _("Only these roles may change the settings: %(roles)s.")
                    % {"roles": roles_allowed(Permission.MANAGE_WORKSPACE)},
                )
            else:
                messages.success(request, _("Settings saved."))
                return redirect("workspaces:settings")
    return render(
        request,
        "workspaces/settings.html",
        {
            "form": form,
            "can_manage": can_manage,
            "who_may_change": roles_allowed(Permission.MANAGE_WORKSPACE),
            "active_tab": "settings",
        },
        status=422 if form.errors else 200,
    )


def _parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _parse_id(value: str) -> int | None:
    return int(value) if value.isdigit() and 0 < len(value) < 19 else None


@member_required(Permission.MANAGE_MEMBERS)
def audit_page_view(request: HttpRequest) -> HttpResponse:
    """The workspace's Activity log, filtered by actor, verb and dates, older pages by id."""
    member = current_member(request)
    workspace = member.workspace
    verb = request.GET.get("verb", "")
    filters = AuditFilters(
        actor=request.GET.get("actor", "")[:40],
        verb=verb if verb in Verb.values else "",
        since=_parse_day(request.GET.get("since", "")),
        until=_parse_day(request.GET.get("until", "")),
    )
    page = audit_page(workspace, filters, before=_parse_id(request.GET.get("before", "")))
    query = {k: v for k, v in request.GET.items() if k != "before" and v}
    everyone = members_of(workspace) + members_of(workspace, active=False)
    return render(
        request,
        "workspaces/audit.html",
        {
            "page": page,
            "rows": [(activity, audit_summary(activity)) for activity in page.activities],
            "filters": filters,
            "member_options": [
                (
                    f"{MEMBER_PREFIX}{m.pk}",
                    m.name if m.is_active else f"{m.name} ({_('deactivated')})",
                )
                for m in everyone
            ],
            "automations": AutomationKind.choices,
            "verbs": Verb.choices,
            "next_query": urlencode({**query, "before": page.next_before})
            if page.next_before
            else "",
            "paged": "before" in request.GET,
            "first_query": urlencode(query),
            "active_tab": "audit",
        },
    )


# How the audit page names the keys of an Activity's data (others are shown as they are).
_AUDIT_KEYS = {
    "member": gettext_lazy("member"),
    "role": gettext_lazy("role"),
    "old": gettext_lazy("before"),
    "new": gettext_lazy("after"),
    "email": gettext_lazy("e-mail"),
    "team": gettext_lazy("team"),
    "old_name": gettext_lazy("former name"),
    "added": gettext_lazy("added"),
    "removed": gettext_lazy("removed"),
    "fields": gettext_lazy("fields"),
    "changes": gettext_lazy("changes"),
    "availability": gettext_lazy("availability"),
    "assignee": gettext_lazy("assignee"),
    "tag": gettext_lazy("tag"),
}
# Values shown by their label in the reader's language (a role, an availability).
_AUDIT_VALUES = {**dict(Role.choices), **dict(Availability.choices)}


def audit_summary(activity: Activity) -> list[tuple[str, str]]:
    """The Activity's data as (key, text) pairs, shown escaped: names in it are untrusted."""
    pairs: list[tuple[str, str]] = []
    for key, value in (activity.data or {}).items():
        if key.endswith("_id"):
            continue
        if isinstance(value, list | dict):
            text = json.dumps(value, ensure_ascii=False)
        else:
            text = str(_AUDIT_VALUES.get(value, value) if isinstance(value, str) else value)
        pairs.append((str(_AUDIT_KEYS.get(key, key))[:40], text[:300]))
    return pairs


@member_required("view")
def profile_page(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    form = ProfileForm(initial=ProfileForm.initial_for(member))
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                do_change_profile(
                    member,
                    display_name=form.cleaned_data["display_name"],
                    languages=split_list(form.cleaned_data["languages"]),
                    skills=split_list(form.cleaned_data["skills"]),
                    availability=form.cleaned_data["availability"],
                    notifications=form.notifications(),
                )
                do_set_member_capacity(member, member, form.cleaned_data["capacity"])
            except ActionRefused as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Profile saved."))
                return redirect("workspaces:profile")
    return render(
        request,
        "workspaces/profile.html",
        {"form": form, "active_tab": "profile", "handles": own_handles(member)},
        status=422 if form.errors else 200,
    )
