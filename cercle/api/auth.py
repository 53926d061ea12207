"""Who calls the API: a personal token in `Authorization: Bearer …`, counted per fixed window.

A request with a valid token is counted against the token's limit; a request
with a wrong, revoked or expired token is counted against its client address,
and an address over its limit of failures gets 429 before its token is even
looked at. The counts live in the database (`RateWindow`), so every process of
every machine shares them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from cercle.core import clock
from cercle.workspaces.choices import ROLE_RANK

from .actions import do_count_request, do_record_token_use, hash_secret
from .models import ApiToken, RateWindow, TokenMember

# Longest Authorization value we look at (a token is about 50 characters).
MAX_TOKEN_LENGTH = 200


@dataclass(frozen=True, slots=True)
class RateState:
    """The X-RateLimit-* headers of a response."""

    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_seconds),
        }


class RateLimited(Exception):
    """Too many requests in the current window (answered 429 with Retry-After)."""

    def __init__(self, state: RateState, message: str) -> None:
        super().__init__(message)
        self.state = state


def _window() -> tuple[int, int]:
    """The current window's start (epoch seconds) and how many seconds are left in it."""
    size = max(1, int(settings.CERCLE_API_RATE_WINDOW))
    now = int(clock.now().timestamp())
    start = now - now % size
    return start, start + size - now


def client_address(request: HttpRequest) -> str:
    """The address failures are counted against (the reverse proxy must set REMOTE_ADDR right)."""
    return str(request.META.get("REMOTE_ADDR") or "unknown")[:45]


def _check_failures(request: HttpRequest) -> None:
    """429 for an address that already failed to authenticate too often in this window."""
    start, left = _window()
    limit = int(settings.CERCLE_API_FAILED_AUTH_LIMIT)
    failures = (
        RateWindow.objects.filter(scope=f"fail:{client_address(request)}", window_start=start)
        .values_list("count", flat=True)
        .first()
        or 0
    )
    if failures >= limit:
        raise RateLimited(
            RateState(limit, 0, left),
            "Too many failed authentication attempts from this address; try again later.",
        )


def _count_failure(request: HttpRequest) -> None:
    start, _left = _window()
    do_count_request(f"fail:{client_address(request)}", start)


def _count_use(token: ApiToken) -> RateState:
    start, left = _window()
    limit = int(settings.CERCLE_API_RATE_LIMIT)
    count = do_count_request(f"token:{token.pk}", start)
    state = RateState(limit, max(0, limit - count), left)
    if count > limit:
        raise RateLimited(state, "Rate limit exceeded for this token; try again later.")
    return state


def actor_for(token: ApiToken) -> TokenMember:
    """The token's member as an actor, capped at the lower of the token's and the member's role."""
    member = token.member
    actor = TokenMember.objects.select_related("user", "workspace").get(pk=member.pk)
    actor.token_role = min(token.role, member.role, key=lambda r: ROLE_RANK.get(r, -1))
    return actor


def token_for_secret(secret: str) -> ApiToken | None:
    """The usable token behind a secret, or None (unknown, revoked, expired, member deactivated)."""
    if not secret or len(secret) > MAX_TOKEN_LENGTH:
        return None
    token = (
        ApiToken.objects.select_related("member", "workspace")
        .filter(token_hash=hash_secret(secret))
        .first()
    )
    return token if token is not None and token.is_usable else None


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>`; sets `request.api_token`, `request.api_actor` and
    `request.api_rate` for the operation and the response headers."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        _check_failures(request)
        found = token_for_secret(token.strip())
        if found is None:
            _count_failure(request)
            return None
        request.api_rate = _count_use(found)  # type: ignore[attr-defined]  # read by CercleApi
        do_record_token_use(found)
        request.api_token = found  # type: ignore[attr-defined]
        request.api_actor = actor_for(found)  # type: ignore[attr-defined]
        return found
