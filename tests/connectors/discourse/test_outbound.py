"""Every Discourse action through the real outbox sender, with the forum faked at the HTTP boundary."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from cercle.connectors.base import ActionKind, OAuthTokens, RawEventData
from cercle.connectors.choices import Health
from cercle.connectors.discourse.connector import DiscourseConnector
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.inbox.actions import do_moderate_message, do_receive, do_reply
from cercle.inbox.choices import OutboxState
from cercle.inbox.models import Message, Outbox
from cercle.pipeline.actions import do_store_credentials
from cercle.pipeline.sender import send_due
from cercle.workspaces.models import Member

from .conftest import API_KEY, API_USERNAME, SITE, FakeForum, answer, fixture_bytes

pytestmark = pytest.mark.django_db

REPLY_TEXT = "Bonjour Camille, oui : la version EU arrive le 2 décembre."


def receive(channel: Channel, name: str) -> Message:
    connector = DiscourseConnector(channel, PlatformHttp())
    items = connector.parse(
        RawEventData(body=fixture_bytes(name), headers={"x-discourse-event-type": "post"})
    )
    [message] = do_receive(channel, items).created
    return message


def body(request: httpx.Request) -> object:
    return json.loads(request.content)


def later(monkeypatch: pytest.MonkeyPatch, minutes: float) -> None:
    moment = timezone.now() + timedelta(minutes=minutes)
    monkeypatch.setattr(timezone, "now", lambda: moment)


# --- each action: request shape, auth, result ------------------------------------------------


def test_reply_answers_the_post_in_its_topic(
    discourse_channel: Channel, owner: Member, forum: FakeForum
) -> None:
    forum.on("GET", "/posts/1203.json", answer("api_post.json"))
    forum.on("POST", "/posts.json", answer("api_post_created.json"))
    message = receive(discourse_channel, "webhook_post_created_reply.json")
    do_reply(owner, message.conversation, REPLY_TEXT)
    send_due()
    [request] = forum.calls("POST", "/posts.json")
    assert (request.headers["api-key"], request.headers["api-username"], body(request)) == (
        API_KEY,
        API_USERNAME,
        {"topic_id": 412, "raw": REPLY_TEXT, "reply_to_post_number": 3},
    )


def test_reply_records_the_new_post_id_and_link(
    discourse_channel: Channel, owner: Member, forum: FakeForum
) -> None:
    forum.on("GET", "/posts/1203.json", answer("api_post.json"))
    forum.on("POST", "/posts.json", answer("api_post_created.json"))
    message = receive(discourse_channel, "webhook_post_created_reply.json")
    sent = do_reply(owner, message.conversation, REPLY_TEXT)
    send_due()
    sent.refresh_from_db()
    assert (sent.delivery, sent.external_id, sent.url) == (
        "sent",
        "1208",
        f"{SITE}/t/la-lampe-aube-arrive/412/4",
    )


def test_answer_in_a_personal_message_posts_in_its_topic(
    discourse_channel: Channel, owner: Member, forum: FakeForum
) -> None:
    forum.on("POST", "/posts.json", answer("api_post_created.json"))
    message = receive(discourse_channel, "webhook_post_created_pm.json")
    do_reply(owner, message.conversation, "Voici l’étiquette de retour.")
    send_due()
    assert [body(r) for r in forum.calls("POST", "/posts.json")] == [
        {"topic_id": 420, "raw": "Voici l’étiquette de retour."}
    ]


def test_hide_flags_the_post_and_takes_action(
    discourse_channel: Channel, owner: Member, forum: FakeForum
) -> None:
    forum.on("POST", "/post_actions.json", answer("api_post.json"))
    message = receive(discourse_channel, "webhook_post_created_reply.json")
    do_moderate_message(owner, message, ActionKind.HIDE)
    send_due()
    message.refresh_from_db()
    [request] = forum.calls("POST", "/post_actions.json")
    assert (body(request), message.is_hidden) == (
        {"id": 1203, "post_action_type_id": 4, "flag_topic": False, "take_action": True},
        True,
    )


def test_unhide_shows_the_post_again(
    discourse_channel: Channel, owner: Member, forum: FakeForum
) -> None:
    forum.on("PUT", "/posts/1203/unhide", lambda r: httpx.Response(200, json={"success": "OK"}))
    message = receive(discourse_channel, "webhook_post_created_reply.json")
    do_moderate_message(owner, message, ActionKind.UNHIDE)
    send_due()
    assert len(forum.calls("PUT", "/posts/1203/unhide")) == 1


def test_delete_deletes_the_post(
    discourse_channel: Channel, owner: Member, forum: FakeForum
) -> None:
    forum.on("DELETE", "/posts/1203.json", lambda r: httpx.Response(200, content=b""))
    message = receive(discourse_channel, "webhook_post_created_reply.json")
    do_moderate_message(owner, message, ActionKind.DELETE)
    send_due()
    message.refresh_from_db()
    assert (len(forum.calls("DELETE", "/posts/1203.json")), message.deleted_at is not None) == (
        1,
        True,
    )


def test_ban_silences_the_author(
    discourse_channel: Channel, owner: Member, forum: FakeForum
) -> None:
    forum.on("PUT", "/admin/users/57/silence.json", answer("api_silence.json"))
    message = receive(discourse_channel, "webhook_post_created_reply.json")
    do_moderate_message(owner, message, ActionKind.BAN)
    send_due()
    [request] = forum.calls("PUT", "/admin/users/57/silence.json")
    assert body(request) == {"reason": "Silenced by the community team (Cercle)"}


def test_like_is_a_post_action_of_type_2(
    discourse_channel: Channel, owner: Member, forum: FakeForum
) -> None:
    forum.on("POST", "/post_actions.json", answer("api_liked.json"))
    message = receive(discourse_channel, "webhook_post_created_reply.json")
    do_moderate_message(owner, message, ActionKind.LIKE)
    send_due()
    [request] = forum.calls("POST", "/post_actions.json")
    assert body(request) == {"id": 1203, "post_action_type_id": 2}


# --- limits and errors ----------------------------------------------------------------------


def test_429_waits_the_wait_seconds_discourse_gives_then_sends(
    discourse_channel: Channel, owner: Member, forum: FakeForum, monkeypatch: pytest.MonkeyPatch
) -> None:
    forum.on("GET", "/posts/1203.json", answer("api_post.json"))
    forum.on(
        "POST",
        "/posts.json",
        answer("api_error_rate_limit.json", 429, {"Retry-After": "120"}),
        answer("api_post_created.json"),
    )
    message = receive(discourse_channel, "webhook_post_created_reply.json")
    sent = do_reply(owner, message.conversation, REPLY_TEXT)
    before = timezone.now()
    send_due()
    discourse_channel.refresh_from_db()
    paused = discourse_channel.paused_until
    waited = paused and round((paused - before).total_seconds())
    later(monkeypatch, 1)
    send_due()
    sent.refresh_from_db()
    assert (waited, len(forum.calls("POST", "/posts.json")), sent.delivery) == (37, 2, "sent")


def test_invalid_api_key_waits_then_sends_once_after_reconnection(
    discourse_channel: Channel, owner: Member, forum: FakeForum
) -> None:
    def by_key(request: httpx.Request) -> httpx.Response:
        if request.headers["api-key"] == "new-key":
            return answer("api_post_created.json")(request)
        return answer("api_error_invalid_key.json", 403)(request)

    forum.on("GET", "/posts/1203.json", answer("api_post.json"))
    forum.on("POST", "/posts.json", by_key)
    message = receive(discourse_channel, "webhook_post_created_reply.json")
    sent = do_reply(owner, message.conversation, REPLY_TEXT)
    send_due()
    discourse_channel.refresh_from_db()
    waiting = (discourse_channel.health, Outbox.objects.get(message=sent).state)
    do_store_credentials(
        discourse_channel,
        OAuthTokens(credentials={**discourse_channel.credentials, "api_key": "new-key"}),
    )
    send_due()
    send_due()
    accepted = [r for r in forum.calls("POST", "/posts.json") if r.headers["api-key"] == "new-key"]
    assert (waiting, len(accepted)) == ((Health.NEEDS_REAUTH, OutboxState.WAITING), 1)


def test_403_on_an_action_is_a_permission_problem(
    discourse_channel: Channel, owner: Member, forum: FakeForum
) -> None:
    forum.on("DELETE", "/posts/1203.json", answer("api_error_forbidden.json", 403))
    message = receive(discourse_channel, "webhook_post_created_reply.json")
    outbox = do_moderate_message(owner, message, ActionKind.DELETE)
    send_due()
    discourse_channel.refresh_from_db()
    outbox.refresh_from_db()
    assert (discourse_channel.health, outbox.state) == (Health.DEGRADED, OutboxState.FAILED)


def test_5xx_is_retried_later(discourse_channel: Channel, owner: Member, forum: FakeForum) -> None:
    forum.on("GET", "/posts/1203.json", lambda r: httpx.Response(502, text="Bad Gateway"))
    message = receive(discourse_channel, "webhook_post_created_reply.json")
    sent = do_reply(owner, message.conversation, REPLY_TEXT)
    send_due()
    assert Outbox.objects.get(message=sent).state == OutboxState.QUEUED


# --- ambiguous results: never post twice -------------------------------------------------


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("the forum took too long", request=request)


def test_ambiguous_timeout_gives_exactly_one_post(
    discourse_channel: Channel, owner: Member, forum: FakeForum, monkeypatch: pytest.MonkeyPatch
) -> None:
    forum.on("GET", "/posts/1203.json", answer("api_post.json"))
    forum.on("POST", "/posts.json", timeout, answer("api_post_created.json"))
    forum.on("GET", "/posts.json", answer("api_latest_posts.json"))
    message = receive(discourse_channel, "webhook_post_created_reply.json")
    sent = do_reply(owner, message.conversation, REPLY_TEXT)
    send_due()
    unknown = Outbox.objects.get(message=sent).state
    later(monkeypatch, 1)
    send_due()
    sent.refresh_from_db()
    assert (unknown, len(forum.calls("POST", "/posts.json")), sent.external_id) == (
        OutboxState.UNKNOWN,
        1,
        "1208",
    )


def test_too_similar_after_a_lost_answer_is_taken_as_done(
    discourse_channel: Channel, owner: Member, forum: FakeForum
) -> None:
    forum.on("GET", "/posts/1203.json", answer("api_post.json"))
    forum.on("POST", "/posts.json", answer("api_error_too_similar.json", 422))
    forum.on("GET", "/posts.json", answer("api_latest_posts.json"))
    message = receive(discourse_channel, "webhook_post_created_reply.json")
    sent = do_reply(owner, message.conversation, REPLY_TEXT)
    send_due()
    sent.refresh_from_db()
    assert (sent.delivery, sent.external_id) == ("sent", "1208")


def test_too_similar_to_another_post_fails(
    discourse_channel: Channel, owner: Member, forum: FakeForum
) -> None:
    forum.on("GET", "/posts/1203.json", answer("api_post.json"))
    forum.on("POST", "/posts.json", answer("api_error_too_similar.json", 422))
    forum.on("GET", "/posts.json", answer("api_latest_posts.json"))
    message = receive(discourse_channel, "webhook_post_created_reply.json")
    sent = do_reply(owner, message.conversation, "Un autre texte")
    send_due()
    sent.refresh_from_db()
    assert (sent.delivery, "too similar" in sent.delivery_error) == ("failed", True)


def test_ambiguous_delete_is_done_when_the_post_is_gone(
    discourse_channel: Channel, owner: Member, forum: FakeForum, monkeypatch: pytest.MonkeyPatch
) -> None:
    forum.on("DELETE", "/posts/1203.json", timeout)
    forum.on("GET", "/posts/1203.json", answer("api_post_deleted.json"))
    message = receive(discourse_channel, "webhook_post_created_reply.json")
    outbox = do_moderate_message(owner, message, ActionKind.DELETE)
    send_due()
    later(monkeypatch, 1)
    send_due()
    outbox.refresh_from_db()
    assert (outbox.state, len(forum.calls("DELETE", "/posts/1203.json"))) == (OutboxState.DONE, 1)


# --- connection and catch-up ------------------------------------------------------------------


def test_connection_check_names_the_forum_and_user(
    discourse_channel: Channel, forum: FakeForum
) -> None:
    forum.on("GET", f"/u/{API_USERNAME}.json", answer("api_user.json"))
    summary = DiscourseConnector(discourse_channel, PlatformHttp()).test_connection()
    assert summary == f"Connected to the forum {SITE} as “{API_USERNAME}”."


def test_connection_check_refuses_a_user_who_is_not_staff(
    discourse_channel: Channel, forum: FakeForum
) -> None:
    from cercle.connectors.base import PermissionDenied

    user = json.loads(fixture_bytes("api_user.json"))
    user["user"].update(admin=False, moderator=False)
    forum.on("GET", f"/u/{API_USERNAME}.json", lambda r: httpx.Response(200, json=user))
    with pytest.raises(PermissionDenied):
        DiscourseConnector(discourse_channel, PlatformHttp()).test_connection()


def test_poll_catches_up_on_posts_above_the_cursor(
    discourse_channel: Channel, forum: FakeForum
) -> None:
    forum.on("GET", "/posts.json", answer("api_latest_posts.json"))
    page = DiscourseConnector(discourse_channel, PlatformHttp()).poll("1203")
    assert ([i.external_id for i in page.items], page.cursor) == (["1204", "1208"], "1208")
