"""Writes of the workspaces app."""

from __future__ import annotations

import hashlib
import logging
import secrets
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.conf.locale import LANG_INFO
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from cercle.core import clock

from .actors import Actor, Automation, actor_fields, require, system
from .choices import (
    ROLE_RANK,
    Availability,
    NotificationEvent,
    NotificationMedium,
    Permission,
    Role,
    Verb,
)
from .models import Activity, Invitation, Member, Team, Workspace
from .signals import member_deactivated

logger = logging.getLogger(__name__)

# How long an invitation link works.
INVITATION_LIFETIME = timedelta(days=7)
# ISO 639-1 codes (two letters) Django knows a name for: what language fields accept.
LANGUAGE_CODES = frozenset(code for code in LANG_INFO if len(code) == 2)


def do_create_workspace(
    name: str, *, slug: str = "", timezone: str = "Europe/Paris", language: str = "fr"
) -> Workspace:
    """A new, empty workspace with a unique slug (created from the command line or the demo)."""
    base = slugify(slug or name)[:50] or "workspace"
    candidate, n = base, 1
    while Workspace.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    with transaction.atomic():
        workspace = Workspace.objects.create(
            name=name, slug=candidate, timezone=timezone, language=language
        )
        _log(workspace.pk, Verb.WORKSPACE_CREATED, system(workspace.pk), name=name)
    return workspace


def do_create_user(
    username: str, password: str, *, email: str = "", first_name: str = "", last_name: str = ""
) -> User:
    """A login (argon2-hashed password)."""
    user: User = get_user_model().objects.create_user(
        username=username,
        password=password,
        email=email,
        first_name=first_name,
        last_name=last_name,
    )
    return user


def do_add_member(
    workspace: Workspace, user: User, role: str = Role.AGENT, display_name: str = ""
) -> Member:
    """Give `user` a role in `workspace` (updates the role if already a member).

    The command line's and the demo's way in; people join through invitations.
    """
    actor = system(workspace.pk)
    with transaction.atomic():
        member, created = Member.objects.get_or_create(
            workspace=workspace, user=user, defaults={"role": role, "display_name": display_name}
        )
        if created:
            _log(workspace.pk, Verb.MEMBER_ADDED, actor, member_id=member.pk, role=role)
        elif member.role != role:
            old, member.role = member.role, role
            member.save(update_fields=["role"])
            _log(
                workspace.pk,
                Verb.MEMBER_ROLE_CHANGED,
                actor,
                member_id=member.pk,
                old=old,
                new=role,
            )
    return member


# --- members, invitations, teams, settings, profile --------------------------------------------


class ActionRefused(ValueError):
    """The action cannot be done (last owner, expired invitation, bad value); the message says why."""


def _log(workspace_id: int, verb: str, actor: Actor | None, **data: object) -> Activity:
    """One Activity row about the workspace (not about a conversation), by `actor`."""
    return Activity.objects.create(
        workspace_id=workspace_id,
        verb=verb,
        data=dict(data),
        created_at=clock.now(),
        **actor_fields(actor),
    )


def _may_manage_role(actor: Actor, role: str) -> bool:
    """A member grants or changes only roles at or below their own (automations: any)."""
    if isinstance(actor, Automation):
        return True
    return ROLE_RANK.get(role, 99) <= ROLE_RANK.get(actor.role, -1)


def _active_owner_count(workspace_id: int) -> int:
    return Member.objects.filter(workspace_id=workspace_id, role=Role.OWNER, is_active=True).count()


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mail_server_configured() -> bool:
    """Whether invitations can be mailed: EMAIL_HOST is set (else the link is shown instead)."""
    return bool(getattr(settings, "EMAIL_HOST", ""))


@dataclass(frozen=True)
class InvitationSent:
    """A new invitation, its one-time link, and whether the link went out by mail."""

    invitation: Invitation
    url: str
    mailed: bool


