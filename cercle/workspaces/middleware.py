"""Attach the current workspace and membership to each request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .queries import membership_for

SESSION_KEY = "workspace_id"


class CurrentWorkspaceMiddleware:
    """Sets `request.member` (or None) from the session's chosen workspace, falling back to the first one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.member = None  # type: ignore[attr-defined]
        if request.user.is_authenticated:
            member = membership_for(request.user, request.session.get(SESSION_KEY))
            request.member = member  # type: ignore[attr-defined]
            if member is not None:
                request.session[SESSION_KEY] = member.workspace_id
        return self.get_response(request)
