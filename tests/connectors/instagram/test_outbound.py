"""Every outbound action through the real sender, with the Graph API faked at the HTTP boundary."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from cercle.connectors.base import ActionKind, OAuthTokens, OutboundAction, RateLimited
from cercle.connectors.choices import Health
from cercle.connectors.instagram.client import appsecret_proof
from cercle.connectors.models import Channel, QuotaWindow
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_moderate_message, do_reply
from cercle.inbox.choices import OutboxState
from cercle.inbox.models import Message, Outbox
from cercle.pipeline.actions import do_pause_channel, do_store_credentials
from cercle.pipeline.sender import send_due
from tests.connectors.instagram.conftest import (
    APP_SECRET,
    IG,
    TOKEN,
    fixture_json,
    form,
    receive_fixture,
)

COMMENT = "17865799348089039"
REPLY_ID = "17873440459141021"
USER = "1244567893456789"


@pytest.fixture
def comment(ig_channel) -> Message:
    [message] = receive_fixture(ig_channel, "webhook_comment.json")
    return message


@pytest.fixture
def dm(ig_channel) -> Message:
    [message] = receive_fixture(ig_channel, "webhook_message.json")
    return message


def release_due() -> None:
    """The reset or backoff time has passed (instead of sleeping)."""
    past = timezone.now() - timedelta(seconds=1)
    Outbox.objects.update(next_attempt_at=past)
    for channel in Channel.objects.all():
        do_pause_channel(channel, past)


# --- each action: right endpoint, auth and body -----------------------------------


def test_reply_posts_message_to_comment_replies(graph, owner, comment):
    graph.on("POST", f"/{COMMENT}/replies", fixture_json("api_comment_reply.json"))
    message = do_reply(owner, comment.conversation, "Nous regardons cela tout de suite !")
    send_due()
    [request] = graph.sent("POST", f"/{COMMENT}/replies")
    assert form(request) == {"message": "Nous regardons cela tout de suite !"}
    message.refresh_from_db()
    assert (message.delivery, message.external_id) == ("sent", REPLY_ID)


def test_requests_carry_bearer_token_and_appsecret_proof(graph, owner, comment):
    graph.on("POST", f"/{COMMENT}/replies", fixture_json("api_comment_reply.json"))
    do_reply(owner, comment.conversation, "Merci !")
    send_due()
    [request] = graph.requests
    assert (request.headers["authorization"], request.url.params["appsecret_proof"]) == (
        f"Bearer {TOKEN}",
        appsecret_proof(TOKEN, APP_SECRET),
    )


def test_token_never_travels_in_the_url(graph, owner, comment):
    graph.on("POST", f"/{COMMENT}/replies", fixture_json("api_comment_reply.json"))
    do_reply(owner, comment.conversation, "Merci !")
    send_due()
    assert TOKEN not in str(graph.requests[0].url)


def test_private_reply_messages_the_commenter(graph, owner, comment):
    graph.on("POST", f"/{IG}/messages", fixture_json("api_private_reply.json"))
    message = do_reply(owner, comment.conversation, "Je vous écris en privé.", private=True)
    send_due()
    [request] = graph.sent("POST", f"/{IG}/messages")
    assert json.loads(request.content) == {
        "recipient": {"comment_id": COMMENT},
        "message": {"text": "Je vous écris en privé."},
    }
    message.refresh_from_db()
    assert message.external_id == "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA5"


def test_dm_answer_goes_to_the_thread(graph, owner, dm):
    graph.on("POST", f"/{IG}/messages", fixture_json("api_private_reply.json"))
    do_reply(owner, dm.conversation, "Il arrive demain.")
    send_due()
    [request] = graph.sent("POST", f"/{IG}/messages")
    assert json.loads(request.content)["recipient"] == {"id": USER}


@pytest.mark.parametrize(
    ("kind", "value"), [(ActionKind.HIDE, "true"), (ActionKind.UNHIDE, "false")]
)
def test_hide_and_unhide_post_to_the_comment(graph, owner, comment, kind, value):
    graph.on("POST", f"/{COMMENT}", fixture_json("api_success.json"))
    do_moderate_message(owner, comment, kind)
    send_due()
    [request] = graph.sent("POST", f"/{COMMENT}")
    assert form(request) == {"hide": value}


def test_hide_marks_our_copy_hidden(graph, owner, comment):
    graph.on("POST", f"/{COMMENT}", fixture_json("api_success.json"))
    do_moderate_message(owner, comment, ActionKind.HIDE)
    send_due()
    comment.refresh_from_db()
    assert comment.is_hidden is True


def test_delete_sends_delete(graph, owner, comment):
    graph.on("DELETE", f"/{COMMENT}", fixture_json("api_success.json"))
    do_moderate_message(owner, comment, ActionKind.DELETE)
    send_due()
    comment.refresh_from_db()
    assert (len(graph.sent("DELETE", f"/{COMMENT}")), comment.deleted_at is not None) == (1, True)


def test_ban_and_like_are_not_offered(ig_channel):
    caps = connector_for(ig_channel).capabilities
    assert {c.value for c in caps} & {"ban", "like"} == set()


# --- errors and limits ----------------------------------------------------------------


def test_429_with_reset_pauses_the_channel_then_sends(graph, owner, comment):
    calls = {"n": 0}

    def replies(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            usage = {
                IG: [
                    {
                        "type": "instagram",
                        "call_count": 100,
                        "total_time": 20,
                        "total_cputime": 10,
                        "estimated_time_to_regain_access": 30,
                    }
                ]
            }
            return httpx.Response(
                429,
                json=fixture_json("api_error_rate_limit.json"),
                headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
            )
        return httpx.Response(200, json=fixture_json("api_comment_reply.json"))

    graph.on("POST", f"/{COMMENT}/replies", replies)
    message = do_reply(owner, comment.conversation, "Merci !")
    send_due()
    channel = Channel.objects.get(pk=comment.channel_id)
    wait = channel.paused_until - timezone.now()
    assert timedelta(minutes=29) < wait <= timedelta(minutes=30)
    assert Outbox.objects.get().state == OutboxState.QUEUED
    send_due()  # still paused: nothing is attempted
    assert calls["n"] == 1
    release_due()
    send_due()
    message.refresh_from_db()
    assert (calls["n"], message.delivery) == (2, "sent")


def test_graph_code_4_is_rate_limited(graph, owner, comment):
    graph.on("POST", f"/{COMMENT}/replies", fixture_json("api_error_rate_limit.json"), status=400)
    do_reply(owner, comment.conversation, "Merci !")
    send_due()
    assert Channel.objects.get(pk=comment.channel_id).paused_until > timezone.now()


def test_revoked_token_waits_for_reconnection_then_sends_once(graph, owner, comment):
    def replies(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == f"Bearer {TOKEN}":
            return httpx.Response(400, json=fixture_json("api_error_token_expired.json"))
        return httpx.Response(200, json=fixture_json("api_comment_reply.json"))

    graph.on("POST", f"/{COMMENT}/replies", replies)
    message = do_reply(owner, comment.conversation, "Merci !")
    send_due()
    channel = Channel.objects.get(pk=comment.channel_id)
    message.refresh_from_db()
    assert (channel.health, Outbox.objects.get().state, message.delivery) == (
        Health.NEEDS_REAUTH,
        OutboxState.WAITING,
        "waiting",
    )
    send_due()  # nothing goes out while the channel needs re-auth
    do_store_credentials(
        channel,
        OAuthTokens(
            credentials={
                "app_id": "1234567890",
                "app_secret": APP_SECRET,
                "access_token": "EAAGnewtoken",
            }
        ),
    )
    send_due()
    send_due()
    message.refresh_from_db()
    assert (len(graph.sent("POST", f"/{COMMENT}/replies")), message.delivery) == (2, "sent")
    assert graph.requests[-1].headers["authorization"] == "Bearer EAAGnewtoken"


def test_ambiguous_timeout_gives_exactly_one_reply(graph, owner, comment):
    created: list[str] = []

    def post_reply(request: httpx.Request) -> httpx.Response:
        created.append(form(request)["message"])  # Instagram did create it…
        raise httpx.ReadTimeout("timed out", request=request)  # …but the answer was lost

    def list_replies(request: httpx.Request) -> httpx.Response:
        data = [
            {"id": REPLY_ID, "text": text, "from": {"id": IG, "username": "maisonlumen"}}
            for text in created
        ]
        return httpx.Response(200, json={"data": data})

    graph.on("POST", f"/{COMMENT}/replies", post_reply)
    graph.on("GET", f"/{COMMENT}", {"id": COMMENT})
    graph.on("GET", f"/{COMMENT}/replies", list_replies)
    message = do_reply(owner, comment.conversation, "Nous regardons cela tout de suite !")
    send_due()
    assert Outbox.objects.get().state == OutboxState.UNKNOWN
    release_due()
    send_due()
    message.refresh_from_db()
    assert (len(created), message.delivery, message.external_id) == (1, "sent", REPLY_ID)


def test_reconcile_finds_nothing_then_posts_again(graph, owner, comment):
    attempts = {"n": 0}

    def post_reply(request: httpx.Request) -> httpx.Response:
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise httpx.ReadTimeout("timed out", request=request)  # and it did not happen
        return httpx.Response(200, json=fixture_json("api_comment_reply.json"))

    graph.on("POST", f"/{COMMENT}/replies", post_reply)
    graph.on("GET", f"/{COMMENT}", {"id": COMMENT})
    graph.on("GET", f"/{COMMENT}/replies", {"data": []})
    message = do_reply(owner, comment.conversation, "Merci !")
    send_due()
    release_due()
    send_due()
    message.refresh_from_db()
    assert (attempts["n"], message.delivery) == (2, "sent")


def test_reconcile_of_reply_to_a_reply_looks_under_the_top_level_comment(graph, ig_channel):
    graph.on("GET", "/17881770991003328", {"id": "17881770991003328", "parent_id": COMMENT})
    graph.on("GET", f"/{COMMENT}/replies", fixture_json("api_comment_replies.json"))
    action = OutboundAction(
        kind=ActionKind.REPLY,
        idempotency_key="k",
        target_external_id="17881770991003328",
        text="Nous regardons cela tout de suite !",
    )
    assert connector_for(ig_channel).reconcile(action).platform_id == REPLY_ID


def test_reconcile_of_dm_matches_our_message_in_the_conversation(graph, ig_channel):
    graph.on("GET", f"/{IG}/conversations", fixture_json("api_conversations.json"))
    action = OutboundAction(
        kind=ActionKind.SEND_PRIVATE,
        idempotency_key="k",
        thread_ref=USER,
        text="Voici le suivi de votre colis.",
    )
    delivery = connector_for(ig_channel).reconcile(action)
    assert (delivery.platform_id, graph.requests[0].url.params["user_id"]) == (
        "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA5",
        USER,
    )


def test_reconcile_of_delete_sees_the_comment_gone(graph, ig_channel):
    graph.on("GET", f"/{COMMENT}", fixture_json("api_error_not_found.json"), status=400)
    action = OutboundAction(kind=ActionKind.DELETE, idempotency_key="k", target_external_id=COMMENT)
    assert connector_for(ig_channel).reconcile(action).platform_id == COMMENT


def test_reconcile_of_hide_reads_the_hidden_flag(graph, ig_channel):
    graph.on("GET", f"/{COMMENT}", {"id": COMMENT, "hidden": False})
    action = OutboundAction(kind=ActionKind.HIDE, idempotency_key="k", target_external_id=COMMENT)
    assert connector_for(ig_channel).reconcile(action) is None


def test_comment_write_limit_is_counted_and_enforced_before_the_call(graph, ig_channel):
    graph.on("POST", f"/{COMMENT}/replies", fixture_json("api_comment_reply.json"))
    ig_channel.config = {**ig_channel.config, "comment_writes_per_hour": 2}
    ig_channel.save(update_fields=["config"])
    connector = connector_for(ig_channel)
    action = OutboundAction(
        kind=ActionKind.REPLY, idempotency_key="k", target_external_id=COMMENT, text="Merci !"
    )
    connector.perform(action)
    connector.perform(action)
    with pytest.raises(RateLimited) as raised:
        connector.perform(action)
    window = QuotaWindow.objects.get(channel=ig_channel, name="comment_writes")
    assert (len(graph.requests), window.used, window.limit) == (2, 2, 2)
    assert raised.value.retry_at > timezone.now() + timedelta(minutes=59)


def test_published_comment_limit_is_sixty_per_hour(ig_channel):
    assert connector_for(ig_channel)._limit("comment_writes") == 60


def test_timeout_counts_against_the_limit(graph, ig_channel):
    def post_reply(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    graph.on("POST", f"/{COMMENT}/replies", post_reply)
    action = OutboundAction(
        kind=ActionKind.REPLY, idempotency_key="k", target_external_id=COMMENT, text="Merci !"
    )
    with pytest.raises(Exception):  # noqa: B017 - UnknownResult, re-raised for the sender
        connector_for(ig_channel).perform(action)
    assert QuotaWindow.objects.get(channel=ig_channel, name="comment_writes").used == 1


@pytest.mark.parametrize(
    ("fixture", "status", "state", "health"),
    [
        ("api_error_permission.json", 403, OutboxState.FAILED, Health.DEGRADED),
        ("api_error_outside_window.json", 400, OutboxState.FAILED, Health.OK),
        ("api_error_not_found.json", 400, OutboxState.FAILED, Health.OK),
        ("api_error_unknown.json", 500, OutboxState.QUEUED, Health.OK),
    ],
)
def test_error_codes_decide_retry_and_health(graph, owner, comment, fixture, status, state, health):
    graph.on("POST", f"/{COMMENT}/replies", fixture_json(fixture), status=status)
    do_reply(owner, comment.conversation, "Merci !")
    send_due()
    assert (Outbox.objects.get().state, Channel.objects.get(pk=comment.channel_id).health) == (
        state,
        health,
    )


def test_too_long_dm_is_rejected_without_a_call(graph, owner, dm):
    do_reply(owner, dm.conversation, "é" * 600)  # 1200 bytes of UTF-8
    send_due()
    assert (Outbox.objects.get().state, graph.requests) == (OutboxState.FAILED, [])


# --- mentions: another account's media ---------------------------------------------------

MENTION = "mention:17918195224117852:17894227972186120"


@pytest.fixture
def mention(ig_channel) -> Message:
    [message] = receive_fixture(ig_channel, "webhook_mention_comment.json")
    return message


def test_reply_to_a_mention_goes_through_the_mentions_edge(graph, owner, mention):
    graph.on("POST", f"/{IG}/mentions", fixture_json("api_mention_reply.json"))
    message = do_reply(owner, mention.conversation, "Merci pour la mention !")
    send_due()
    [request] = graph.sent("POST", f"/{IG}/mentions")
    message.refresh_from_db()
    assert (form(request), message.external_id) == (
        {
            "media_id": "17918195224117852",
            "comment_id": "17894227972186120",
            "message": "Merci pour la mention !",
        },
        "17911223344556677",
    )


def test_hiding_a_mention_is_refused_without_a_call(graph, owner, mention):
    do_moderate_message(owner, mention, ActionKind.HIDE)
    send_due()
    assert (Outbox.objects.get().state, graph.requests) == (OutboxState.FAILED, [])


def test_reconcile_of_mention_reply_reads_the_mentioned_comment(graph, ig_channel):
    graph.on("GET", f"/{IG}", fixture_json("api_mentioned_comment.json"))
    action = OutboundAction(
        kind=ActionKind.REPLY,
        idempotency_key="k",
        target_external_id=MENTION,
        text="Merci pour la mention !",
    )
    delivery = connector_for(ig_channel).reconcile(action)
    assert (delivery.platform_id, graph.requests[0].url.params["fields"]) == (
        "17911223344556677",
        "mentioned_comment.comment_id(17894227972186120){id,replies{id,text,username,timestamp}}",
    )


def test_mention_ids_cannot_inject_field_expansions(graph, ig_channel):
    action = OutboundAction(
        kind=ActionKind.REPLY,
        idempotency_key="k",
        target_external_id="mention:1:2){access_token}",
        text="x",
    )
    with pytest.raises(Exception, match="not an Instagram id"):
        connector_for(ig_channel).reconcile(action)
