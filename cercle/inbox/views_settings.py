"""The inbox's settings page: options of the workspace's inbox (owners change them)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from cercle.workspaces.choices import Permission
from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member
from cercle.workspaces.views import roles_allowed

from .actions import do_change_inbox_settings
from .receive import reopens_on_inbound


@member_required("view")
def inbox_settings(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    can_manage = member.can(Permission.MANAGE_WORKSPACE)
    if request.method == "POST":
        try:
            do_change_inbox_settings(
                member,
                member.workspace_id,
                reopen_on_inbound=request.POST.get("reopen_on_inbound") == "on",
            )
        except PermissionDenied:
            messages.error(request, _("Your role does not allow this."))
        else:
            messages.success(request, _("Settings saved."))
        return redirect("inbox:settings")
    return render(
        request,
        "inbox/settings.html",
        {
            "reopen_on_inbound": reopens_on_inbound(member.workspace_id),
            "can_manage": can_manage,
            "who_may_change": roles_allowed(Permission.MANAGE_WORKSPACE),
            "active_tab": "inbox",
        },
    )


__all__ = ["inbox_settings"]
