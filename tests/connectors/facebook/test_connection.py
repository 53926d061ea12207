"""Connecting a Page (OAuth, long-lived tokens), checking it, and polling as catch-up."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.utils import timezone

from cercle.connectors.base import OAuthTokens, Rejected, TokenRevoked
from cercle.connectors.choices import Health
from cercle.connectors.registry import connector_for
from cercle.inbox.models import Message
from cercle.pipeline.actions import do_create_channel, do_store_credentials
from cercle.pipeline.poller import poll_channel

from .conftest import APP_SECRET, PAGE_ID, PAGE_TOKEN, fixture_json, graph_error


def test_authorize_url_carries_app_state_redirect_and_page_scopes(fb_channel):
    url = connector_for(fb_channel).authorize_url("st4te", "https://cercle.example/oauth/callback")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert (
        parts.netloc,
        parts.path,
        query["client_id"],
        query["state"],
        query["redirect_uri"],
    ) == (
        "www.facebook.com",
        "/v21.0/dialog/oauth",
        ["4242"],
        ["st4te"],
        ["https://cercle.example/oauth/callback"],
    )
    assert {"pages_manage_engagement", "pages_messaging", "pages_read_engagement"} <= set(
        query["scope"][0].split(",")
    )


@pytest.fixture
def oauth_graph(graph):
    def token(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if params.get("grant_type") == "fb_exchange_token":
            assert params["fb_exchange_token"] == "EAAshortlived"
            return httpx.Response(
                200,
                json={
                    "access_token": "EAAlonglived",
                    "token_type": "bearer",
                    "expires_in": 5183944,
                },
            )
        assert (params["code"], params["client_secret"]) == ("the-code", APP_SECRET)
        return httpx.Response(200, json=fixture_json("graph_oauth_token.json"))

    graph.on("GET", "/oauth/access_token", token)
    graph.on("GET", "/me/accounts", fixture_json("graph_me_accounts.json"))
    return graph


def test_exchange_code_ends_with_the_page_token_of_the_long_lived_user_token(
    oauth_graph, workspace
):
    channel = do_create_channel(
        workspace, "facebook", "New page", credentials={"app_id": "4242", "app_secret": APP_SECRET}
    )
    tokens = connector_for(channel).exchange_code("the-code", "https://cercle.example/cb")
    (accounts,) = oauth_graph.sent("GET", "/me/accounts")
    assert (
        tokens.credentials["page_access_token"],
        tokens.credentials["app_secret"],
        tokens.account_id,
        tokens.account_name,
        tokens.expires_at,
        accounts.headers["authorization"],
    ) == ("EAAPageToken", APP_SECRET, PAGE_ID, "Maison Lumen", None, "Bearer EAAlonglived")


def test_exchange_code_refuses_an_account_without_the_connected_page(oauth_graph, workspace):
    channel = do_create_channel(
        workspace,
        "facebook",
        "Other",
        external_id="777",
        credentials={"app_id": "4242", "app_secret": APP_SECRET},
    )
    with pytest.raises(Rejected):
        connector_for(channel).exchange_code("the-code", "https://cercle.example/cb")


def test_client_id_and_secret_from_the_platform_app_settings_are_used(oauth_graph, workspace):
    channel = do_create_channel(
        workspace, "facebook", "P", credentials={"client_id": "9999", "client_secret": APP_SECRET}
    )
    url = connector_for(channel).authorize_url("s", "https://cercle.example/cb")
    assert parse_qs(urlsplit(url).query)["client_id"] == ["9999"]


def test_refresh_is_nothing_to_do_for_a_page_token_that_does_not_expire(graph, fb_channel):
    assert (connector_for(fb_channel).refresh_credentials(), graph.requests) == (None, [])


def test_refresh_renews_a_page_token_about_to_expire(oauth_graph, fb_channel):
    credentials = {**fb_channel.credentials, "user_access_token": "EAAshortlived"}
    do_store_credentials(
        fb_channel,
        OAuthTokens(credentials=credentials, expires_at=timezone.now() + timedelta(days=2)),
    )
    tokens = connector_for(fb_channel).refresh_credentials()
    assert (tokens.credentials["page_access_token"], tokens.credentials["user_access_token"]) == (
        "EAAPageToken",
        "EAAlonglived",
    )


def test_test_connection_names_the_page(graph, fb_channel):
    graph.on("GET", f"/{PAGE_ID}", {"id": PAGE_ID, "name": "Maison Lumen"})
    assert "Maison Lumen" in connector_for(fb_channel).test_connection()


def test_test_connection_with_an_expired_token_says_revoked(graph, fb_channel):
    graph.on("GET", f"/{PAGE_ID}", graph_error("graph_error_token.json"))
    with pytest.raises(TokenRevoked):
        connector_for(fb_channel).test_connection()


def test_setup_instructions_give_the_verify_token_and_fields(fb_channel):
    instructions = connector_for(fb_channel).setup_instructions()
    assert (
        instructions["verify_token"],
        instructions["object"],
        "feed" in instructions["fields"],
    ) == (
        fb_channel.verify_token,
        "page",
        True,
    )


def test_api_base_override_is_used(graph, workspace):
    channel = do_create_channel(
        workspace,
        "facebook",
        "Sim",
        external_id=PAGE_ID,
        config={"api_base": "http://127.0.0.1:9/facebook/lumen"},
        credentials={"page_access_token": PAGE_TOKEN},
    )
    with pytest.raises(Rejected):  # the fake answers 404 for unknown routes
        connector_for(channel).test_connection()
    assert str(graph.requests[0].url).startswith("http://127.0.0.1:9/facebook/lumen/v21.0/")


def test_poll_catches_up_comments_and_keeps_the_cursor(graph, fb_channel):
    graph.on("GET", f"/{PAGE_ID}/feed", fixture_json("graph_feed_with_comments.json"))
    poll_channel(fb_channel)
    fb_channel.refresh_from_db()
    assert (
        sorted(Message.objects.filter(channel=fb_channel).values_list("direction", flat=True)),
        fb_channel.cursor,
    ) == (["inbound", "outbound"], "2026-11-25T09:20:00+00:00")


def test_poll_asks_for_comments_in_stream_order(graph, fb_channel):
    graph.on("GET", f"/{PAGE_ID}/feed", fixture_json("graph_feed_with_comments.json"))
    poll_channel(fb_channel)
    assert "comments.filter(stream)" in graph.requests[0].url.params["fields"]


def test_poll_with_a_revoked_token_marks_the_channel(graph, fb_channel):
    graph.on("GET", f"/{PAGE_ID}/feed", graph_error("graph_error_token.json"))
    poll_channel(fb_channel)
    fb_channel.refresh_from_db()
    assert fb_channel.health == Health.NEEDS_REAUTH
