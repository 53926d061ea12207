"""Polling catch-up, OAuth connect/refresh, connection test and setup instructions."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from cercle.connectors.base import TokenRevoked
from cercle.connectors.choices import Health
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for
from cercle.inbox.models import Message, Post
from cercle.pipeline.actions import do_store_credentials
from cercle.pipeline.poller import poll_channel
from tests.connectors.instagram.conftest import APP_SECRET, IG, fixture_json

MEDIA = "17918195224117851"


def media_routes(graph) -> None:
    graph.on("GET", f"/{IG}/media", fixture_json("api_user_media.json"))
    graph.on("GET", f"/{MEDIA}/comments", fixture_json("api_media_comments.json"))
    graph.on("GET", f"/{IG}/tags", {"data": []})


# --- polling ---------------------------------------------------------------------------


def test_poll_stores_comments_and_replies_under_the_media(graph, ig_channel):
    media_routes(graph)
    poll_channel(ig_channel)
    ids = set(Message.objects.filter(channel=ig_channel).values_list("external_id", flat=True))
    assert ids == {"17873440459141022", "17873440459141023", "17870913679156914"}


def test_poll_links_the_post_with_caption_and_permalink(graph, ig_channel):
    media_routes(graph)
    poll_channel(ig_channel)
    post = Post.objects.get(channel=ig_channel, external_id=MEDIA)
    assert (post.text, post.url) == (
        "Notre nouvelle lampe Aurore ✨",
        "https://www.instagram.com/p/C1a2b3c4d5e/",
    )


def test_poll_marks_our_reply_and_hidden_comments(graph, ig_channel):
    media_routes(graph)
    poll_channel(ig_channel)
    ours = Message.objects.get(external_id="17873440459141023")
    hidden = Message.objects.get(external_id="17870913679156914")
    assert (ours.direction, ours.parent_external_id, hidden.is_hidden) == (
        "outbound",
        "17873440459141022",
        True,
    )


def test_poll_advances_the_cursor_and_skips_older_items(graph, ig_channel):
    media_routes(graph)
    poll_channel(ig_channel)
    ig_channel.refresh_from_db()
    state = json.loads(ig_channel.cursor)
    state["counts"] = {}  # force a re-read of the comments
    page = connector_for(ig_channel).poll(json.dumps(state))
    # Only the newest comment is at or after the cursor (the inbox dedupes it).
    assert [item.external_id for item in page.items] == ["17870913679156914"]


def test_poll_spares_the_comments_call_when_the_count_did_not_change(graph, ig_channel):
    media_routes(graph)
    poll_channel(ig_channel)
    ig_channel.refresh_from_db()
    poll_channel(ig_channel)
    assert len(graph.sent("GET", f"/{MEDIA}/comments")) == 1


def test_poll_turns_tagged_media_into_mentions(graph, ig_channel):
    media_routes(graph)
    graph.on("GET", f"/{IG}/tags", fixture_json("api_user_tags.json"))
    poll_channel(ig_channel)
    mention = Message.objects.get(external_id="mention:18011223344556677")
    assert (mention.kind, mention.text, mention.author_identity.handle) == (
        "mention",
        "Ma lampe @maisonlumen dans le salon 😍",
        "jo.martin",
    )


def test_poll_with_revoked_token_marks_needs_reauth(graph, ig_channel):
    graph.on("GET", f"/{IG}/media", fixture_json("api_error_token_expired.json"), status=400)
    poll_channel(ig_channel)
    assert Channel.objects.get(pk=ig_channel.pk).health == Health.NEEDS_REAUTH


def test_poll_rate_limited_pauses_the_channel(graph, ig_channel):
    graph.on(
        "GET",
        f"/{IG}/media",
        fixture_json("api_error_rate_limit.json"),
        status=400,
        headers={"Retry-After": "600"},
    )
    poll_channel(ig_channel)
    assert Channel.objects.get(pk=ig_channel.pk).paused_until > timezone.now() + timedelta(
        minutes=9
    )


# --- OAuth -------------------------------------------------------------------------------


def test_authorize_url_carries_state_scopes_and_redirect(ig_channel):
    url = connector_for(ig_channel).authorize_url("st4te", "https://cercle.example/oauth/callback")
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (
        parts.netloc,
        parts.path,
        query["state"],
        query["client_id"],
        query["redirect_uri"],
    ) == (
        "www.facebook.com",
        "/v21.0/dialog/oauth",
        "st4te",
        "1234567890",
        "https://cercle.example/oauth/callback",
    )
    assert {"instagram_basic", "instagram_manage_comments", "instagram_manage_messages"} <= set(
        query["scope"].split(",")
    )


def oauth_routes(graph) -> None:
    def token(request):
        import httpx

        if request.url.params.get("grant_type") == "fb_exchange_token":
            return httpx.Response(200, json=fixture_json("api_oauth_long_token.json"))
        return httpx.Response(200, json=fixture_json("api_oauth_short_token.json"))

    graph.on("GET", "/oauth/access_token", token)
    graph.on("GET", "/me/accounts", fixture_json("api_me_accounts.json"))


def test_exchange_code_gives_the_page_token_of_the_instagram_account(graph, ig_channel):
    oauth_routes(graph)
    tokens = connector_for(ig_channel).exchange_code(
        "AQDcode", "https://cercle.example/oauth/callback"
    )
    assert (
        tokens.account_id,
        tokens.account_name,
        tokens.credentials["access_token"],
        tokens.credentials["user_access_token"],
    ) == (
        IG,
        "maisonlumen",
        "EAAGpagetoken",
        "EAAGlonglived",
    )


def test_exchange_code_sends_code_secret_and_redirect(graph, ig_channel):
    oauth_routes(graph)
    connector_for(ig_channel).exchange_code("AQDcode", "https://cercle.example/oauth/callback")
    params = graph.requests[0].url.params
    assert (params["code"], params["client_secret"], params["redirect_uri"]) == (
        "AQDcode",
        APP_SECRET,
        "https://cercle.example/oauth/callback",
    )


def test_refresh_is_nothing_to_do_far_from_expiry(ig_channel):
    do_store_credentials(
        ig_channel,
        _tokens(user_token_expires_at=(timezone.now() + timedelta(days=40)).isoformat()),
    )
    assert connector_for(ig_channel).refresh_credentials() is None


def test_refresh_exchanges_again_near_expiry(graph, ig_channel):
    oauth_routes(graph)
    do_store_credentials(
        ig_channel, _tokens(user_token_expires_at=(timezone.now() + timedelta(days=2)).isoformat())
    )
    tokens = connector_for(ig_channel).refresh_credentials()
    assert (
        tokens.credentials["user_access_token"],
        graph.requests[0].url.params["fb_exchange_token"],
    ) == (
        "EAAGlonglived",
        "EAAGolduser",
    )


def test_refresh_after_expiry_asks_for_reconnection(ig_channel):
    do_store_credentials(
        ig_channel, _tokens(user_token_expires_at=(timezone.now() - timedelta(days=1)).isoformat())
    )
    with pytest.raises(TokenRevoked):
        connector_for(ig_channel).refresh_credentials()


def _tokens(**extra):
    from cercle.connectors.base import OAuthTokens

    return OAuthTokens(
        credentials={
            "app_id": "1234567890",
            "app_secret": APP_SECRET,
            "access_token": "EAAGpagetoken",
            "user_access_token": "EAAGolduser",
            **extra,
        }
    )


def test_generic_client_credentials_are_accepted(workspace, settings):
    from cercle.pipeline.actions import do_create_channel

    settings.CERCLE_PLATFORM_APPS = {
        "instagram": {"client_id": "999", "client_secret": "s", "api_base": ""}
    }
    channel = do_create_channel(workspace, "instagram", "IG", credentials={})
    assert "client_id=999" in connector_for(channel).authorize_url("s", "https://x.example/cb")


def test_connection_names_the_account(graph, ig_channel):
    graph.on("GET", f"/{IG}", fixture_json("api_user.json"))
    assert "@maisonlumen" in connector_for(ig_channel).test_connection()


def test_setup_instructions_give_verify_token_and_fields(ig_channel):
    setup = connector_for(ig_channel).setup_instructions()
    assert (setup["verify_token"], setup["callback_url"], "messages" in setup["fields"]) == (
        ig_channel.verify_token,
        f"/hooks/{ig_channel.uuid}",
        True,
    )
