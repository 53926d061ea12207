"""Every outbound action through the real sender, with Facebook faked at the HTTP boundary."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs

import httpx
import pytest
from django.utils import timezone

from cercle.connectors.base import ActionKind, OAuthTokens, RawEventData
from cercle.connectors.choices import Health
from cercle.connectors.facebook.client import appsecret_proof
from cercle.connectors.models import Channel, QuotaWindow
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_moderate_message, do_receive, do_reply
from cercle.inbox.choices import OutboxState
from cercle.inbox.models import Conversation, Message, Outbox
from cercle.pipeline.actions import do_store_credentials
from cercle.pipeline.sender import send_due

from .conftest import APP_SECRET, PAGE_ID, PAGE_TOKEN, fixture_bytes, fixture_json, graph_error

COMMENT_ID = "901097836652708_903438993099999"
AUTHOR_ID = "24242424242424"
PSID = "6543210987654321"
CREATED_ID = fixture_json("graph_comment_created.json")["id"]


def receive(channel, fixture):
    connector = connector_for(channel)
    do_receive(channel, connector.parse(RawEventData(body=fixture_bytes(fixture))))
    return Conversation.objects.filter(channel=channel).latest("id")


@pytest.fixture
def comment_thread(fb_channel):
    return receive(fb_channel, "webhook_feed_reply_add.json")


@pytest.fixture
def messenger_thread(fb_channel):
    return receive(fb_channel, "webhook_messaging_text.json")


def later(monkeypatch, delta=timedelta(hours=1)):
    """Move the clock forward (backoffs, pauses) without sleeping."""
    moved = timezone.now() + delta
    monkeypatch.setattr(timezone, "now", lambda: moved)


def form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


def inbound(channel):
    return Message.objects.get(channel=channel, external_id=COMMENT_ID)


# --- each action ------------------------------------------------------------


def test_reply_posts_the_message_under_the_comment_with_the_page_token(
    graph, owner, comment_thread
):
    graph.on("POST", f"/{COMMENT_ID}/comments", fixture_json("graph_comment_created.json"))
    reply = do_reply(owner, comment_thread, "Merci, nous regardons 🙏")
    send_due()
    (request,) = graph.sent("POST", f"/{COMMENT_ID}/comments")
    assert (
        request.headers["authorization"],
        request.url.params["appsecret_proof"],
        form(request)["message"],
    ) == (
        f"Bearer {PAGE_TOKEN}",
        appsecret_proof(PAGE_TOKEN, APP_SECRET),
        ["Merci, nous regardons 🙏"],
    )
    reply.refresh_from_db()
    assert (reply.delivery, reply.external_id) == ("sent", CREATED_ID)


def test_token_never_travels_in_the_url(graph, owner, comment_thread):
    graph.on("POST", f"/{COMMENT_ID}/comments", fixture_json("graph_comment_created.json"))
    do_reply(owner, comment_thread, "Bonjour")
    send_due()
    assert PAGE_TOKEN not in str(graph.requests[0].url)


def test_private_reply_messages_the_commenter_through_messenger(graph, owner, comment_thread):
    graph.on("POST", f"/{PAGE_ID}/messages", fixture_json("graph_send_api.json"))
    reply = do_reply(owner, comment_thread, "Je vous écris en privé.", private=True)
    send_due()
    (request,) = graph.sent("POST", f"/{PAGE_ID}/messages")
    assert json.loads(request.content) == {
        "recipient": {"comment_id": COMMENT_ID},
        "message": {"text": "Je vous écris en privé."},
    }
    reply.refresh_from_db()
    assert reply.external_id == fixture_json("graph_send_api.json")["message_id"]


def test_messenger_reply_is_a_response_to_the_person(graph, owner, messenger_thread):
    graph.on("POST", f"/{PAGE_ID}/messages", fixture_json("graph_send_api.json"))
    do_reply(owner, messenger_thread, "Elle part demain.")
    send_due()
    (request,) = graph.sent("POST", f"/{PAGE_ID}/messages")
    assert json.loads(request.content) == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Elle part demain."},
    }


def test_messenger_reply_after_the_24_hour_window_fails_without_degrading_the_page(
    graph, owner, fb_channel, messenger_thread
):
    error = {
        "error": {
            "message": "(#10) This message is sent outside of allowed window.",
            "type": "OAuthException",
            "code": 10,
            "error_subcode": 2018278,
        }
    }
    graph.on("POST", f"/{PAGE_ID}/messages", httpx.Response(400, json=error))
    do_reply(owner, messenger_thread, "Toujours là ?")
    send_due()
    fb_channel.refresh_from_db()
    assert (Outbox.objects.get().state, fb_channel.health) == (OutboxState.FAILED, Health.OK)


def test_messenger_text_over_2000_characters_is_refused(graph, owner, messenger_thread):
    do_reply(owner, messenger_thread, "x" * 2001)
    send_due()
    assert (Outbox.objects.get().state, graph.requests) == (OutboxState.FAILED, [])


def test_hide_checks_can_hide_then_hides(graph, owner, fb_channel, comment_thread):
    graph.on("GET", f"/{COMMENT_ID}", {"can_hide": True, "is_hidden": False, "id": COMMENT_ID})
    graph.on("POST", f"/{COMMENT_ID}", fixture_json("graph_success.json"))
    do_moderate_message(owner, inbound(fb_channel), ActionKind.HIDE)
    send_due()
    (request,) = graph.sent("POST", f"/{COMMENT_ID}")
    assert (form(request)["is_hidden"], inbound(fb_channel).is_hidden) == (["true"], True)


def test_unhide_sends_is_hidden_false(graph, owner, fb_channel, comment_thread):
    graph.on("GET", f"/{COMMENT_ID}", {"can_hide": True, "is_hidden": True, "id": COMMENT_ID})
    graph.on("POST", f"/{COMMENT_ID}", fixture_json("graph_success.json"))
    do_moderate_message(owner, inbound(fb_channel), ActionKind.UNHIDE)
    send_due()
    assert form(graph.sent("POST", f"/{COMMENT_ID}")[0])["is_hidden"] == ["false"]


def test_comment_that_cannot_be_hidden_is_rejected_without_trying(
    graph, owner, fb_channel, comment_thread
):
    graph.on("GET", f"/{COMMENT_ID}", {"can_hide": False, "is_hidden": False, "id": COMMENT_ID})
    outbox = do_moderate_message(owner, inbound(fb_channel), ActionKind.HIDE)
    send_due()
    outbox.refresh_from_db()
    assert (outbox.state, graph.sent("POST", f"/{COMMENT_ID}")) == (OutboxState.FAILED, [])


def test_delete_sends_delete_and_marks_the_message_deleted(
    graph, owner, fb_channel, comment_thread
):
    graph.on("DELETE", f"/{COMMENT_ID}", fixture_json("graph_success.json"))
    do_moderate_message(owner, inbound(fb_channel), ActionKind.DELETE)
    send_due()
    assert (
        len(graph.sent("DELETE", f"/{COMMENT_ID}")),
        inbound(fb_channel).deleted_at is not None,
    ) == (1, True)


def test_ban_blocks_the_author_by_app_scoped_id(graph, owner, fb_channel, comment_thread):
    graph.on("POST", f"/{PAGE_ID}/blocked", {AUTHOR_ID: True})
    outbox = do_moderate_message(owner, inbound(fb_channel), ActionKind.BAN)
    send_due()
    (request,) = graph.sent("POST", f"/{PAGE_ID}/blocked")
    outbox.refresh_from_db()
    assert (json.loads(request.content), outbox.state) == ({"asid": [AUTHOR_ID]}, OutboxState.DONE)


def test_ban_of_a_messenger_author_uses_the_psid(graph, owner, fb_channel, messenger_thread):
    graph.on("POST", f"/{PAGE_ID}/blocked", {PSID: True})
    do_moderate_message(owner, messenger_thread.messages.get(), ActionKind.BAN)
    send_due()
    assert json.loads(graph.sent("POST", f"/{PAGE_ID}/blocked")[0].content) == {"psid": [PSID]}


def test_like_posts_to_likes(graph, owner, fb_channel, comment_thread):
    graph.on("POST", f"/{COMMENT_ID}/likes", fixture_json("graph_success.json"))
    outbox = do_moderate_message(owner, inbound(fb_channel), ActionKind.LIKE)
    send_due()
    outbox.refresh_from_db()
    assert (len(graph.sent("POST", f"/{COMMENT_ID}/likes")), outbox.state) == (1, OutboxState.DONE)


def test_messenger_messages_cannot_be_liked(graph, owner, messenger_thread):
    outbox = do_moderate_message(owner, messenger_thread.messages.get(), ActionKind.LIKE)
    send_due()
    outbox.refresh_from_db()
    assert (outbox.state, graph.requests) == (OutboxState.FAILED, [])


# --- limits and health ---------------------------------------------------------


def test_rate_limit_pauses_the_channel_until_the_estimate_then_sends(
    graph, owner, fb_channel, comment_thread, monkeypatch
):
    buc = json.dumps(fixture_json("header_business_use_case_usage.json"))
    graph.on(
        "POST",
        f"/{COMMENT_ID}/comments",
        [
            graph_error("graph_error_rate_limit.json", 400, {"X-Business-Use-Case-Usage": buc}),
            httpx.Response(200, json=fixture_json("graph_comment_created.json")),
        ],
    )
    reply = do_reply(owner, comment_thread, "Bonjour")
    before = timezone.now()
    send_due()
    fb_channel.refresh_from_db()
    outbox = Outbox.objects.get()
    # The BUC header says 10 minutes to regain access.
    assert (
        outbox.state,
        before + timedelta(minutes=9)
        < fb_channel.paused_until
        <= timezone.now() + timedelta(minutes=10),
    ) == (
        OutboxState.QUEUED,
        True,
    )
    assert send_due() == 0  # still paused
    later(monkeypatch, timedelta(minutes=11))
    send_due()
    reply.refresh_from_db()
    assert (reply.delivery, len(graph.sent("POST", f"/{COMMENT_ID}/comments"))) == ("sent", 2)


def test_http_429_without_body_is_a_rate_limit(graph, owner, fb_channel, comment_thread):
    graph.on("POST", f"/{COMMENT_ID}/comments", httpx.Response(429, headers={"Retry-After": "120"}))
    do_reply(owner, comment_thread, "Bonjour")
    send_due()
    fb_channel.refresh_from_db()
    assert fb_channel.paused_until > timezone.now() + timedelta(seconds=100)


def test_usage_headers_are_counted_in_the_channel_quota(graph, owner, fb_channel, comment_thread):
    usage = {"call_count": 28, "total_time": 25, "total_cputime": 40}
    graph.on(
        "POST",
        f"/{COMMENT_ID}/comments",
        httpx.Response(
            200,
            json=fixture_json("graph_comment_created.json"),
            headers={"X-App-Usage": json.dumps(usage)},
        ),
    )
    do_reply(owner, comment_thread, "Bonjour")
    send_due()
    window = QuotaWindow.objects.get(channel=fb_channel, name="graph_usage")
    assert (window.used, window.limit) == (40, 100)


def test_revoked_token_waits_for_reconnection_then_sends_once(
    graph, owner, fb_channel, comment_thread
):
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == f"Bearer {PAGE_TOKEN}":
            return graph_error("graph_error_token.json", 400)
        return httpx.Response(200, json=fixture_json("graph_comment_created.json"))

    graph.on("POST", f"/{COMMENT_ID}/comments", answer)
    reply = do_reply(owner, comment_thread, "Bonjour")
    send_due()
    fb_channel.refresh_from_db()
    reply.refresh_from_db()
    assert (fb_channel.health, Outbox.objects.get().state, reply.delivery) == (
        Health.NEEDS_REAUTH,
        OutboxState.WAITING,
        "waiting",
    )
    assert send_due() == 0  # nothing is sent while the channel needs re-auth
    credentials = {**fb_channel.credentials, "page_access_token": "EAANewToken"}
    do_store_credentials(fb_channel, OAuthTokens(credentials=credentials))
    send_due()
    send_due()
    reply.refresh_from_db()
    accepted = [
        r
        for r in graph.sent("POST", f"/{COMMENT_ID}/comments")
        if r.headers["authorization"] == "Bearer EAANewToken"
    ]
    assert (len(accepted), reply.delivery, Channel.objects.get().health) == (1, "sent", Health.OK)


def test_ambiguous_timeout_on_a_reply_gives_exactly_one_reply(
    graph, owner, fb_channel, comment_thread, monkeypatch
):
    posted: list[str] = []

    def create(request: httpx.Request) -> httpx.Response:
        # Facebook creates the comment, then the answer is lost on the way back.
        posted.append(form(request)["message"][0])
        raise httpx.ReadTimeout("read timed out", request=request)

    def list_replies(request: httpx.Request) -> httpx.Response:
        data = [
            {"id": "other_1", "message": posted[0], "from": {"id": AUTHOR_ID, "name": "Camille"}},
            {
                "id": CREATED_ID,
                "message": posted[0],
                "from": {"id": PAGE_ID, "name": "Maison Lumen"},
            },
        ]
        return httpx.Response(200, json={"data": data})

    graph.on("POST", f"/{COMMENT_ID}/comments", create)
    graph.on("GET", f"/{COMMENT_ID}/comments", list_replies)
    reply = do_reply(owner, comment_thread, "Nous revenons vers vous.")
    send_due()
    assert Outbox.objects.get().state == OutboxState.UNKNOWN
    later(monkeypatch)
    send_due()
    reply.refresh_from_db()
    assert (len(posted), reply.external_id, reply.delivery) == (1, CREATED_ID, "sent")


def test_ambiguous_timeout_when_nothing_was_created_posts_again(
    graph, owner, fb_channel, comment_thread, monkeypatch
):
    attempts = []

    def create(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) == 1:
            raise httpx.ReadTimeout("read timed out", request=request)
        return httpx.Response(200, json=fixture_json("graph_comment_created.json"))

    graph.on("POST", f"/{COMMENT_ID}/comments", create)
    graph.on("GET", f"/{COMMENT_ID}/comments", {"data": []})
    reply = do_reply(owner, comment_thread, "Nous revenons vers vous.")
    send_due()
    later(monkeypatch)
    send_due()
    reply.refresh_from_db()
    assert (len(attempts), reply.delivery) == (2, "sent")


@pytest.mark.parametrize(
    ("fixture", "state", "health"),
    [
        ("graph_error_permission.json", OutboxState.FAILED, Health.DEGRADED),
        ("graph_error_invalid.json", OutboxState.FAILED, Health.OK),
        ("graph_error_transient.json", OutboxState.QUEUED, Health.OK),
    ],
)
def test_graph_error_codes_decide_retry_and_health(
    graph, owner, fb_channel, comment_thread, fixture, state, health
):
    graph.on(
        "POST",
        f"/{COMMENT_ID}/comments",
        graph_error(fixture, 400 if fixture != "graph_error_transient.json" else 500),
    )
    do_reply(owner, comment_thread, "Bonjour")
    send_due()
    fb_channel.refresh_from_db()
    assert (Outbox.objects.get().state, fb_channel.health) == (state, health)
