"""Personal API tokens (only a hash of the secret is stored) and the rate-limit counters."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from cercle.core import clock
from cercle.workspaces.choices import ROLE_PERMISSIONS, Role
from cercle.workspaces.models import Member


class ApiToken(models.Model):
    """A member's personal token for the public API, scoped to one workspace and capped at a role.

    The secret is shown once, when the token is created; only its SHA-256 is
    kept (a token is 256 random bits, so a fast hash is enough: there is
    nothing to brute-force). `prefix` is the secret's visible start, shown in
    the list so a member can tell their tokens apart.
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=80)
    # At most the member's role when created; the member's current role still caps it at each use.
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The tokens page: WHERE workspace=? (AND member=?) ORDER BY id DESC.
            models.Index(fields=["workspace", "member", "id"], name="apitoken_ws_member_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        """Not revoked, not expired, and its member still active."""
        return (
            self.revoked_at is None
            and (self.expires_at is None or self.expires_at > clock.now())
            and self.member.is_active
        )


class TokenMember(Member):
    """The token's member as the actor of an API call: the member, capped at the token's role.

    Never saved: it only carries the cap into `require(actor, …)` through `can`.
    """

    class Meta:
        proxy = True

    token_role: str = Role.VIEWER

    def can(self, permission: str) -> bool:
        return super().can(permission) and permission in ROLE_PERMISSIONS.get(
            self.token_role, frozenset()
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("an API actor is never saved")


class RateWindow(models.Model):
    """How many requests a key (a token, or a client address failing to authenticate) made in one
    fixed window. One row per key and window, incremented by a single upsert statement, so
    every process of every machine counts in the same place."""

    scope = models.CharField(max_length=80)
    window_start = models.BigIntegerField()  # in seconds since the epoch
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "window_start"], name="ratewindow_scope_window_uniq"
            ),
        ]
