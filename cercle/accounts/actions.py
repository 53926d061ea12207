"""Writes of the accounts app: unlocking a login, two-factor settings."""

from __future__ import annotations

from axes.utils import reset as axes_reset
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from cercle.core import clock
from cercle.workspaces.actors import Actor, actor_fields, require
from cercle.workspaces.choices import Permission, Verb
from cercle.workspaces.models import Activity, Member, Workspace

from .models import SignInPolicy
from .twofactor import new_recovery_codes, remove_two_factor, verified_device


def do_unlock_login(actor: Actor, member: Member) -> int:
    """Lift every lockout of `member`'s username (all addresses); returns how many were lifted.

    Owners and admins (manage members) of the member's workspace only.
    """
    require(actor, Permission.MANAGE_MEMBERS, member.workspace_id)
    username = member.user.get_username()
    if not username:  # axes' reset with no username would lift every lockout of every login
        return 0
    with transaction.atomic():
        lifted = int(axes_reset(username=username))
        Activity.objects.create(
            workspace_id=member.workspace_id,
            verb=Verb.LOGIN_UNLOCKED,
            data={"member_id": member.pk, "member": member.name, "lockouts": lifted},
            created_at=clock.now(),
            **actor_fields(actor),
        )
    return lifted


# --- two-factor authentication ----------------------------------------------------------------


def _log(actor: Member, verb: str, **data: object) -> None:
    Activity.objects.create(
        workspace_id=actor.workspace_id,
        verb=verb,
        data=dict(data),
        created_at=clock.now(),
        **actor_fields(actor),
    )


def do_confirm_two_factor(actor: Member, device: TOTPDevice, code: str) -> list[str] | None:
    """Turn on the member's authenticator if `code` matches it; returns new recovery codes
    (shown once), or None when the code is wrong."""
    if device.user_id != actor.user_id or device.confirmed:
        raise PermissionDenied("not this member's pending authenticator")
    with transaction.atomic():
        if not device.verify_token("".join(code.split())[:16]):
            return None
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = new_recovery_codes(actor.user)
        _log(actor, Verb.TWO_FACTOR_ENABLED, member_id=actor.pk, member=actor.name)
    return codes


def do_disable_two_factor(actor: Member, code: str) -> bool:
    """Turn off the member's two-factor authentication; a current code is required."""
    with transaction.atomic():
        if verified_device(actor.user, code) is None:
            return False
        remove_two_factor(actor.user)
        _log(actor, Verb.TWO_FACTOR_DISABLED, member_id=actor.pk, member=actor.name)
    return True


def do_set_sign_in_policy(actor: Actor, workspace: Workspace, *, require_two_factor: bool) -> None:
    """Require (or stop requiring) two-factor authentication of every member (owners)."""
    require(actor, Permission.MANAGE_WORKSPACE, workspace.pk)
    with transaction.atomic():
        policy, _ = SignInPolicy.objects.select_for_update().get_or_create(workspace=workspace)
        if policy.require_two_factor != require_two_factor:
            policy.require_two_factor = require_two_factor
            policy.save(update_fields=["require_two_factor", "updated_at"])
            Activity.objects.create(
                workspace_id=workspace.pk,
                verb=Verb.SIGN_IN_POLICY_CHANGED,
                data={"require_two_factor": require_two_factor},
                created_at=clock.now(),
                **actor_fields(actor),
            )


def do_reset_two_factor(actor: Actor, member: Member) -> None:
    """Remove a member's authenticator and recovery codes (a lost phone); owners and admins.

    The member signs in with their password alone next time, or is asked to set it up again
    where their workspace requires it.
    """
    require(actor, Permission.MANAGE_MEMBERS, member.workspace_id)
    with transaction.atomic():
        remove_two_factor(member.user)
        Activity.objects.create(
            workspace_id=member.workspace_id,
            verb=Verb.TWO_FACTOR_RESET,
            data={"member_id": member.pk, "member": member.name},
            created_at=clock.now(),
            **actor_fields(actor),
        )
