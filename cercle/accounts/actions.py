"""Writes of the accounts app: unlocking a login, two-factor settings."""

from __future__ import annotations

from axes.utils import reset as axes_reset
from django.db import transaction

from cercle.core import clock
from cercle.workspaces.actors import Actor, actor_fields, require
from cercle.workspaces.choices import Permission, Verb
from cercle.workspaces.models import Activity, Member


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
