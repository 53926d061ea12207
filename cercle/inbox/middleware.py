"""Per-request safety and locale for pages: a Content-Security-Policy and the workspace's time zone.

The inbox views apply both through `views.inbox_view`; the middleware does the
same for every page once listed in settings.MIDDLEWARE (after
CurrentWorkspaceMiddleware).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

# Scripts, styles, images and connections only from us: platform text cannot
# run code even if an escape were missed. No inline scripts or styles anywhere.
# No form-action: adding a channel posts a form that redirects to the platform's OAuth page.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)


ResponseT = TypeVar("ResponseT", bound=HttpResponseBase)


def add_security_headers(response: ResponseT) -> ResponseT:
    """Set the CSP unless the view chose its own."""
    if "Content-Security-Policy" not in response:
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def activate_workspace_timezone(request: HttpRequest) -> None:
    """Show times in the current workspace's time zone (UTC when there is none or it is unknown)."""
    member = getattr(request, "member", None)
    if member is None:
        timezone.deactivate()
        return
    try:
        timezone.activate(member.workspace.timezone)
    except (ValueError, KeyError):
        timezone.deactivate()


class WorkspaceLocaleAndCSPMiddleware:
    """Activates the workspace's time zone and adds the Content-Security-Policy header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        activate_workspace_timezone(request)
        return add_security_headers(self.get_response(request))
