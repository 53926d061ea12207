"""Connecting a YouTube channel: Google OAuth 2.0 with offline access, refresh, connection test."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.utils import timezone

from cercle.connectors.base import Rejected, TokenRevoked
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for

from .conftest import TOKEN_URL, FakeYouTube, fixture, query


def _form(request: httpx.Request) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(request.content.decode()).items()}


def test_authorize_url_asks_for_offline_access_with_consent(yt_channel: Channel) -> None:
    url = connector_for(yt_channel).authorize_url(
        "st4te", "https://cercle.example/channels/oauth/callback/"
    )
    parts = urlsplit(url)
    params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    assert (parts.netloc, parts.path) == ("accounts.google.com", "/o/oauth2/v2/auth")
    assert params == {
        "client_id": "cid.apps.googleusercontent.com",
        "redirect_uri": "https://cercle.example/channels/oauth/callback/",
        "response_type": "code",
        "scope": "https://www.googleapis.com/auth/youtube.force-ssl",
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
        "state": "st4te",
    }


def test_authorize_url_needs_the_oauth_app(yt_channel: Channel) -> None:
    yt_channel.set_credentials({})
    with pytest.raises(Rejected):
        connector_for(yt_channel).authorize_url("s", "https://cercle.example/cb")


def test_exchange_code_posts_the_code_and_finds_the_channel(
    fake: FakeYouTube, yt_channel: Channel
) -> None:
    fake.on("POST", TOKEN_URL, fixture("oauth_token.json"))
    fake.on("GET", "/channels", fixture("channels_mine.json"))
    tokens = connector_for(yt_channel).exchange_code("4/0Ab-code", "https://cercle.example/cb")
    (token_call,) = fake.calls("POST", TOKEN_URL)
    (me_call,) = fake.calls("GET", "/channels")
    assert _form(token_call) == {
        "code": "4/0Ab-code",
        "client_id": "cid.apps.googleusercontent.com",
        "client_secret": "csecret",
        "redirect_uri": "https://cercle.example/cb",
        "grant_type": "authorization_code",
    }
    assert (query(me_call), me_call.headers["Authorization"]) == (
        {"part": "snippet", "mine": "true"},
        "Bearer ya29.a0AfH6SMBx-new-access-token",
    )
    assert (tokens.account_id, tokens.account_name, tokens.credentials["refresh_token"]) == (
        "UCbrandLumen00000000000A",
        "Maison Lumen",
        "1//0gLmZ-refresh-token",
    )


def test_exchanged_access_token_expires_in_an_hour(fake: FakeYouTube, yt_channel: Channel) -> None:
    fake.on("POST", TOKEN_URL, fixture("oauth_token.json"))
    fake.on("GET", "/channels", fixture("channels_mine.json"))
    before = timezone.now()
    tokens = connector_for(yt_channel).exchange_code("code", "https://cercle.example/cb")
    assert tokens.expires_at is not None and timedelta(
        minutes=59
    ) < tokens.expires_at - before <= timedelta(hours=1)


def test_exchange_without_refresh_token_is_refused(fake: FakeYouTube, yt_channel: Channel) -> None:
    fake.on("POST", TOKEN_URL, fixture("oauth_refresh.json"))
    with pytest.raises(Rejected):
        connector_for(yt_channel).exchange_code("code", "https://cercle.example/cb")


def test_fresh_token_needs_no_refresh(fake: FakeYouTube, yt_channel: Channel) -> None:
    credentials = {
        **yt_channel.credentials,
        "expires_at": (timezone.now() + timedelta(minutes=30)).isoformat(),
    }
    yt_channel.set_credentials(credentials)
    assert (connector_for(yt_channel).refresh_credentials(), fake.requests) == (None, [])


def test_token_about_to_expire_is_refreshed_keeping_the_refresh_token(
    fake: FakeYouTube, yt_channel: Channel
) -> None:
    fake.on("POST", TOKEN_URL, fixture("oauth_refresh.json"))
    credentials = {
        **yt_channel.credentials,
        "expires_at": (timezone.now() + timedelta(minutes=2)).isoformat(),
    }
    yt_channel.set_credentials(credentials)
    tokens = connector_for(yt_channel).refresh_credentials()
    assert tokens is not None
    assert (
        tokens.credentials["access_token"],
        tokens.credentials["refresh_token"],
        _form(fake.requests[0]),
    ) == (
        "ya29.a0AfH6SMC-refreshed-access-token",
        "1//refresh",
        {
            "client_id": "cid.apps.googleusercontent.com",
            "client_secret": "csecret",
            "refresh_token": "1//refresh",
            "grant_type": "refresh_token",
        },
    )


def test_revoked_refresh_token_raises_token_revoked(fake: FakeYouTube, yt_channel: Channel) -> None:
    fake.on("POST", TOKEN_URL, httpx.Response(400, json=fixture("oauth_invalid_grant.json")))
    credentials = {**yt_channel.credentials, "expires_at": timezone.now().isoformat()}
    yt_channel.set_credentials(credentials)
    with pytest.raises(TokenRevoked):
        connector_for(yt_channel).refresh_credentials()


def test_connection_test_names_the_channel(fake: FakeYouTube, yt_channel: Channel) -> None:
    fake.on("GET", "/channels", fixture("channels_mine.json"))
    assert connector_for(yt_channel).test_connection() == "Maison Lumen (UCbrandLumen00000000000A)"


def test_setup_instructions_say_there_is_no_webhook(yt_channel: Channel) -> None:
    instructions = connector_for(yt_channel).setup_instructions()
    assert instructions["poll_interval_seconds"] == "60" and "polls" in instructions["webhook"]


def test_api_base_override_points_the_client_elsewhere(
    fake: FakeYouTube, yt_channel: Channel
) -> None:
    yt_channel.config = {"api_base": "http://127.0.0.1:9/youtube/demo/"}
    fake.on("GET", "http://127.0.0.1:9/youtube/demo/channels", fixture("channels_mine.json"))
    connector_for(yt_channel).test_connection()
    assert str(fake.requests[0].url).startswith("http://127.0.0.1:9/youtube/demo/channels?")