def do_invite_member(
    actor: Actor,
    workspace: Workspace,
    email: str,
    role: str,
    *,
    accept_url: Callable[[str], str],
) -> InvitationSent:
    """Invite `email` with `role`: mail the link when a mail server is configured.

    `accept_url(token)` builds the absolute link (the view knows the host). The
    token itself is never stored, only its hash.
    """
    require(actor, Permission.MANAGE_MEMBERS, workspace.pk)
    email = BaseUserManager.normalize_email(email.strip())
    if role not in Role.values:
        raise ActionRefused(_("Unknown role."))
    if not _may_manage_role(actor, role):
        raise PermissionDenied(_("You cannot give a role above your own."))
    if Member.objects.filter(
        workspace_id=workspace.pk, user__email__iexact=email, is_active=True
    ).exists():
        raise ActionRefused(_("This person is already a member of the workspace."))
    token = secrets.token_urlsafe(32)
    now = clock.now()
    with transaction.atomic():
        invitation = Invitation.objects.create(
            workspace=workspace,
            email=email,
            role=role,
            token_hash=_hash_token(token),
            invited_by=actor if isinstance(actor, Member) else None,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        _log(workspace.pk, Verb.MEMBER_INVITED, actor, email=email, role=role)
    url = accept_url(token)
    mailed = False
    if mail_server_configured():
        inviter = actor.name if isinstance(actor, Member) else actor.label
        subject = _("%(inviter)s invites you to %(workspace)s on Cercle") % {
            "inviter": inviter,
            "workspace": workspace.name,
        }
        body = _(
            "%(inviter)s invites you to join %(workspace)s on Cercle.\n\n"
            "Open this link to accept (it works once, for %(days)d days):\n%(url)s\n"
        ) % {
            "inviter": inviter,
            "workspace": workspace.name,
            "days": INVITATION_LIFETIME.days,
            "url": url,
        }
        try:
            mailed = send_mail(subject, body, None, [email]) == 1
        except OSError:
            logger.warning("invitation mail to workspace %s failed", workspace.pk, exc_info=True)
    return InvitationSent(invitation=invitation, url=url, mailed=mailed)


def do_revoke_invitation(actor: Actor, invitation: Invitation) -> None:
    """Make a pending invitation's link useless."""
    require(actor, Permission.MANAGE_MEMBERS, invitation.workspace_id)
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None or invitation.revoked_at is not None:
            return
        invitation.revoked_at = clock.now()
        invitation.save(update_fields=["revoked_at"])
        _log(invitation.workspace_id, Verb.INVITATION_REVOKED, actor, email=invitation.email)


def invitation_for_token(token: str) -> Invitation | None:
    """The pending invitation behind a link, or None (unknown, used, revoked or expired)."""
    invitation = (
        Invitation.objects.select_related("workspace", "invited_by__user")
        .filter(token_hash=_hash_token(token))
        .first()
    )
    return invitation if invitation is not None and invitation.is_pending else None


def do_accept_invitation(
    token: str,
    *,
    user: User | None = None,
    username: str = "",
    password: str = "",
    display_name: str = "",
) -> Member:
    """Join the workspace of the invitation: as `user` (already logged in), or as a new login.

    The link works once; the new member is the actor of the MEMBER_JOINED row.
    """
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("workspace")
            .filter(token_hash=_hash_token(token))
            .first()
        )
        if invitation is None or not invitation.is_pending:
            raise ActionRefused(_("This invitation is no longer valid."))
        if user is None:
            username = username.strip()
            if not username or not password:
                raise ActionRefused(_("Choose a username and a password."))
            if get_user_model().objects.filter(username__iexact=username).exists():
                raise ActionRefused(_("This username is taken."))
            user = do_create_user(username, password, email=invitation.email)
        return _join(invitation, user, display_name)


