"""Every Reddit action through the real outbox sender, and the OAuth grants, with Reddit faked at the HTTP boundary."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs

import httpx
import pytest
from django.utils import timezone

from cercle.connectors.base import (
    ActionKind,
    Author,
    Incoming,
    OAuthTokens,
    OutboundAction,
    PostRef,
)
from cercle.connectors.choices import Health
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.connectors.reddit.connector import RedditConnector
from cercle.inbox.actions import do_moderate_message, do_receive, do_reply
from cercle.inbox.choices import OutboxState
from cercle.inbox.models import Message, Outbox
from cercle.pipeline.actions import do_create_channel, do_store_credentials
from cercle.pipeline.sender import send_due
from cercle.workspaces.models import Member, Workspace

from .conftest import USERNAME, FakeReddit, answer, record

pytestmark = pytest.mark.django_db

COMMENT = "/api/comment"
# The comment PRAW answered in TestComment.test_reply.json, and the one its reply reconciles with.
TARGET = "t1_d1616q2"


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def receive(channel: Channel, external_id: str = TARGET, *, private: bool = False) -> Message:
    item = Incoming(
        external_id=external_id,
        kind="message" if private else "comment",
        is_private=private,
        thread_ref=external_id if private else "",
        author=Author(external_id="OmegaFemale", name="OmegaFemale", handle="OmegaFemale"),
        text="Une question sur la lampe",
        post=None if private else PostRef(external_id="t3_4b1tfm"),
    )
    [message] = do_receive(channel, [item]).created
    return message


def later(monkeypatch: pytest.MonkeyPatch, minutes: float) -> None:
    moment = timezone.now() + timedelta(minutes=minutes)
    monkeypatch.setattr(timezone, "now", lambda: moment)


def test_reply_comments_under_the_item_and_records_the_new_comment(
    channel: Channel, owner: Member, reddit: FakeReddit
) -> None:
    reddit.on("POST", COMMENT, answer("comment_created.json"))
    sent = do_reply(owner, receive(channel).conversation, "Comment reply")
    send_due()
    sent.refresh_from_db()
    [request] = reddit.calls("POST", COMMENT)
    assert (
        form(request),
        request.headers["user-agent"].endswith(f"(by /u/{USERNAME})"),
        sent.external_id,
    ) == (
        {"api_type": "json", "thing_id": TARGET, "text": "Comment reply"},
        True,
        "t1_d1680wu",
    )


def test_a_private_message_is_answered_in_its_thread(
    channel: Channel, owner: Member, reddit: FakeReddit
) -> None:
    reddit.on("POST", COMMENT, answer("message_reply_created.json"))
    sent = do_reply(
        owner, receive(channel, "t4_2r1s1k2", private=True).conversation, "Message reply"
    )
    send_due()
    sent.refresh_from_db()
    [request] = reddit.calls("POST", COMMENT)
    assert (form(request)["thing_id"], sent.external_id) == ("t4_2r1s1k2", "t4_zzzzzzzzzzzz")


def test_hide_removes_as_moderator_and_unhide_approves(
    channel: Channel, owner: Member, reddit: FakeReddit
) -> None:
    reddit.on("POST", "/api/remove", answer("remove.json"))
    reddit.on("POST", "/api/approve", answer("approve.json"))
    message = receive(channel)
    do_moderate_message(owner, message, ActionKind.HIDE)
    send_due()
    do_moderate_message(owner, message, ActionKind.UNHIDE)
    send_due()
    assert (
        [form(r) for r in reddit.calls("POST", "/api/remove")],
        [form(r) for r in reddit.calls("POST", "/api/approve")],
    ) == ([{"id": TARGET, "spam": "false"}], [{"id": TARGET}])


def test_ban_bans_the_author_in_the_subreddit_of_the_item(
    channel: Channel, owner: Member, reddit: FakeReddit
) -> None:
    reddit.on("GET", "/api/info", answer("info_comment.json"))
    reddit.on("POST", "/r/politics/api/friend", answer("ban.json"))
    outbox = do_moderate_message(owner, receive(channel, "t1_d7ltv00"), ActionKind.BAN)
    send_due()
    outbox.refresh_from_db()
    [request] = reddit.calls("POST", "/r/politics/api/friend")
    assert (outbox.state, form(request)) == (
        OutboxState.DONE,
        {
            "api_type": "json",
            "name": "OmegaFemale",
            "type": "banned",
            "note": "Banned by the community team (Cercle)",
        },
    )


# --- limits and errors --------------------------------------------------------------------------


def test_reddits_ratelimit_error_pauses_the_channel_for_the_time_it_names(
    channel: Channel, owner: Member, reddit: FakeReddit, monkeypatch: pytest.MonkeyPatch
) -> None:
    ratelimited = {
        "json": {
            "errors": [
                ["RATELIMIT", "you are doing that too much. try again in 5 minutes.", "ratelimit"]
            ]
        }
    }
    reddit.on(
        "POST",
        COMMENT,
        lambda r: httpx.Response(200, json=ratelimited),
        answer("comment_created.json"),
    )
    sent = do_reply(owner, receive(channel).conversation, "Comment reply")
    before = timezone.now()
    send_due()
    channel.refresh_from_db()
    paused = channel.paused_until
    later(monkeypatch, 6)
    send_due()
    sent.refresh_from_db()
    assert (
        paused is not None and timedelta(minutes=4.9) < paused - before < timedelta(minutes=5.1),
        len(reddit.calls("POST", COMMENT)),
        sent.delivery,
    ) == (True, 2, "sent")


def test_a_revoked_token_waits_then_sends_once_after_reconnection(
    channel: Channel, owner: Member, reddit: FakeReddit
) -> None:
    def by_token(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "bearer tok-2":
            return answer("comment_created.json")(request)
        return answer("error_unauthorized.json")(request)

    reddit.on("POST", COMMENT, by_token)
    reddit.on(
        "POST",
        "/api/v1/access_token",
        lambda r: httpx.Response(200, json={"error": "invalid_grant"}),
    )
    sent = do_reply(owner, receive(channel).conversation, "Comment reply")
    send_due()
    channel.refresh_from_db()
    waiting = (channel.health, Outbox.objects.get(message=sent).state)
    do_store_credentials(channel, OAuthTokens(credentials={"access_token": "tok-2"}))
    send_due()
    send_due()
    accepted = [
        r for r in reddit.calls("POST", COMMENT) if r.headers["authorization"] == "bearer tok-2"
    ]
    assert (waiting, len(accepted)) == ((Health.NEEDS_REAUTH, OutboxState.WAITING), 1)


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("reddit took too long", request=request)


def test_an_ambiguous_reply_found_among_our_comments_is_not_posted_again(
    channel: Channel, owner: Member, reddit: FakeReddit, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = record("user_comments_new.json")["body"]["data"]["children"][0]["data"]
    reddit.on("POST", COMMENT, timeout)
    reddit.on("GET", f"/user/{USERNAME}/comments", answer("user_comments_new.json"))
    sent = do_reply(owner, receive(channel, ours["parent_id"]).conversation, ours["body"])
    send_due()
    unknown = Outbox.objects.get(message=sent).state
    later(monkeypatch, 1)
    send_due()
    sent.refresh_from_db()
    assert (unknown, len(reddit.calls("POST", COMMENT)), sent.external_id) == (
        OutboxState.UNKNOWN,
        1,
        ours["name"],
    )


# --- connecting ---------------------------------------------------------------------------------


def test_the_consent_page_asks_for_a_permanent_token_and_the_scopes(channel: Channel) -> None:
    url = RedditConnector(channel, PlatformHttp()).authorize_url(
        "st-1", "https://cercle.example/cb/"
    )
    query = parse_qs(url.split("?", 1)[1])
    assert (
        url.split("?")[0],
        query["duration"],
        query["state"],
        "modposts" in query["scope"][0],
    ) == (
        "https://www.reddit.com/api/v1/authorize",
        ["permanent"],
        ["st-1"],
        True,
    )


def test_the_code_is_traded_for_tokens_and_the_account_named(
    channel: Channel, reddit: FakeReddit
) -> None:
    reddit.on("POST", "/api/v1/access_token", answer("token_refresh.json"))
    reddit.on("GET", "/api/v1/me", answer("me.json"))
    tokens = RedditConnector(channel, PlatformHttp()).exchange_code(
        "code-1", "https://cercle.example/cb/"
    )
    [grant] = reddit.calls("POST", "/api/v1/access_token")
    assert (
        form(grant),
        grant.headers["authorization"].startswith("Basic "),
        tokens.account_id,
        tokens.credentials["refresh_token"],
        tokens.expires_at is not None,
    ) == (
        {
            "grant_type": "authorization_code",
            "code": "code-1",
            "redirect_uri": "https://cercle.example/cb/",
        },
        True,
        "<USERNAME>",
        "<REFRESH_TOKEN>",
        True,
    )


def test_a_script_app_is_refreshed_with_the_password_grant(
    workspace: Workspace, reddit: FakeReddit
) -> None:
    channel = do_create_channel(
        workspace,
        "reddit",
        "u/lumen_bot",
        external_id="lumen_bot",
        config={},
        credentials={
            "client_id": "cid",
            "client_secret": "s",
            "username": "lumen_bot",
            "password": "pw",
        },
    )
    reddit.on("POST", "/api/v1/access_token", answer("token_password.json"))
    tokens = RedditConnector(channel, PlatformHttp()).refresh_credentials(force=True)
    [grant] = reddit.calls("POST", "/api/v1/access_token")
    assert (form(grant), tokens and tokens.credentials) == (
        {"grant_type": "password", "username": "lumen_bot", "password": "pw"},
        {"access_token": "<ACCESS_TOKEN>"},
    )


def test_reconcile_finds_a_private_answer_among_sent_messages(
    channel: Channel, reddit: FakeReddit
) -> None:
    sent = record("message_reply_created.json")["body"]["json"]["data"]["things"][0]
    reddit.on(
        "GET",
        "/message/sent",
        lambda r: httpx.Response(200, json={"kind": "Listing", "data": {"children": [sent]}}),
    )
    found = RedditConnector(channel, PlatformHttp()).reconcile(
        OutboundAction(
            kind=ActionKind.SEND_PRIVATE,
            idempotency_key="k",
            target_external_id="t4_2r1s1k2",
            thread_ref="t4_2r1s1k2",
            text="Message reply",
        )
    )
    assert found is not None and found.platform_id == "t4_zzzzzzzzzzzz"
