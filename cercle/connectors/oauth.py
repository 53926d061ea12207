"""The generic half of connecting a channel through OAuth: state, app credentials, redirect URI.

The platform half (consent URL, code exchange, refresh) is each connector's
`authorize_url` / `exchange_code` / `refresh_credentials`. This module never
names a platform.

The `state` sent to the platform is a random token kept in the member's session
with what the flow is for (platform, workspace, channel being reconnected) and
an expiry; the callback accepts it once, compared in constant time, and only in
the same session, so a forged or replayed callback stores nothing.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.urls import reverse

from .base import OAuthTokens
from .models import Channel

SESSION_KEY = "cercle_oauth_states"
# Long enough to read a consent page and sign in, short enough to limit replays.
STATE_TTL_SECONDS = 600
# A member rarely has more than one flow open; the cap keeps the session small.
MAX_PENDING_STATES = 5
# Keys of the stored credentials about their own lifetime, rewritten at every store.
LIFETIME_KEYS = ("expires_at", "obtained_at")


@dataclass(frozen=True, slots=True)
class PendingFlow:
    """What a valid `state` was issued for."""

    platform: str
    workspace_id: int
    # The channel being reconnected, or None when adding a new one.
    channel_id: int | None


def app_settings(platform: str) -> dict[str, str]:
    """The operator's OAuth app for `platform` (client_id, client_secret, api_base), may be empty."""
    apps: dict[str, dict[str, str]] = getattr(settings, "CERCLE_PLATFORM_APPS", {})
    return dict(apps.get(platform, {}))


def app_credentials(platform: str) -> dict[str, str]:
    """The app's client id and secret, as they are kept in a channel's credentials."""
    app = app_settings(platform)
    return {k: app[k] for k in ("client_id", "client_secret") if app.get(k)}


def is_configured(platform: str) -> bool:
    """Whether the operator has registered an OAuth app for `platform` (a client id is set)."""
    return bool(app_settings(platform).get("client_id"))


def configured_platforms() -> set[str]:
    """Platforms whose OAuth app the operator has registered."""
    apps: dict[str, dict[str, str]] = getattr(settings, "CERCLE_PLATFORM_APPS", {})
    return {platform for platform, app in apps.items() if app.get("client_id")}


def new_channel_config(platform: str) -> dict[str, Any]:
    """Non-secret config of a channel created by the flow (the API base override, if any)."""
    api_base = app_settings(platform).get("api_base", "")
    return {"api_base": api_base} if api_base else {}


def pre_connect_channel(workspace_id: int, platform: str) -> Channel:
    """An unsaved channel carrying the app credentials, to instantiate a connector before the channel exists."""
    channel = Channel(
        workspace_id=workspace_id, platform=platform, config=new_channel_config(platform)
    )
    channel.set_credentials(app_credentials(platform))
    return channel


def with_current_app(channel: Channel) -> Channel:
    """Overlay the operator's current app credentials on `channel` in memory (not saved).

    Lets a rotated client secret take effect at the next reconnect or refresh.
    """
    current = app_credentials(channel.platform)
    if current:
        channel.set_credentials({**channel.credentials, **current})
    return channel


def merged_credentials(
    platform: str, previous: dict[str, Any], tokens: OAuthTokens
) -> dict[str, Any]:
    """What to store after an exchange or a refresh: earlier secrets, app credentials, then the new tokens.

    A connector may return only the tokens it obtained; keeping the rest (app
    secret, webhook secret) means a refresh never loses what verifies webhooks.
    The lifetime keys are dropped so a token without expiry does not inherit a stale one.
    """
    kept = {k: v for k, v in previous.items() if k not in LIFETIME_KEYS}
    return {**kept, **app_credentials(platform), **tokens.credentials}


def redirect_uri(request: HttpRequest) -> str:
    """The callback URL registered with every platform's OAuth app."""
    return request.build_absolute_uri(reverse("pipeline:oauth_callback"))


def _pending(session: SessionBase) -> dict[str, dict[str, Any]]:
    stored = session.get(SESSION_KEY)
    return dict(stored) if isinstance(stored, dict) else {}


def issue_state(
    session: SessionBase, platform: str, workspace_id: int, channel_id: int | None = None
) -> str:
    """Create a one-time `state` for a flow and remember it in the session."""
    now = time.time()
    pending = {s: flow for s, flow in _pending(session).items() if flow.get("expires", 0) > now}
    # Oldest first: drop the oldest flows beyond the cap.
    for old in sorted(pending, key=lambda s: pending[s]["expires"])[
        : max(0, len(pending) - MAX_PENDING_STATES + 1)
    ]:
        del pending[old]
    state = secrets.token_urlsafe(32)
    pending[state] = {
        "platform": platform,
        "workspace_id": workspace_id,
        "channel_id": channel_id,
        "expires": now + STATE_TTL_SECONDS,
    }
    session[SESSION_KEY] = pending
    return state


def consume_state(session: SessionBase, given: str) -> PendingFlow | None:
    """The flow `given` was issued for, removed from the session; None if unknown or expired."""
    pending = _pending(session)
    if not given or not pending:
        return None
    match: str | None = None
    # Compare against every stored state in constant time: timing must not leak a prefix.
    for state in pending:
        if hmac.compare_digest(state.encode(), given.encode()):
            match = state
    if match is None:
        return None
    flow = pending.pop(match)
    session[SESSION_KEY] = pending
    if flow.get("expires", 0) <= time.time():
        return None
    return PendingFlow(
        platform=str(flow["platform"]),
        workspace_id=int(flow["workspace_id"]),
        channel_id=int(flow["channel_id"]) if flow.get("channel_id") is not None else None,
    )


def stored_credentials(
    tokens: OAuthTokens, base: dict[str, Any], obtained_at: datetime
) -> dict[str, Any]:
    """Credentials with their lifetime, as `do_store_credentials` keeps them (for a channel created here)."""
    credentials = dict(base)
    if tokens.expires_at:
        credentials["expires_at"] = tokens.expires_at.isoformat()
        credentials["obtained_at"] = obtained_at.isoformat()
    return credentials
