"""Receiving from Mastodon: each notification type on recorded answers, min_id and Link paging, duplicates, limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.utils import timezone

from cercle.connectors import quota
from cercle.connectors.base import RawEventData
from cercle.connectors.choices import Health
from cercle.connectors.http import PlatformHttp
from cercle.connectors.mastodon.client import API_WINDOW, NOTIFICATIONS
from cercle.connectors.mastodon.connector import MastodonConnector
from cercle.connectors.models import Channel
from cercle.inbox.models import Message
from cercle.pipeline.poller import poll_channel
from cercle.workspaces.models import Workspace

from .conftest import BRAND_ID, TOKEN, FakeInstance, answer, mastodon_channel, record

pytestmark = pytest.mark.django_db


def inbound(channel: Channel) -> list[Message]:
    return list(Message.objects.filter(channel=channel).order_by("id"))


def test_a_mention_becomes_a_mention_with_its_author_and_plain_text(
    channel: Channel, instance: FakeInstance
) -> None:
    instance.on("GET", NOTIFICATIONS, answer("notifications_mention.json"))
    poll_channel(channel)
    [message] = inbound(channel)
    assert (
        message.kind,
        message.external_id,
        message.text,
        message.author_identity and message.author_identity.handle,
        message.is_private,
    ) == ("mention", "117440821662233205", "@mastodonpy_test hello!", "admin", False)


def test_a_private_mention_becomes_a_private_message_in_the_authors_thread(
    channel: Channel, instance: FakeInstance
) -> None:
    instance.on("GET", NOTIFICATIONS, answer("notifications_stream_mentions.json"))
    poll_channel(channel)
    private = Message.objects.get(channel=channel, external_id="117440836564289157")
    public = Message.objects.get(channel=channel, external_id="117440836352858104")
    assert (
        private.kind,
        private.is_private,
        private.text,
        private.conversation.kind,
        public.kind,
        public.text,
    ) == (
        "message",
        True,
        "@mastodonpy_test pssssst!",
        "private",
        "mention",
        "@mastodonpy_test beep beep I'm a jeep",
    )


def test_favourites_and_boosts_become_shares_of_the_brands_status(
    channel: Channel, instance: FakeInstance
) -> None:
    instance.on("GET", NOTIFICATIONS, answer("notifications_favourite_reblog.json"))
    poll_channel(channel)
    shares = inbound(channel)
    assert sorted((m.kind, m.external_id, m.conversation.post.external_id) for m in shares) == [
        ("share", "favourite:117440810673731823:117440824337744080", "117440824337744080"),
        ("share", "reblog:117440810673731823:117440824337744080", "117440824337744080"),
    ]


def test_a_reply_to_the_brands_status_is_a_reply_under_it(
    workspace: Workspace, instance: FakeInstance
) -> None:
    # In this recording the brand is mastodonpy_test_2, whose post admin answered.
    channel = mastodon_channel(workspace, account_id="117440810673731823")
    instance.on("GET", NOTIFICATIONS, answer("notifications_reply_to_brand.json"))
    poll_channel(channel)
    [message] = inbound(channel)
    assert (message.kind, message.parent_external_id, message.conversation.post.external_id) == (
        "reply",
        "117440826670289215",
        "117440826670289215",
    )


def test_follows_and_admin_notifications_are_not_interactions_but_move_the_cursor(
    channel: Channel, instance: FakeInstance
) -> None:
    instance.on("GET", NOTIFICATIONS, answer("notifications_follow_and_signups.json"))
    poll_channel(channel)
    channel.refresh_from_db()
    assert (inbound(channel), json.loads(channel.cursor)) == (
        [],
        {"me": BRAND_ID, "min_id": "10"},
    )


def test_the_request_asks_for_interactions_only_with_the_token(
    channel: Channel, instance: FakeInstance
) -> None:
    instance.on("GET", NOTIFICATIONS, answer("notifications_mention.json"))
    poll_channel(channel)
    [request] = instance.calls("GET", NOTIFICATIONS)
    assert (
        request.headers["authorization"],
        request.url.params.get_list("types[]"),
        request.url.params["limit"],
        "min_id" in request.url.params,
    ) == (f"Bearer {TOKEN}", ["mention", "favourite", "reblog"], "40", False)


def test_the_next_poll_asks_for_what_is_newer_than_the_link_min_id(
    channel: Channel, instance: FakeInstance
) -> None:
    instance.on(
        "GET",
        NOTIFICATIONS,
        answer("notifications_mention.json"),
        lambda r: httpx.Response(200, json=[]),
    )
    poll_channel(channel)
    channel.refresh_from_db()
    poll_channel(channel)
    second = instance.calls("GET", NOTIFICATIONS)[1]
    channel.refresh_from_db()
    assert (second.url.params["min_id"], json.loads(channel.cursor)["min_id"]) == ("20", "20")


def test_a_full_page_is_drained_page_after_page(channel: Channel, instance: FakeInstance) -> None:
    mention = record("notifications_mention.json")["body"][0]
    full = []
    for number in range(41, 81):
        item = json.loads(json.dumps(mention))
        item["id"] = str(number)
        item["status"]["id"] = f"1174408216622332{number}"
        full.append(item)
    full.reverse()
    link = '<http://localhost:3000/api/v1/notifications?min_id=80>; rel="prev"'
    Channel.objects.filter(pk=channel.pk).update(cursor=json.dumps({"min_id": "40"}))
    channel.refresh_from_db()
    instance.on(
        "GET",
        NOTIFICATIONS,
        lambda r: httpx.Response(200, json=full, headers={"Link": link}),
        lambda r: httpx.Response(200, json=[]),
    )
    poll_channel(channel)
    channel.refresh_from_db()
    asked = [r.url.params["min_id"] for r in instance.calls("GET", NOTIFICATIONS)]
    assert (asked, len(inbound(channel)), json.loads(channel.cursor)["min_id"]) == (
        ["40", "80"],
        40,
        "80",
    )


def test_the_same_notifications_twice_give_one_message_each(
    channel: Channel, instance: FakeInstance
) -> None:
    instance.on("GET", NOTIFICATIONS, answer("notifications_stream_mentions.json"))
    first = poll_channel(channel)
    Channel.objects.filter(pk=channel.pk).update(cursor="")
    channel.refresh_from_db()
    second = poll_channel(channel)
    assert (first, second, len(inbound(channel))) == (2, 0, 2)


def test_a_polled_page_replays_to_the_same_items(channel: Channel, instance: FakeInstance) -> None:
    instance.on("GET", NOTIFICATIONS, answer("notifications_stream_mentions.json"))
    connector = MastodonConnector(channel, PlatformHttp())
    page = connector.poll(None)
    replayed = connector.parse(RawEventData(body=page.raw, source="poll"))
    assert replayed == page.items and len(replayed) == 2


# --- limits, revoked token, egress ----------------------------------------------------------


def test_rate_limit_headers_are_kept_as_the_channels_window(
    channel: Channel, instance: FakeInstance
) -> None:
    reset = (timezone.now() + timedelta(minutes=3)).isoformat()
    instance.on(
        "GET",
        NOTIFICATIONS,
        answer(
            "notifications_mention.json",
            headers={"X-RateLimit-Remaining": "120", "X-RateLimit-Reset": reset},
        ),
    )
    poll_channel(channel)
    [standing] = quota.standings(channel)
    assert (standing.name, standing.used, standing.limit) == (API_WINDOW.name, 180, 300)


def test_a_spent_window_is_not_called_until_its_reset(
    channel: Channel, instance: FakeInstance
) -> None:
    reset = timezone.now() + timedelta(minutes=4)
    instance.on(
        "GET",
        NOTIFICATIONS,
        answer(
            "notifications_mention.json",
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset.isoformat()},
        ),
    )
    poll_channel(channel)
    Channel.objects.filter(pk=channel.pk).update(next_poll_at=None)
    channel.refresh_from_db()
    poll_channel(channel)
    channel.refresh_from_db()
    assert (len(instance.calls("GET", NOTIFICATIONS)), channel.paused_until) == (1, reset)


def test_429_pauses_the_channel_until_the_reset_mastodon_names(
    channel: Channel, instance: FakeInstance
) -> None:
    reset = datetime(2030, 1, 1, 12, 5, tzinfo=UTC)
    instance.on(
        "GET",
        NOTIFICATIONS,
        lambda r: httpx.Response(
            429,
            json={"error": "Too many requests"},
            headers={
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": "2030-01-01T12:05:00.000Z",
            },
        ),
    )
    poll_channel(channel)
    channel.refresh_from_db()
    assert (channel.paused_until, channel.health) == (reset, Health.OK)


def test_a_revoked_token_puts_the_channel_in_need_of_reconnection(
    channel: Channel, instance: FakeInstance
) -> None:
    instance.on("GET", NOTIFICATIONS, answer("error_invalid_token.json"))
    poll_channel(channel)
    channel.refresh_from_db()
    assert (channel.health, "access token is invalid" in channel.health_detail) == (
        Health.NEEDS_REAUTH,
        True,
    )


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:3000", "http://10.0.0.7", "http://169.254.169.254", "http://[::1]:3000"],
)
def test_an_instance_on_an_internal_address_is_refused(workspace: Workspace, url: str) -> None:
    # No test transport: the real client and its egress guard.
    channel = mastodon_channel(workspace, api_base=url)
    poll_channel(channel)
    channel.refresh_from_db()
    assert (channel.health, "refused" in channel.health_detail) == (Health.DEGRADED, True)


def test_without_a_fake_instance_nothing_reaches_the_network(workspace: Workspace) -> None:
    channel = mastodon_channel(workspace, api_base="https://mastodon.social")
    poll_channel(channel)
    channel.refresh_from_db()
    assert (channel.health, inbound(channel)) == (Health.DEGRADED, [])
