"""Every write of the API app: create and revoke personal tokens, note a token's use, count requests.

A token's secret is returned once, by `do_create_api_token`; only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils.translation import gettext as _

from cercle.core import clock
from cercle.workspaces.actors import Actor, Automation, actor_fields, require
from cercle.workspaces.choices import ROLE_RANK, Permission, Role, Verb
from cercle.workspaces.models import Activity, Member

from .models import ApiToken, RateWindow

# Every secret starts with this, so a leaked one is recognisable (secret scanners, logs).
TOKEN_PREFIX = "cercle_"
# How many characters of the secret the list shows (the prefix and a few random ones).
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 6
# A token's use is written at most this often (the API would otherwise write on every read).
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_NAME_LENGTH = 80


class ActionRefused(ValueError):
    """The token cannot be created or revoked as asked; the message says why."""


def hash_secret(secret: str) -> str:
    """The SHA-256 of a token's secret, as stored and looked up."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CreatedToken:
    token: ApiToken
    # Shown once to the member who created it, never stored, never shown again.
    secret: str


def _log(workspace_id: int, verb: str, actor: Actor, **data: object) -> Activity:
    return Activity.objects.create(
        workspace_id=workspace_id,
        verb=verb,
        data=dict(data),
        created_at=clock.now(),
        **actor_fields(actor),
    )


def do_create_api_token(
    actor: Member, name: str, role: str, *, expires_at: datetime | None = None
) -> CreatedToken:
    """A personal token of `actor` in their workspace, capped at `role` (at most their own)."""
    require(actor, Permission.VIEW, actor.workspace_id)
    name = " ".join(name.replace("\x00", "").split())[:MAX_NAME_LENGTH]
    if not name:
        raise ActionRefused(_("Give the token a name."))
    if role not in Role.values:
        raise ActionRefused(_("Unknown role."))
    if ROLE_RANK[role] > ROLE_RANK.get(actor.role, -1):
        raise ActionRefused(_("A token cannot have a higher role than yours."))
    if expires_at is not None and expires_at <= clock.now():
        raise ActionRefused(_("The expiry date is in the past."))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            workspace_id=actor.workspace_id,
            member=actor,
            name=name,
            role=role,
            prefix=secret[:SHOWN_PREFIX_LENGTH],
            token_hash=hash_secret(secret),
            created_by=actor,
            created_at=clock.now(),
            expires_at=expires_at,
        )
        _log(
            actor.workspace_id,
            Verb.API_TOKEN_CREATED,
            actor,
            token_id=token.pk,
            name=token.name,
            role=role,
            expires_at=expires_at.isoformat() if expires_at else None,
        )
    return CreatedToken(token=token, secret=secret)


def may_revoke(actor: Actor, token: ApiToken) -> bool:
    """A member revokes their own tokens; a member who manages members revokes anyone's."""
    if actor.workspace_id != token.workspace_id:
        return False
    if isinstance(actor, Automation):
        return True
    return token.member_id == actor.pk or actor.can(Permission.MANAGE_MEMBERS)


def do_revoke_api_token(actor: Actor, token: ApiToken) -> ApiToken:
    """Make the token useless at once (the next request with it gets 401)."""
    require(actor, Permission.VIEW, token.workspace_id)
    if not may_revoke(actor, token):
        raise ActionRefused(_("You may revoke only your own tokens."))
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is not None:
            return token
        token.revoked_at = clock.now()
        token.save(update_fields=["revoked_at"])
        _log(
            token.workspace_id,
            Verb.API_TOKEN_REVOKED,
            actor,
            token_id=token.pk,
            name=token.name,
            member_id=token.member_id,
        )
    return token


def do_record_token_use(token: ApiToken) -> None:
    """Note when the token was last used (at most once a minute: bookkeeping, no Activity)."""
    now = clock.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


def do_count_request(scope: str, window_start: int) -> int:
    """Count one request of `scope` (a token, an address) in the window starting at
    `window_start` (epoch seconds); returns the window's count including this one.

    One INSERT … ON CONFLICT DO UPDATE … RETURNING statement (SQLite ≥ 3.35 and
    PostgreSQL): atomic, so concurrent processes never lose a count. A key's first
    request of a new window deletes its older windows, so the table keeps one row per scope.
    """
    q = connection.ops.quote_name
    table, scope_col, window_col, count_col = (
        q(RateWindow._meta.db_table),
        q("scope"),
        q("window_start"),
        q("count"),
    )
    sql = (
        f"INSERT INTO {table} ({scope_col}, {window_col}, {count_col}) VALUES (%s, %s, 1) "  # noqa: S608 (constant names)
        f"ON CONFLICT ({scope_col}, {window_col}) DO UPDATE SET {count_col} = "
        f"{table}.{count_col} + 1 RETURNING {count_col}"
    )
    scope = scope[:80]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [scope, window_start])
        row = cursor.fetchone()
        count = int(row[0]) if row else 1
        if count == 1:
            RateWindow.objects.filter(scope=scope, window_start__lt=window_start).delete()
    return count


__all__ = [
    "ActionRefused",
    "CreatedToken",
    "do_count_request",
    "do_create_api_token",
    "do_record_token_use",
    "do_revoke_api_token",
    "hash_secret",
]
