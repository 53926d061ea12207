"""Every X action through the real outbox sender, with X faked at the HTTP boundary."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.utils import timezone

from cercle.connectors.base import ActionKind, OAuthTokens, RawEventData
from cercle.connectors.choices import Health
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel, QuotaWindow
from cercle.connectors.x.connector import XConnector
from cercle.inbox.actions import do_moderate_message, do_receive, do_reply
from cercle.inbox.choices import OutboxState
from cercle.inbox.models import Conversation, Message, Outbox
from cercle.pipeline.actions import do_store_credentials
from cercle.pipeline.sender import send_due
from cercle.workspaces.models import Member

from .conftest import BRAND_ID, CAMILLE_ID, POST_ID, FakeX, answer, fixture_bytes, fixture_json

pytestmark = pytest.mark.django_db

TWEETS = "/2/tweets"
REPLY_ID = "1859000000000000021"  # Camille's polled reply under the brand's post
REPLY_TEXT = "Bonjour Camille, oui nous livrons en Belgique & en Suisse 🇧🇪"


def receive(channel: Channel, body: bytes) -> list[Message]:
    items = XConnector(channel, PlatformHttp()).parse(RawEventData(body=body))
    return do_receive(channel, items).created


def polled(**page: object) -> bytes:
    return json.dumps({"x_poll": {"mentions": None, "dm_events": None, **page}}).encode()


def reply_conversation(channel: Channel) -> Conversation:
    receive(channel, polled(mentions=fixture_json("v2_mentions_expanded.json")))
    return Message.objects.get(channel=channel, external_id=REPLY_ID).conversation


def later(monkeypatch: pytest.MonkeyPatch, until: datetime) -> None:
    """Time passes: the sender sees `until` as now."""
    monkeypatch.setattr(timezone, "now", lambda: until)


def body(request: httpx.Request) -> object:
    return json.loads(request.content)


# --- each action: request shape, auth, result ------------------------------------------------


def test_reply_posts_to_tweets_with_in_reply_to(
    x_channel: Channel, owner: Member, fake_x: FakeX
) -> None:
    fake_x.on("POST", TWEETS, answer("recorded_create_tweet.json", 201))
    do_reply(owner, reply_conversation(x_channel), REPLY_TEXT)
    send_due()
    [request] = fake_x.calls("POST", TWEETS)
    assert (request.headers["authorization"], body(request)) == (
        "Bearer access-1",
        {"text": REPLY_TEXT, "reply": {"in_reply_to_tweet_id": REPLY_ID}},
    )


def test_reply_records_the_new_post_id(x_channel: Channel, owner: Member, fake_x: FakeX) -> None:
    fake_x.on("POST", TWEETS, answer("recorded_create_tweet.json", 201))
    message = do_reply(owner, reply_conversation(x_channel), REPLY_TEXT)
    send_due()
    message.refresh_from_db()
    assert (message.delivery, message.external_id, message.url) == (
        "sent",
        "1456012973835788293",
        "https://x.com/i/web/status/1456012973835788293",
    )


def test_private_reply_writes_to_the_author(
    x_channel: Channel, owner: Member, fake_x: FakeX
) -> None:
    path = f"/2/dm_conversations/with/{CAMILLE_ID}/messages"
    fake_x.on("POST", path, answer("recorded_dm_send_participant.json", 201))
    message = do_reply(
        owner,
        reply_conversation(x_channel),
        "Pouvez-vous nous donner votre n° de commande ?",
        private=True,
    )
    send_due()
    message.refresh_from_db()
    [request] = fake_x.calls("POST", path)
    assert (body(request), message.external_id) == (
        {"text": "Pouvez-vous nous donner votre n° de commande ?"},
        "1585800613253812228",
    )


def test_dm_in_a_private_thread_goes_to_its_conversation(
    x_channel: Channel, owner: Member, fake_x: FakeX
) -> None:
    thread = f"{CAMILLE_ID}-{BRAND_ID}"
    path = f"/2/dm_conversations/{thread}/messages"
    fake_x.on("POST", path, answer("recorded_dm_send_participant.json", 201))
    [dm] = receive(x_channel, fixture_bytes("aaa_direct_message.json"))
    do_reply(owner, dm.conversation, "Je regarde tout de suite.")
    send_due()
    assert [body(r) for r in fake_x.calls("POST", path)] == [{"text": "Je regarde tout de suite."}]


@pytest.mark.parametrize(
    ("kind", "fixture", "hidden"),
    [
        (ActionKind.HIDE, "recorded_hide_reply.json", True),
        (ActionKind.UNHIDE, "recorded_unhide_reply.json", False),
    ],
)
def test_hide_and_unhide_put_hidden(
    x_channel: Channel, owner: Member, fake_x: FakeX, kind: ActionKind, fixture: str, hidden: bool
) -> None:
    path = f"/2/tweets/{REPLY_ID}/hidden"
    fake_x.on("PUT", path, answer(fixture))
    reply_conversation(x_channel)
    message = Message.objects.get(external_id=REPLY_ID)
    do_moderate_message(owner, message, kind)
    send_due()
    message.refresh_from_db()
    assert ([body(r) for r in fake_x.calls("PUT", path)], message.is_hidden) == (
        [{"hidden": hidden}],
        hidden,
    )


def test_delete_our_own_post(x_channel: Channel, owner: Member, fake_x: FakeX) -> None:
    [echo] = receive(x_channel, fixture_bytes("aaa_tweet_create_brand_reply.json"))
    path = f"/2/tweets/{echo.external_id}"
    fake_x.on("DELETE", path, answer("recorded_delete_tweet.json"))
    do_moderate_message(owner, echo, ActionKind.DELETE)
    send_due()
    echo.refresh_from_db()
    assert (len(fake_x.calls("DELETE", path)), echo.deleted_at is not None) == (1, True)


def test_delete_of_someone_elses_post_is_refused_without_a_call(
    x_channel: Channel, owner: Member, fake_x: FakeX
) -> None:
    reply_conversation(x_channel)
    outbox = do_moderate_message(
        owner, Message.objects.get(external_id=REPLY_ID), ActionKind.DELETE
    )
    send_due()
    outbox.refresh_from_db()
    assert (outbox.state, fake_x.requests) == (OutboxState.FAILED, [])


def test_ban_blocks_the_author(x_channel: Channel, owner: Member, fake_x: FakeX) -> None:
    path = f"/2/users/{BRAND_ID}/blocking"
    fake_x.on("POST", path, answer("recorded_block.json"))
    reply_conversation(x_channel)
    outbox = do_moderate_message(owner, Message.objects.get(external_id=REPLY_ID), ActionKind.BAN)
    send_due()
    outbox.refresh_from_db()
    assert ([body(r) for r in fake_x.calls("POST", path)], outbox.state) == (
        [{"target_user_id": CAMILLE_ID}],
        OutboxState.DONE,
    )


def test_like_likes_the_post(x_channel: Channel, owner: Member, fake_x: FakeX) -> None:
    path = f"/2/users/{BRAND_ID}/likes"
    fake_x.on("POST", path, answer("recorded_like.json"))
    reply_conversation(x_channel)
    do_moderate_message(owner, Message.objects.get(external_id=REPLY_ID), ActionKind.LIKE)
    send_due()
    assert [body(r) for r in fake_x.calls("POST", path)] == [{"tweet_id": REPLY_ID}]


# --- limits and errors ----------------------------------------------------------------------------


def test_429_pauses_the_channel_until_reset_then_sends(
    x_channel: Channel, owner: Member, fake_x: FakeX, monkeypatch: pytest.MonkeyPatch
) -> None:
    reset = int((timezone.now() + timedelta(minutes=12)).timestamp())
    limited = {
        "x-rate-limit-limit": "200",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(reset),
    }
    fake_x.on(
        "POST",
        TWEETS,
        answer("error_429.json", 429, limited),
        answer("recorded_create_tweet.json", 201),
    )
    message = do_reply(owner, reply_conversation(x_channel), REPLY_TEXT)
    send_due()
    x_channel.refresh_from_db()
    paused_until = x_channel.paused_until
    later(monkeypatch, datetime.fromtimestamp(reset + 1, tz=UTC))
    send_due()
    message.refresh_from_db()
    assert (
        paused_until and int(paused_until.timestamp()),
        len(fake_x.calls("POST", TWEETS)),
        message.delivery,
    ) == (
        reset,
        2,
        "sent",
    )


def test_spent_window_pauses_before_calling(
    x_channel: Channel, owner: Member, fake_x: FakeX
) -> None:
    reset = int((timezone.now() + timedelta(minutes=9)).timestamp())
    spent = {
        "x-rate-limit-limit": "200",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(reset),
    }
    fake_x.on("POST", TWEETS, answer("recorded_create_tweet.json", 201, spent))
    conversation = reply_conversation(x_channel)
    do_reply(owner, conversation, "Première réponse")
    send_due()
    do_reply(owner, conversation, "Deuxième réponse")
    send_due()
    x_channel.refresh_from_db()
    assert (
        len(fake_x.calls("POST", TWEETS)),
        x_channel.paused_until and int(x_channel.paused_until.timestamp()),
    ) == (
        1,
        reset,
    )


def test_rate_limit_headers_are_counted_as_quota(
    x_channel: Channel, owner: Member, fake_x: FakeX
) -> None:
    headers = {
        "x-rate-limit-limit": "200",
        "x-rate-limit-remaining": "199",
        "x-rate-limit-reset": "1795170000",
    }
    fake_x.on("POST", TWEETS, answer("recorded_create_tweet.json", 201, headers))
    do_reply(owner, reply_conversation(x_channel), REPLY_TEXT)
    send_due()
    window = QuotaWindow.objects.get(channel=x_channel)
    assert (window.used, window.limit, window.name) == (1, 200, "POST /2/tweets")


def test_revoked_token_waits_then_sends_once_after_reconnection(
    x_channel: Channel, owner: Member, fake_x: FakeX
) -> None:
    def by_token(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer access-2":
            return answer("recorded_create_tweet.json", 201)(request)
        return answer("error_401.json", 401)(request)

    fake_x.on("POST", TWEETS, by_token)
    message = do_reply(owner, reply_conversation(x_channel), REPLY_TEXT)
    send_due()
    x_channel.refresh_from_db()
    outbox = Outbox.objects.get(message=message)
    waiting = (x_channel.health, outbox.state)
    do_store_credentials(
        x_channel, OAuthTokens(credentials={**x_channel.credentials, "access_token": "access-2"})
    )
    send_due()
    send_due()
    accepted = [
        r for r in fake_x.calls("POST", TWEETS) if r.headers["authorization"] == "Bearer access-2"
    ]
    assert (waiting, len(accepted)) == ((Health.NEEDS_REAUTH, OutboxState.WAITING), 1)


def test_403_is_a_permission_problem(x_channel: Channel, owner: Member, fake_x: FakeX) -> None:
    fake_x.on("POST", TWEETS, answer("error_403_forbidden.json", 403))
    message = do_reply(owner, reply_conversation(x_channel), REPLY_TEXT)
    send_due()
    x_channel.refresh_from_db()
    message.refresh_from_db()
    assert (x_channel.health, message.delivery) == (Health.DEGRADED, "failed")


def test_400_is_rejected_for_good(x_channel: Channel, owner: Member, fake_x: FakeX) -> None:
    fake_x.on("POST", TWEETS, answer("error_400.json", 400))
    message = do_reply(owner, reply_conversation(x_channel), REPLY_TEXT)
    send_due()
    message.refresh_from_db()
    assert (message.delivery, "invalid" in message.delivery_error) == ("failed", True)


def test_5xx_is_retried_later(x_channel: Channel, owner: Member, fake_x: FakeX) -> None:
    fake_x.on("POST", TWEETS, lambda r: httpx.Response(503, json={"title": "Service Unavailable"}))
    message = do_reply(owner, reply_conversation(x_channel), REPLY_TEXT)
    send_due()
    assert Outbox.objects.get(message=message).state == OutboxState.QUEUED


# --- ambiguous results: never post twice -------------------------------------------------------


def timeout_after_recording(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("X took too long", request=request)


def test_ambiguous_timeout_gives_exactly_one_reply(
    x_channel: Channel, owner: Member, fake_x: FakeX, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_x.on("POST", TWEETS, timeout_after_recording, answer("recorded_create_tweet.json", 201))
    fake_x.on("GET", f"/2/users/{BRAND_ID}/tweets", answer("v2_user_tweets.json"))
    message = do_reply(owner, reply_conversation(x_channel), REPLY_TEXT)
    send_due()
    unknown = Outbox.objects.get(message=message).state
    later(monkeypatch, timezone.now() + timedelta(minutes=1))
    send_due()
    message.refresh_from_db()
    assert (unknown, len(fake_x.calls("POST", TWEETS)), message.external_id, message.delivery) == (
        OutboxState.UNKNOWN,
        1,
        "1859000000000000041",
        "sent",
    )


def test_reconcile_asks_for_our_recent_posts_with_references(
    x_channel: Channel, owner: Member, fake_x: FakeX, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_x.on("POST", TWEETS, timeout_after_recording)
    fake_x.on("GET", f"/2/users/{BRAND_ID}/tweets", answer("v2_user_tweets.json"))
    do_reply(owner, reply_conversation(x_channel), REPLY_TEXT)
    send_due()
    later(monkeypatch, timezone.now() + timedelta(minutes=1))
    send_due()
    [lookup] = fake_x.calls("GET", f"/2/users/{BRAND_ID}/tweets")
    assert "referenced_tweets" in lookup.url.params["tweet.fields"]


def test_reply_not_found_after_timeout_is_posted_again(
    x_channel: Channel, owner: Member, fake_x: FakeX, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_x.on("POST", TWEETS, timeout_after_recording, answer("recorded_create_tweet.json", 201))
    fake_x.on(
        "GET",
        f"/2/users/{BRAND_ID}/tweets",
        lambda r: httpx.Response(200, json={"meta": {"result_count": 0}}),
    )
    message = do_reply(owner, reply_conversation(x_channel), "Une autre réponse")
    send_due()
    later(monkeypatch, timezone.now() + timedelta(minutes=1))
    send_due()
    message.refresh_from_db()
    assert (len(fake_x.calls("POST", TWEETS)), message.external_id) == (2, "1456012973835788293")


def test_duplicate_content_after_ambiguity_is_taken_as_done(
    x_channel: Channel, owner: Member, fake_x: FakeX
) -> None:
    fake_x.on("POST", TWEETS, answer("error_403_duplicate.json", 403))
    fake_x.on("GET", f"/2/users/{BRAND_ID}/tweets", answer("v2_user_tweets.json"))
    message = do_reply(owner, reply_conversation(x_channel), REPLY_TEXT)
    send_due()
    message.refresh_from_db()
    x_channel.refresh_from_db()
    assert (message.delivery, message.external_id, x_channel.health) == (
        "sent",
        "1859000000000000041",
        Health.OK,
    )


def test_duplicate_content_of_another_reply_fails(
    x_channel: Channel, owner: Member, fake_x: FakeX
) -> None:
    fake_x.on("POST", TWEETS, answer("error_403_duplicate.json", 403))
    fake_x.on("GET", f"/2/users/{BRAND_ID}/tweets", answer("v2_user_tweets.json"))
    message = do_reply(owner, reply_conversation(x_channel), "Merci !")
    send_due()
    message.refresh_from_db()
    assert (message.delivery, "duplicate" in message.delivery_error) == ("failed", True)


def test_ambiguous_dm_is_found_in_the_conversation(
    x_channel: Channel, owner: Member, fake_x: FakeX, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread = f"{CAMILLE_ID}-{BRAND_ID}"
    fake_x.on("POST", f"/2/dm_conversations/{thread}/messages", timeout_after_recording)
    fake_x.on(
        "GET", f"/2/dm_conversations/{thread}/dm_events", answer("v2_dm_conversation_events.json")
    )
    [dm] = receive(x_channel, fixture_bytes("aaa_direct_message.json"))
    message = do_reply(owner, dm.conversation, "Bonjour Camille, je regarde tout de suite.")
    send_due()
    later(monkeypatch, timezone.now() + timedelta(minutes=1))
    send_due()
    message.refresh_from_db()
    assert (
        len(fake_x.calls("POST", f"/2/dm_conversations/{thread}/messages")),
        message.external_id,
    ) == (
        1,
        "1859000000000000052",
    )


def test_post_of_a_reply_names_the_brand_post_as_conversation(x_channel: Channel) -> None:
    conversation = reply_conversation(x_channel)
    assert conversation.post is not None and conversation.post.external_id == POST_ID


def test_ambiguous_delete_is_done_when_the_post_is_gone(
    x_channel: Channel, owner: Member, fake_x: FakeX, monkeypatch: pytest.MonkeyPatch
) -> None:
    [echo] = receive(x_channel, fixture_bytes("aaa_tweet_create_brand_reply.json"))
    path = f"/2/tweets/{echo.external_id}"
    fake_x.on("DELETE", path, timeout_after_recording)
    fake_x.on("GET", path, answer("v2_tweet_not_found.json"))
    outbox = do_moderate_message(owner, echo, ActionKind.DELETE)
    send_due()
    later(monkeypatch, timezone.now() + timedelta(minutes=1))
    send_due()
    outbox.refresh_from_db()
    assert (outbox.state, len(fake_x.calls("DELETE", path))) == (OutboxState.DONE, 1)
