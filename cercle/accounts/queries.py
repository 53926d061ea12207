"""Reads of the accounts app, scoped by workspace."""

from __future__ import annotations

from dataclasses import dataclass

from cercle.workspaces.models import Member, Workspace
from cercle.workspaces.queries import members_of

from .lockout import LockedLogin, locked_logins


@dataclass(frozen=True)
class MemberLockout:
    member: Member
    lockout: LockedLogin


def lockouts_in(workspace: Workspace) -> list[MemberLockout]:
    """The lockouts in force for the logins of this workspace's members (active or not)."""
    members = members_of(workspace) + members_of(workspace, active=False)
    by_username = {m.user.get_username(): m for m in members}
    return [
        MemberLockout(member=by_username[lock.username], lockout=lock)
        for lock in locked_logins(by_username)
        if lock.username in by_username
    ]
