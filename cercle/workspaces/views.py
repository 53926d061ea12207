"""Login, logout and the workspace switcher."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from .decorators import member_required
from .middleware import SESSION_KEY
from .queries import memberships


class LoginView(auth_views.LoginView):
    template_name = "workspaces/login.html"
    redirect_authenticated_user = True


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