def do_accept_invitation_for(
    invitation: Invitation, user: User, *, display_name: str = ""
) -> Member:
    """Join with `invitation` as `user`, whose e-mail the identity provider verified (single
    sign-on, `accounts.sso`): the invitation's e-mail must be the user's."""
    with transaction.atomic():
        locked = (
            Invitation.objects.select_for_update()
            .select_related("workspace")
            .filter(pk=invitation.pk)
            .first()
        )
        if locked is None or not locked.is_pending:
            raise ActionRefused(_("This invitation is no longer valid."))
        invitation = locked
        if invitation.email.lower() != (user.email or "").lower():
            raise ActionRefused(_("This invitation is for another e-mail address."))
        member = Member.objects.filter(workspace=invitation.workspace, user=user).first()
        if member is not None and member.is_active:
            return member
        return _join(invitation, user, display_name)


def _join(invitation: Invitation, user: User, display_name: str) -> Member:
    """The invitation's workspace gets `user` as a member (the caller holds the invitation's lock)."""
    member = Member.objects.filter(workspace=invitation.workspace, user=user).first()
    if member is not None and member.is_active:
        raise ActionRefused(_("You are already a member of this workspace."))
    if member is None:
        member = Member.objects.create(
            workspace=invitation.workspace,
            user=user,
            role=invitation.role,
            display_name=display_name.strip()[:120],
        )
    else:  # a former member comes back with the invitation's role
        member.is_active, member.deactivated_at, member.role = True, None, invitation.role
        member.save(update_fields=["is_active", "deactivated_at", "role"])
    invitation.accepted_at = clock.now()
    invitation.accepted_by = member
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    _log(
        invitation.workspace_id,
        Verb.MEMBER_JOINED,
        member,
        member_id=member.pk,
        member=member.name,
        role=member.role,
        invited_by_id=invitation.invited_by_id,
    )
    return member


def _check_can_manage(actor: Actor, member: Member) -> None:
    require(actor, Permission.MANAGE_MEMBERS, member.workspace_id)
    if not _may_manage_role(actor, member.role):
        raise PermissionDenied(_("You cannot change a member whose role is above your own."))


def _lock_owners_and(member: Member) -> Member:
    """Lock the workspace's owners, then `member` (fresh from the database), in one transaction.

    Two changes at once (two demotions, a demotion and a deactivation) then run one after
    the other, so they cannot leave the workspace without an active owner.
    """
    list(
        Member.objects.select_for_update()
        .filter(workspace_id=member.workspace_id, role=Role.OWNER)
        .values_list("pk", flat=True)
    )
    return Member.objects.select_for_update().select_related("user").get(pk=member.pk)


def do_change_member_role(actor: Actor, member: Member, role: str) -> Member:
    """Give `member` another role. Nobody demotes the workspace's last owner."""
    _check_can_manage(actor, member)
    if role not in Role.values:
        raise ActionRefused(_("Unknown role."))
    if not _may_manage_role(actor, role):
        raise PermissionDenied(_("You cannot give a role above your own."))
    with transaction.atomic():
        member = _lock_owners_and(member)
        old = member.role
        if old == role:
            return member
        if old == Role.OWNER and member.is_active and _active_owner_count(member.workspace_id) <= 1:
            raise ActionRefused(_("The workspace needs at least one owner."))
        member.role = role
        member.save(update_fields=["role"])
        _log(
            member.workspace_id,
            Verb.MEMBER_ROLE_CHANGED,
            actor,
            member_id=member.pk,
            member=member.name,
            old=old,
            new=role,
        )
    return member


def do_deactivate_member(actor: Actor, member: Member) -> Member:
    """Take `member` out of the workspace: no more access; their open work is handed back.

    Listeners of `signals.member_deactivated` (the workflow app) run in the same
    transaction, so the member and their unassigned conversations change together.
    """
    _check_can_manage(actor, member)
    with transaction.atomic():
        member = _lock_owners_and(member)
        if not member.is_active:
            return member
        if member.role == Role.OWNER and _active_owner_count(member.workspace_id) <= 1:
            raise ActionRefused(_("The workspace needs at least one owner."))
        member.is_active = False
        member.deactivated_at = clock.now()
        member.save(update_fields=["is_active", "deactivated_at"])
        _log(
            member.workspace_id,
            Verb.MEMBER_DEACTIVATED,
            actor,
            member_id=member.pk,
            member=member.name,
        )
        member_deactivated.send(sender=Member, member=member, actor=actor)
    return member


