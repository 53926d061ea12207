"""Google's OAuth 2.0 for web server applications, as YouTube and Business Profile use it.

One consent page, one token endpoint and one refresh grant for both connectors:
https://developers.google.com/identity/protocols/oauth2/web-server
Each connector keeps its own scope and what it does with the tokens (finding
the channel or the location).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone

from cercle.connectors.base import BadPayload, Rejected, TokenRevoked, TransientError
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.connectors.oauth import app_settings

AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"
# Google access tokens live one hour: refresh when less than this is left.
REFRESH_MARGIN = timedelta(minutes=5)


def token_request(http: PlatformHttp, token_url: str, form: Mapping[str, str]) -> dict[str, Any]:
    """POST to Google's token endpoint; `invalid_grant` means the grant is revoked or expired."""
    response = http.request("POST", token_url, data=dict(form), write=False)
    if response.status_code >= 500:
        raise TransientError(f"Google token endpoint error {response.status_code}")
    try:
        data = response.json()
    except ValueError as exc:
        raise TransientError("Google token endpoint answered non-JSON") from exc
    if not isinstance(data, dict):
        raise BadPayload("Google token endpoint answered JSON that is not an object")
    if response.status_code >= 400 or "error" in data:
        error = str(data.get("error", ""))
        detail = f"Google OAuth: {error} {data.get('error_description', '')}".strip()
        if error in {"invalid_grant", "unauthorized_client", "invalid_client"}:
            raise TokenRevoked(detail)
        raise Rejected(detail)
    if not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise BadPayload("Google token endpoint gave no access_token")
    return data


def expiry(data: Mapping[str, Any], now: datetime | None = None) -> datetime | None:
    """When a token from the token endpoint expires (`expires_in` seconds)."""
    seconds = data.get("expires_in")
    if isinstance(seconds, int | float) and seconds > 0:
        return (now or timezone.now()) + timedelta(seconds=float(seconds))
    return None


def expires_soon(credentials: Mapping[str, Any], now: datetime | None = None) -> bool:
    """Whether the stored access token expires within REFRESH_MARGIN (an unreadable date: yes)."""
    value = credentials.get("expires_at")
    if not value:
        return False
    try:
        expires_at = datetime.fromisoformat(str(value))
    except ValueError:
        return True
    return expires_at - REFRESH_MARGIN <= (now or timezone.now())


@dataclass(frozen=True, slots=True)
class GoogleOAuth:
    """The OAuth app a channel connects with, and the three calls of the flow."""

    channel: Channel
    http: PlatformHttp
    platform: str
    scope: str

    def app(self) -> tuple[str, str]:
        """The client id and secret: the channel's own, else the operator's app for the platform."""
        credentials = self.channel.credentials
        operator = app_settings(self.platform)
        client_id = str(credentials.get("client_id") or operator.get("client_id") or "")
        client_secret = str(credentials.get("client_secret") or operator.get("client_secret") or "")
        if not client_id or not client_secret:
            raise Rejected("the Google OAuth client id and secret are not set")
        return client_id, client_secret

    def token_url(self) -> str:
        return str(self.channel.config.get("token_url") or TOKEN_URL)

    def consent_url(self, state: str, redirect_uri: str) -> str:
        """Google's consent page, asking for a refresh token (offline access)."""
        query = {
            "client_id": self.app()[0],
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": self.scope,
            "access_type": "offline",
            # Without consent Google gives a refresh token only the first time.
            "prompt": "consent",
            "include_granted_scopes": "true",
            "state": state,
        }
        return f"{self.channel.config.get('authorize_url') or AUTHORIZE_URL}?{urlencode(query)}"

    def exchange(self, code: str, redirect_uri: str) -> dict[str, Any]:
        """Trade the consent page's code for an access token (1 h) and a refresh token."""
        client_id, client_secret = self.app()
        return token_request(
            self.http,
            self.token_url(),
            {
                "code": code,
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uri": redirect_uri,
                "grant_type": "authorization_code",
            },
        )

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """A new access token for the refresh token (`invalid_grant`: revoked, TokenRevoked)."""
        client_id, client_secret = self.app()
        return token_request(
            self.http,
            self.token_url(),
            {
                "client_id": client_id,
                "client_secret": client_secret,
                "refresh_token": refresh_token,
                "grant_type": "refresh_token",
            },
        )
