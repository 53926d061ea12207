"""Reads of the workspaces app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import django_otp
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from .choices import AutomationKind, Role
from .models import Activity, Invitation, Member, Team, Workspace


def memberships(user: Any) -> QuerySet[Member]:
    """The active memberships of `user` (a deactivated member has no access to that workspace)."""
    return (
        Member.objects.filter(user=user, is_active=True)
        .select_related("workspace", "user")
        .order_by("workspace__name")
    )


def _two_factor_annotations() -> dict[str, Any]:
    """Whether the member's login has a confirmed second factor (any django-otp device kind),
    and whether one of its active memberships is in a workspace that requires one (the
    workspace's sign-in policy, read through its relation name: accounts sits above)."""
    devices = [
        Exists(model.objects.filter(user_id=OuterRef("user_id"), confirmed=True))
        for model in django_otp.device_classes()
    ]
    has_device: Any = devices[0]
    for other in devices[1:]:
        has_device = has_device | other
    return {
        "login_has_two_factor": has_device,
        "login_requires_two_factor": Exists(
            Member.objects.filter(
                user_id=OuterRef("user_id"),
                is_active=True,
                workspace__sign_in_policy__require_two_factor=True,
            )
        ),
    }


def request_memberships(user: Any) -> list[Member]:
    """The active memberships of `user` by workspace name, each with its workspace and the
    login's two-factor facts (`login_has_two_factor`, `login_requires_two_factor`): everything
    the middleware chain and the page header need of them, in one query, read afresh on each
    request (a deactivated member, a removed device or a new policy applies at once)."""
    rows = list(
        Member.objects.filter(user=user, is_active=True)
        .select_related("workspace")
        .annotate(**_two_factor_annotations())
        .order_by("workspace__name")
    )
    for row in rows:
        row.user = user  # the request's user, already loaded: no second copy of its row
    return rows


def pick_membership(rows: list[Member], workspace_id: int | None) -> Member | None:
    """The membership in the chosen workspace, else the first one (`request_memberships`)."""
    for row in rows:
        if row.workspace_id == workspace_id:
            return row
    return rows[0] if rows else None


def membership_for(user: Any, workspace_id: int | None) -> Member | None:
    """The member row of `user` in the chosen workspace, else in their first workspace."""
    qs = memberships(user)
    if workspace_id is not None:
        member = qs.filter(workspace_id=workspace_id).first()
        if member is not None:
            return member
    return qs.first()


# --- the members and teams pages ---------------------------------------------------------------


def members_of(workspace: Workspace, *, active: bool = True) -> list[Member]:
    """Members of the workspace, owners first, then by name."""
    rank = {role: i for i, role in enumerate(Role.values)}
    members = list(
        Member.objects.filter(workspace=workspace, is_active=active)
        .select_related("user")
        .prefetch_related("teams")
    )
    return sorted(members, key=lambda m: (rank.get(m.role, 99), m.name.casefold(), m.pk))


def member_in(workspace: Workspace, pk: int) -> Member:
    """A member of this workspace (active or not); another workspace's member is a 404."""
    try:
        return Member.objects.select_related("user").get(pk=pk, workspace=workspace)
    except Member.DoesNotExist as exc:
        raise Http404 from exc


def pending_invitations(workspace: Workspace) -> list[Invitation]:
    now = timezone.now()
    return list(
        Invitation.objects.filter(
            workspace=workspace,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        )
        .select_related("invited_by__user")
        .order_by("-id")
    )


def invitation_in(workspace: Workspace, pk: int) -> Invitation:
    try:
        return Invitation.objects.get(pk=pk, workspace=workspace)
    except Invitation.DoesNotExist as exc:
        raise Http404 from exc


def teams_of(workspace: Workspace) -> list[Team]:
    return list(
        Team.objects.filter(workspace=workspace)
        .prefetch_related("members__user")
        .order_by("name", "id")
    )


def team_in(workspace: Workspace, pk: int) -> Team:
    try:
        return Team.objects.get(pk=pk, workspace=workspace)
    except Team.DoesNotExist as exc:
        raise Http404 from exc


# --- the audit page ----------------------------------------------------------------------------

AUDIT_PAGE_SIZE = 50
# The actor filter's values: "m<member id>", "a:<automation kind>", or "platform".
MEMBER_PREFIX = "m"
AUTOMATION_PREFIX = "a:"
PLATFORM = "platform"


@dataclass(frozen=True)
class AuditFilters:
    """What the audit page filters on; dates are days in the workspace's time zone."""

    actor: str = ""
    verb: str = ""
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class AuditPage:
    activities: list[Activity]
    # The id to continue from (older rows), or None on the last page.
    next_before: int | None


def _actor_condition(workspace: Workspace, actor: str) -> Q | None:
    if actor == PLATFORM:
        return Q(actor__isnull=True, automation="")
    if actor.startswith(AUTOMATION_PREFIX):
        kind = actor.removeprefix(AUTOMATION_PREFIX)
        return Q(automation=kind) if kind in AutomationKind.values else Q(pk__in=[])
    if actor.startswith(MEMBER_PREFIX) and actor[1:].isdigit() and len(actor) < 20:
        return Q(actor_id=int(actor[1:]))
    return None


def _day_start(day: date) -> datetime:
    """Midnight of `day` in the current (the workspace's) time zone."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def audit_page(
    workspace: Workspace, filters: AuditFilters, *, before: int | None = None
) -> AuditPage:
    """One page of the workspace's Activity log, newest first, continued by id (keyset)."""
    qs = Activity.objects.filter(workspace=workspace)
    condition = _actor_condition(workspace, filters.actor)
    if condition is not None:
        qs = qs.filter(condition)
    if filters.verb:
        qs = qs.filter(verb=filters.verb)
    if filters.since is not None:
        qs = qs.filter(created_at__gte=_day_start(filters.since))
    if filters.until is not None:
        qs = qs.filter(created_at__lt=_day_start(filters.until + timedelta(days=1)))
    if before is not None:
        qs = qs.filter(pk__lt=before)
    rows = list(
        qs.select_related("actor__user", "conversation").order_by("-pk")[: AUDIT_PAGE_SIZE + 1]
    )
    more = len(rows) > AUDIT_PAGE_SIZE
    rows = rows[:AUDIT_PAGE_SIZE]
    return AuditPage(activities=rows, next_before=rows[-1].pk if more and rows else None)
