"""Receiving from Reddit: inbox replies, mentions and messages, subreddit comments, cursors, duplicates, limits."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from cercle.connectors import quota
from cercle.connectors.base import RawEventData
from cercle.connectors.choices import Health
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.connectors.reddit.client import API_WINDOW
from cercle.connectors.reddit.connector import RedditConnector
from cercle.inbox.models import Message
from cercle.pipeline.poller import poll_channel
from cercle.workspaces.models import Workspace

from .conftest import CLIENT_ID, USERNAME, FakeReddit, answer, reddit_channel

pytestmark = pytest.mark.django_db

INBOX = "/message/inbox"
MOD_COMMENTS = "/r/mod/comments"
EMPTY = {"kind": "Listing", "data": {"children": [], "after": None, "before": None}}


def empty(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=EMPTY)


def kinds(channel: Channel) -> dict[str, tuple[str, bool, str]]:
    return {
        m.external_id: (
            m.kind,
            m.is_private,
            m.conversation.post.external_id if m.conversation.post else "",
        )
        for m in Message.objects.filter(channel=channel)
    }


def test_the_inbox_gives_replies_comments_and_private_messages(
    channel: Channel, reddit: FakeReddit
) -> None:
    reddit.on("GET", INBOX, answer("inbox.json"))
    reddit.on("GET", MOD_COMMENTS, empty)
    poll_channel(channel)
    assert kinds(channel) == {
        "t1_myngt77": ("reply", False, "t3_1j7g9uj"),
        "t4_2r17c8r": ("message", True, ""),
        "t1_m30xcs6": ("comment", False, "t3_1hirfbl"),
    }


def test_a_comment_reply_keeps_its_parent_and_its_text(
    channel: Channel, reddit: FakeReddit
) -> None:
    reddit.on("GET", INBOX, answer("inbox.json"))
    reddit.on("GET", MOD_COMMENTS, empty)
    poll_channel(channel)
    reply = Message.objects.get(channel=channel, external_id="t1_myngt77")
    assert (
        reply.text,
        reply.parent_external_id,
        reply.author_identity and reply.author_identity.handle,
    ) == (
        "Reply",
        "t1_mynfuan",
        "Lil_SpazTest",
    )


def test_username_mentions_are_mentions(channel: Channel, reddit: FakeReddit) -> None:
    reddit.on("GET", INBOX, answer("mentions.json"))
    reddit.on("GET", MOD_COMMENTS, empty)
    poll_channel(channel)
    assert kinds(channel) == {
        "t1_ekftbox": ("mention", False, ""),
        "t1_ekftage": ("mention", False, ""),
    }


def test_subreddit_comments_hang_under_their_post(workspace: Workspace, reddit: FakeReddit) -> None:
    channel = reddit_channel(workspace, subreddit="all")
    reddit.on("GET", INBOX, empty)
    reddit.on("GET", "/r/all/comments", answer("subreddit_comments.json"))
    poll_channel(channel)
    reply = Message.objects.get(channel=channel, external_id="t1_dbhn11c")
    assert (kinds(channel), reply.conversation.post.text) == (
        {
            "t1_dbhn11d": ("comment", False, "t3_5jffj1"),
            "t1_dbhn11c": ("reply", False, "t3_5jfjzu"),
            "t1_dbhn11b": ("comment", False, "t3_5jk38e"),
        },
        "My current issue",
    )


def test_every_call_carries_the_unique_user_agent_and_the_token(
    channel: Channel, reddit: FakeReddit
) -> None:
    reddit.on("GET", INBOX, answer("inbox.json"))
    reddit.on("GET", MOD_COMMENTS, empty)
    poll_channel(channel)
    assert {(r.headers["user-agent"], r.headers["authorization"]) for r in reddit.requests} == {
        (f"server:cercle-{CLIENT_ID}:0.1 (by /u/{USERNAME})", "bearer tok-1")
    }


def test_the_next_poll_asks_for_what_is_newer_than_the_newest_seen(
    workspace: Workspace, reddit: FakeReddit
) -> None:
    channel = reddit_channel(workspace, subreddit="all")
    reddit.on("GET", INBOX, answer("inbox.json"), empty)
    reddit.on("GET", "/r/all/comments", answer("subreddit_comments.json"), empty)
    poll_channel(channel)
    channel.refresh_from_db()
    poll_channel(channel)
    second_inbox = reddit.calls("GET", INBOX)[1]
    second_comments = reddit.calls("GET", "/r/all/comments")[1]
    assert (
        json.loads(channel.cursor),
        second_inbox.url.params["before"],
        second_comments.url.params["before"],
    ) == ({"c": "t1_dbhn11d", "i": "t1_myngt77"}, "t1_myngt77", "t1_dbhn11d")


def test_the_same_listing_twice_gives_one_message_each(
    channel: Channel, reddit: FakeReddit
) -> None:
    reddit.on("GET", INBOX, answer("inbox.json"))
    reddit.on("GET", MOD_COMMENTS, empty)
    first = poll_channel(channel)
    Channel.objects.filter(pk=channel.pk).update(cursor="")
    channel.refresh_from_db()
    second = poll_channel(channel)
    assert (first, second, Message.objects.filter(channel=channel).count()) == (3, 0, 3)


def test_a_polled_page_replays_to_the_same_items(channel: Channel, reddit: FakeReddit) -> None:
    reddit.on("GET", INBOX, answer("inbox.json"))
    reddit.on("GET", MOD_COMMENTS, answer("subreddit_comments.json"))
    connector = RedditConnector(channel, PlatformHttp())
    page = connector.poll(None)
    assert connector.parse(RawEventData(body=page.raw, source="poll")) == page.items


# --- limits, revoked token, egress -------------------------------------------------------------


def test_rate_limit_headers_are_kept_as_the_channels_window(
    channel: Channel, reddit: FakeReddit
) -> None:
    reddit.on("GET", INBOX, answer("inbox.json"))  # recorded: used 656, remaining 9344.0, reset 69
    reddit.on("GET", MOD_COMMENTS, empty)
    poll_channel(channel)
    [standing] = quota.standings(channel)
    # What Reddit said after the inbox, plus the comments call counted after it.
    assert (standing.name, standing.used, standing.limit) == (API_WINDOW.name, 657, 10000)


def test_a_spent_window_stops_the_poll_until_its_reset(
    channel: Channel, reddit: FakeReddit
) -> None:
    reddit.on(
        "GET",
        INBOX,
        answer(
            "inbox.json",
            headers={
                "X-Ratelimit-Used": "600",
                "X-Ratelimit-Remaining": "0.0",
                "X-Ratelimit-Reset": "240",
            },
        ),
    )
    reddit.on("GET", MOD_COMMENTS, empty)
    before = timezone.now()
    poll_channel(channel)
    channel.refresh_from_db()
    paused = channel.paused_until
    assert (
        reddit.calls("GET", MOD_COMMENTS),
        paused is not None and timedelta(seconds=230) < paused - before < timedelta(seconds=250),
    ) == ([], True)


def test_429_pauses_the_channel(channel: Channel, reddit: FakeReddit) -> None:
    reddit.on(
        "GET",
        INBOX,
        lambda r: httpx.Response(
            429,
            json={"message": "Too Many Requests", "error": 429},
            headers={
                "x-ratelimit-used": "600",
                "x-ratelimit-remaining": "0.0",
                "x-ratelimit-reset": "300",
            },
        ),
    )
    before = timezone.now()
    poll_channel(channel)
    channel.refresh_from_db()
    paused = channel.paused_until
    assert paused is not None and timedelta(seconds=290) < paused - before < timedelta(seconds=310)


def test_a_revoked_token_puts_the_channel_in_need_of_reconnection(
    channel: Channel, reddit: FakeReddit
) -> None:
    reddit.on("GET", INBOX, answer("error_unauthorized.json"))
    poll_channel(channel)
    channel.refresh_from_db()
    assert channel.health == Health.NEEDS_REAUTH


def test_a_403_degrades_the_channel(channel: Channel, reddit: FakeReddit) -> None:
    reddit.on("GET", INBOX, answer("error_forbidden.json"))
    poll_channel(channel)
    channel.refresh_from_db()
    assert (channel.health, "Forbidden" in channel.health_detail) == (Health.DEGRADED, True)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://192.168.1.20", "http://169.254.169.254"]
)
def test_an_api_base_on_an_internal_address_is_refused(workspace: Workspace, url: str) -> None:
    channel = reddit_channel(workspace, api_base=url)
    poll_channel(channel)
    channel.refresh_from_db()
    assert (channel.health, "refused" in channel.health_detail) == (Health.DEGRADED, True)
