"""Connecting X: OAuth 2.0 with PKCE, token refresh before expiry, connection test, setup text."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from cercle.connectors.base import PermissionDenied, TokenRevoked
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.connectors.x.connector import XConnector
from cercle.inbox.actions import do_reply
from cercle.pipeline.sender import send_due
from cercle.workspaces.models import Member

from .conftest import BRAND_ID, FakeX, answer
from .test_outbound import reply_conversation

pytestmark = pytest.mark.django_db

TOKEN = "/2/oauth2/token"
REDIRECT = "https://cercle.example/channels/oauth/callback/"


def connector(channel: Channel) -> XConnector:
    return XConnector(channel, PlatformHttp())


def expiring(channel: Channel) -> Channel:
    credentials = {
        **channel.credentials,
        "expires_at": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
    }
    channel.set_credentials(credentials)
    channel.save(update_fields=["credentials_token"])
    return channel


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def test_authorize_url_asks_for_pkce_scopes_and_state(x_channel: Channel) -> None:
    url = connector(x_channel).authorize_url("state-123", REDIRECT)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}",
        query["state"],
        query["client_id"],
        query["code_challenge_method"],
        {"tweet.write", "dm.write", "offline.access"} <= set(query["scope"].split()),
    ) == ("https://x.com/i/oauth2/authorize", "state-123", "client-id", "S256", True)


def test_exchange_sends_the_verifier_of_the_challenge(x_channel: Channel, fake_x: FakeX) -> None:
    fake_x.on("POST", TOKEN, answer("oauth_token.json"))
    fake_x.on("GET", "/2/users/me", answer("users_me.json"))
    x = connector(x_channel)
    challenge = parse_qs(urlsplit(x.authorize_url("s", REDIRECT)).query)["code_challenge"][0]
    x.exchange_code("the-code", REDIRECT)
    sent = form(fake_x.calls("POST", TOKEN)[0])
    computed = (
        base64.urlsafe_b64encode(hashlib.sha256(sent["code_verifier"].encode()).digest())
        .rstrip(b"=")
        .decode()
    )
    assert (sent["grant_type"], sent["code"], sent["redirect_uri"], computed) == (
        "authorization_code",
        "the-code",
        REDIRECT,
        challenge,
    )


def test_exchange_authenticates_the_client_with_basic_auth(
    x_channel: Channel, fake_x: FakeX
) -> None:
    fake_x.on("POST", TOKEN, answer("oauth_token.json"))
    fake_x.on("GET", "/2/users/me", answer("users_me.json"))
    connector(x_channel).exchange_code("the-code", REDIRECT)
    expected = "Basic " + base64.b64encode(b"client-id:client-secret").decode()
    assert fake_x.calls("POST", TOKEN)[0].headers["authorization"] == expected


def test_exchange_returns_tokens_and_the_account(x_channel: Channel, fake_x: FakeX) -> None:
    fake_x.on("POST", TOKEN, answer("oauth_token.json"))
    fake_x.on("GET", "/2/users/me", answer("users_me.json"))
    tokens = connector(x_channel).exchange_code("the-code", REDIRECT)
    assert (
        tokens.account_id,
        tokens.account_name,
        tokens.credentials["refresh_token"][:8],
        tokens.expires_at is not None,
    ) == (BRAND_ID, "@MaisonLumen", "bWk4cDU2", True)


def test_refused_code_is_a_revoked_grant(x_channel: Channel, fake_x: FakeX) -> None:
    fake_x.on(
        "POST",
        TOKEN,
        lambda r: httpx.Response(
            400,
            json={
                "error": "invalid_request",
                "error_description": "Value passed for the authorization code was invalid.",
            },
        ),
    )
    with pytest.raises(TokenRevoked):
        connector(x_channel).exchange_code("bad", REDIRECT)


def test_no_refresh_while_the_token_is_fresh(x_channel: Channel, fake_x: FakeX) -> None:
    assert (connector(x_channel).refresh_credentials(), fake_x.requests) == (None, [])


def test_refresh_before_expiry_uses_the_refresh_token(x_channel: Channel, fake_x: FakeX) -> None:
    fake_x.on("POST", TOKEN, answer("oauth_token.json"))
    tokens = connector(expiring(x_channel)).refresh_credentials()
    sent = form(fake_x.calls("POST", TOKEN)[0])
    assert (
        (sent["grant_type"], sent["refresh_token"]),
        tokens and tokens.credentials["access_token"][:8],
    ) == (
        ("refresh_token", "refresh-1"),
        "bWRjZDFj",
    )


def test_sending_with_an_expiring_token_refreshes_and_keeps_the_new_pair(
    x_channel: Channel, owner: Member, fake_x: FakeX
) -> None:
    fake_x.on("POST", TOKEN, answer("oauth_token.json"))
    fake_x.on("POST", "/2/tweets", answer("recorded_create_tweet.json", 201))
    conversation = reply_conversation(x_channel)
    do_reply(owner, conversation, "Bonjour !")
    expiring(x_channel)
    send_due()
    x_channel.refresh_from_db()
    [post] = fake_x.calls("POST", "/2/tweets")
    new_token = x_channel.credentials["access_token"]
    assert (
        post.headers["authorization"],
        x_channel.credentials["refresh_token"][:8],
        x_channel.credentials["consumer_secret"],
    ) == (
        f"Bearer {new_token}",
        "bWk4cDU2",
        "consumer_secret_abc",
    )


def test_test_connection_names_the_account(x_channel: Channel, fake_x: FakeX) -> None:
    fake_x.on("GET", "/2/users/me", answer("users_me.json"))
    assert connector(x_channel).test_connection() == "@MaisonLumen (Maison Lumen)"


def test_test_connection_refuses_another_account(x_channel: Channel, fake_x: FakeX) -> None:
    fake_x.on(
        "GET",
        "/2/users/me",
        lambda r: httpx.Response(
            200, json={"data": {"id": "42", "name": "Other", "username": "other"}}
        ),
    )
    with pytest.raises(PermissionDenied):
        connector(x_channel).test_connection()


def test_setup_instructions_list_the_scopes(x_channel: Channel) -> None:
    instructions = connector(x_channel).setup_instructions()
    assert "dm.read" in instructions["Scopes"]
