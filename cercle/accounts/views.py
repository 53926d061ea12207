"""The sign-in security page: lockouts (lifted by owners and admins), two-factor authentication."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cercle.workspaces.choices import Permission
from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member
from cercle.workspaces.queries import member_in
from cercle.workspaces.views import roles_allowed

from .actions import do_unlock_login
from .lockout import failure_limit, lockout_minutes
from .queries import lockouts_in


@member_required("view")
def security_page(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    can_manage = member.can(Permission.MANAGE_MEMBERS)
    return render(
        request,
        "accounts/security.html",
        {
            "can_manage": can_manage,
            "lockouts": lockouts_in(member.workspace) if can_manage else [],
            "failure_limit": failure_limit(),
            "lockout_minutes": lockout_minutes(),
            "who_may_change": roles_allowed(Permission.MANAGE_MEMBERS),
            "active_tab": "security",
        },
    )


@require_POST
@member_required(Permission.MANAGE_MEMBERS)
def unlock_login(request: HttpRequest, member_id: int) -> HttpResponse:
    actor = current_member(request)
    target = member_in(actor.workspace, member_id)
    try:
        do_unlock_login(actor, target)
    except PermissionDenied:
        messages.error(request, _("You may not do this."))
    else:
        messages.success(request, _("%(name)s can sign in again.") % {"name": target.name})
    return redirect("accounts:security")