def do_reactivate_member(actor: Actor, member: Member) -> Member:
    """Give a deactivated member their access back, with their former role."""
    _check_can_manage(actor, member)
    with transaction.atomic():
        member = Member.objects.select_for_update().select_related("user").get(pk=member.pk)
        if member.is_active:
            return member
        member.is_active = True
        member.deactivated_at = None
        member.save(update_fields=["is_active", "deactivated_at"])
        _log(
            member.workspace_id,
            Verb.MEMBER_REACTIVATED,
            actor,
            member_id=member.pk,
            member=member.name,
        )
    return member


def _clean_tags(values: Iterable[str], *, limit: int = 30, length: int = 40) -> list[str]:
    """Free tags: trimmed, single-spaced, without duplicates (case-insensitive), in order."""
    seen: set[str] = set()
    tags: list[str] = []
    for value in values:
        tag = " ".join(str(value).replace("\x00", "").split())[:length]
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    return tags[:limit]


def _clean_languages(codes: Iterable[str]) -> list[str]:
    """ISO 639-1 codes known to Django, lower case, without duplicates; unknown ones refused."""
    cleaned: list[str] = []
    for code in codes:
        code = str(code).strip().lower()
        if not code:
            continue
        if code not in LANGUAGE_CODES:
            raise ActionRefused(_("Unknown language code: %(code)s") % {"code": code[:20]})
        if code not in cleaned:
            cleaned.append(code)
    return cleaned


def do_change_workspace(
    actor: Actor,
    workspace: Workspace,
    *,
    name: str,
    timezone: str,
    languages: Sequence[str],
) -> Workspace:
    """Rename the workspace, set its time zone (a zoneinfo key) and its languages."""
    require(actor, Permission.MANAGE_WORKSPACE, workspace.pk)
    name = " ".join(name.split())[:120]
    if not name:
        raise ActionRefused(_("The workspace needs a name."))
    if timezone not in zoneinfo.available_timezones():
        raise ActionRefused(_("Unknown time zone."))
    cleaned = _clean_languages(languages)
    if not cleaned:
        raise ActionRefused(_("Choose at least one language."))
    with transaction.atomic():
        workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
        changes: dict[str, object] = {}
        for field, value in (("name", name), ("timezone", timezone), ("languages", cleaned)):
            old = getattr(workspace, field)
            if old != value:
                changes[field] = [old, value]
                setattr(workspace, field, value)
        if changes:
            workspace.save(update_fields=list(changes))
            _log(workspace.pk, Verb.WORKSPACE_CHANGED, actor, changes=changes)
    return workspace


def do_change_profile(
    actor: Member,
    *,
    display_name: str,
    languages: Sequence[str],
    skills: Sequence[str],
    availability: str,
    notifications: dict[str, dict[str, bool]],
) -> Member:
    """A member's own profile: name shown, languages spoken, skills, availability, notifications."""
    require(actor, Permission.VIEW, actor.workspace_id)
    if availability not in Availability.values:
        raise ActionRefused(_("Unknown availability."))
    prefs = {
        str(event): {
            str(medium): bool(notifications.get(event, {}).get(medium, False))
            for medium in NotificationMedium.values
        }
        for event in NotificationEvent.values
    }
    values: dict[str, object] = {
        "display_name": " ".join(display_name.split())[:120],
        "languages": _clean_languages(languages),
        "skills": _clean_tags(skills),
        "availability": availability,
        "notifications": prefs,
    }
    with transaction.atomic():
        member = Member.objects.select_for_update().select_related("user").get(pk=actor.pk)
        changed = [field for field, value in values.items() if getattr(member, field) != value]
        if not changed:
            return member
        for field in changed:
            setattr(member, field, values[field])
        if "availability" in changed:
            # Routing counts the grace period of "off" from here (workflow/actions.py).
            member.availability_changed_at = clock.now()
            changed.append("availability_changed_at")
        member.save(update_fields=changed)
        _log(
            member.workspace_id,
            Verb.PROFILE_CHANGED,
            member,
            member_id=member.pk,
            fields=changed,
            availability=member.availability,
        )
    return member


