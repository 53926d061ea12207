"""Attach the current membership to each request, and show times in its workspace's time zone."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

from .models import Member
from .queries import memberships, pick_membership, request_memberships

SESSION_KEY = "workspace_id"
# The attribute of the request that holds the membership (read through `current_member`).
REQUEST_ATTRIBUTE = "member"
# The request's active memberships, read with the member (the workspace switcher lists them).
MEMBERSHIPS_ATTRIBUTE = "memberships"


def member_or_none(request: HttpRequest) -> Member | None:
    """The membership the request acts as, or None (not logged in, or in no workspace)."""
    member = getattr(request, REQUEST_ATTRIBUTE, None)
    return member if isinstance(member, Member) else None


def request_memberships_of(request: HttpRequest) -> list[Member]:
    """The active memberships the middleware read for this request (none when logged out)."""
    rows = getattr(request, MEMBERSHIPS_ATTRIBUTE, None)
    if isinstance(rows, list):
        return rows
    # A request the middleware did not see (a view called directly): read them now.
    user = getattr(request, "user", None)
    return list(memberships(user)) if user is not None and user.is_authenticated else []


def current_member(request: HttpRequest) -> Member:
    """The membership the request acts as (views behind `member_required` always have one)."""
    member = member_or_none(request)
    if member is None:
        raise PermissionDenied("no workspace")
    return member


def activate_workspace_timezone(member: Member | None) -> None:
    """Show times in the workspace's time zone (UTC when there is none or it is unknown)."""
    if member is None:
        timezone.deactivate()
        return
    try:
        timezone.activate(member.workspace.timezone)
    except (ValueError, KeyError):
        timezone.deactivate()


class CurrentWorkspaceMiddleware:
    """Sets `request.member` (or None) from the session's chosen workspace, falling back to the
    first one, and `request.memberships` (all of them), and activates that workspace's time
    zone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        member = None
        rows: list[Member] = []
        if request.user.is_authenticated:
            # One query: all the user's active memberships (the switcher lists them) with the
            # login's two-factor facts (TwoFactorMiddleware reads them from the member).
            rows = request_memberships(request.user)
            member = pick_membership(rows, request.session.get(SESSION_KEY))
            # Write only on a change: a session save on every GET takes SQLite's write lock.
            if member is not None and request.session.get(SESSION_KEY) != member.workspace_id:
                request.session[SESSION_KEY] = member.workspace_id
        setattr(request, REQUEST_ATTRIBUTE, member)
        setattr(request, MEMBERSHIPS_ATTRIBUTE, rows)
        activate_workspace_timezone(member)
        try:
            return self.get_response(request)
        finally:
            # Threads serve other requests next: leave no time zone behind.
            timezone.deactivate()