# The largest capacity (open conversations from automatic assignment) a member may be given.
MAX_MEMBER_CAPACITY = 500


def do_set_member_capacity(actor: Actor, member: Member, capacity: int | None) -> Member:
    """How many open conversations automatic assignment gives `member` (None: the workspace's default).

    A member sets their own; managers, admins and owners (manage_workflow) set anyone's.
    """
    if not (isinstance(actor, Member) and actor.pk == member.pk):
        require(actor, Permission.MANAGE_WORKFLOW, member.workspace_id)
    if capacity is not None and not 0 <= capacity <= MAX_MEMBER_CAPACITY:
        raise ActionRefused(
            _("A capacity is between 0 and %(max)d.") % {"max": MAX_MEMBER_CAPACITY}
        )
    with transaction.atomic():
        member = Member.objects.select_for_update().select_related("user").get(pk=member.pk)
        if member.capacity == capacity:
            return member
        old, member.capacity = member.capacity, capacity
        member.save(update_fields=["capacity"])
        _log(
            member.workspace_id,
            Verb.PROFILE_CHANGED,
            actor,
            member_id=member.pk,
            fields=["capacity"],
            old=old,
            new=capacity,
        )
    return member


def _team_members(workspace_id: int, member_ids: Iterable[int]) -> list[Member]:
    ids = set(member_ids)
    members = list(Member.objects.filter(workspace_id=workspace_id, pk__in=ids, is_active=True))
    if len(members) != len(ids):
        raise PermissionDenied("member of another workspace")
    return members


def _clean_team_name(workspace_id: int, name: str, exclude: int | None = None) -> str:
    name = " ".join(name.replace("\x00", "").split())[:80]
    if not name:
        raise ActionRefused(_("The team needs a name."))
    same_name = Team.objects.filter(workspace_id=workspace_id, name__iexact=name)
    if exclude is not None:
        same_name = same_name.exclude(pk=exclude)
    if same_name.exists():
        raise ActionRefused(_("A team of that name exists already."))
    return name


def do_create_team(
    actor: Actor, workspace: Workspace, name: str, member_ids: Iterable[int] = ()
) -> Team:
    """A new team of members of this workspace."""
    require(actor, Permission.MANAGE_MEMBERS, workspace.pk)
    name = _clean_team_name(workspace.pk, name)
    members = _team_members(workspace.pk, member_ids)
    with transaction.atomic():
        team = Team.objects.create(workspace=workspace, name=name)
        team.members.set(members)
        _log(
            workspace.pk,
            Verb.TEAM_CREATED,
            actor,
            team_id=team.pk,
            team=team.name,
            members=sorted(m.pk for m in members),
        )
    return team


def do_change_team(actor: Actor, team: Team, name: str, member_ids: Iterable[int]) -> Team:
    """Rename a team and set its members."""
    require(actor, Permission.MANAGE_MEMBERS, team.workspace_id)
    name = _clean_team_name(team.workspace_id, name, exclude=team.pk)
    members = _team_members(team.workspace_id, member_ids)
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        old_ids = sorted(team.members.values_list("pk", flat=True))
        new_ids = sorted(m.pk for m in members)
        if team.name == name and old_ids == new_ids:
            return team
        old_name, team.name = team.name, name
        team.save(update_fields=["name"])
        team.members.set(members)
        _log(
            team.workspace_id,
            Verb.TEAM_CHANGED,
            actor,
            team_id=team.pk,
            team=team.name,
            old_name=old_name,
            added=sorted(set(new_ids) - set(old_ids)),
            removed=sorted(set(old_ids) - set(new_ids)),
        )
    return team


def do_delete_team(actor: Actor, team: Team) -> None:
    """Delete a team (its members stay members of the workspace)."""
    require(actor, Permission.MANAGE_MEMBERS, team.workspace_id)
    with transaction.atomic():
        _log(team.workspace_id, Verb.TEAM_DELETED, actor, team_id=team.pk, team=team.name)
        team.delete()
