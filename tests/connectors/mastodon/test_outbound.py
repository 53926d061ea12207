"""Every Mastodon action through the real outbox sender, with the instance faked at the HTTP boundary."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.utils import timezone

from cercle.connectors.base import ActionKind, OAuthTokens
from cercle.connectors.choices import Health
from cercle.connectors.mastodon.inbound import parse_notifications
from cercle.connectors.models import Channel
from cercle.inbox.actions import do_moderate_message, do_receive, do_reply
from cercle.inbox.choices import OutboxState
from cercle.inbox.models import Message, Outbox
from cercle.pipeline.actions import do_store_credentials
from cercle.pipeline.sender import send_due
from cercle.workspaces.models import Member, Workspace

from .conftest import TOKEN, FakeInstance, answer, mastodon_channel, record

pytestmark = pytest.mark.django_db

# In test_status_reply.yaml the brand is "admin", answering mastodonpy_test_2's post.
ADMIN_ID = "117440810233042393"
ANSWERED = "117440826670289215"
REPLY_ID = "117440826677780974"
STATUS = f"/api/v1/statuses/{ANSWERED}"
STATUSES = "/api/v1/statuses"


@pytest.fixture
def admin_channel(workspace: Workspace) -> Channel:
    return mastodon_channel(workspace, account_id=ADMIN_ID)


def mention(status: dict[str, Any], number: str = "30") -> dict[str, Any]:
    """The mention Notification envelope around a recorded status (as /api/v1/notifications gives it)."""
    return {"id": number, "type": "mention", "created_at": status["created_at"],
            "account": status["account"], "status": status}  # fmt: skip


def receive_post(channel: Channel) -> Message:
    """mastodonpy_test_2's recorded post "Toot, finally!", mentioning the brand."""
    items = parse_notifications([mention(record("status_replied_to.json")["body"])], ADMIN_ID)
    [message] = do_receive(channel, items).created
    return message


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def later(monkeypatch: pytest.MonkeyPatch, minutes: float) -> None:
    moment = timezone.now() + timedelta(minutes=minutes)
    monkeypatch.setattr(timezone, "now", lambda: moment)


# --- each action ---------------------------------------------------------------------------------


def test_reply_addresses_the_author_with_the_outbox_idempotency_key(
    admin_channel: Channel, owner: Member, instance: FakeInstance
) -> None:
    instance.on("GET", STATUS, answer("status_replied_to.json"))
    instance.on("POST", STATUSES, answer("status_reply_created.json"))
    message = receive_post(admin_channel)
    sent = do_reply(owner, message.conversation, "same!")
    send_due()
    [request] = instance.calls("POST", STATUSES)
    outbox = Outbox.objects.get(message=sent)
    assert (
        request.headers["authorization"],
        request.headers["idempotency-key"],
        body(request),
    ) == (
        f"Bearer {TOKEN}",
        outbox.idempotency_key,
        {"status": "@mastodonpy_test_2 same!", "in_reply_to_id": ANSWERED, "visibility": "public"},
    )


def test_reply_records_the_new_status_id_and_link(
    admin_channel: Channel, owner: Member, instance: FakeInstance
) -> None:
    instance.on("GET", STATUS, answer("status_replied_to.json"))
    instance.on("POST", STATUSES, answer("status_reply_created.json"))
    sent = do_reply(owner, receive_post(admin_channel).conversation, "same!")
    send_due()
    sent.refresh_from_db()
    assert (sent.delivery, sent.external_id, sent.url) == (
        "sent",
        REPLY_ID,
        f"http://localhost:3000/@admin/{REPLY_ID}",
    )


def test_a_private_mention_is_answered_privately(
    channel: Channel, owner: Member, instance: FakeInstance
) -> None:
    direct = record("notifications_stream_mentions.json")["body"][0]
    instance.on(
        "GET",
        f"/api/v1/statuses/{direct['status']['id']}",
        lambda r: httpx.Response(200, json=direct["status"]),
    )
    instance.on("POST", STATUSES, answer("status_reply_created.json"))
    items = parse_notifications([direct], "117440810532227399")
    [message] = do_receive(channel, items).created
    do_reply(owner, message.conversation, "Je vous écris en privé.")
    send_due()
    [request] = instance.calls("POST", STATUSES)
    assert body(request) == {
        "status": "@mastodonpy_test_2 Je vous écris en privé.",
        "in_reply_to_id": direct["status"]["id"],
        "visibility": "direct",
    }


def test_delete_deletes_the_brands_own_reply(
    admin_channel: Channel, owner: Member, instance: FakeInstance
) -> None:
    instance.on("GET", STATUS, answer("status_replied_to.json"))
    instance.on("POST", STATUSES, answer("status_reply_created.json"))
    instance.on("GET", f"{STATUSES}/{REPLY_ID}", answer("status_reply_created.json"))
    instance.on("DELETE", f"{STATUSES}/{REPLY_ID}", answer("status_deleted.json"))
    sent = do_reply(owner, receive_post(admin_channel).conversation, "same!")
    send_due()
    sent.refresh_from_db()
    outbox = do_moderate_message(owner, sent, ActionKind.DELETE)
    send_due()
    outbox.refresh_from_db()
    assert (outbox.state, len(instance.calls("DELETE", f"{STATUSES}/{REPLY_ID}"))) == (
        OutboxState.DONE,
        1,
    )


def test_delete_of_someone_elses_status_is_refused_without_calling_delete(
    admin_channel: Channel, owner: Member, instance: FakeInstance
) -> None:
    instance.on("GET", STATUS, answer("status_replied_to.json"))
    outbox = do_moderate_message(owner, receive_post(admin_channel), ActionKind.DELETE)
    send_due()
    outbox.refresh_from_db()
    assert (outbox.state, instance.calls("DELETE", STATUS)) == (OutboxState.FAILED, [])


def test_ban_blocks_the_author_and_reports_the_status(
    admin_channel: Channel, owner: Member, instance: FakeInstance
) -> None:
    author = "117440810673731823"
    instance.on("POST", f"/api/v1/accounts/{author}/block", answer("account_block.json"))
    instance.on("POST", "/api/v1/reports", answer("report_created.json"))
    do_moderate_message(owner, receive_post(admin_channel), ActionKind.BAN)
    send_due()
    [report] = instance.calls("POST", "/api/v1/reports")
    assert (len(instance.calls("POST", f"/api/v1/accounts/{author}/block")), body(report)) == (
        1,
        {
            "account_id": author,
            "status_ids": [ANSWERED],
            "comment": "Reported by the community team (Cercle)",
            "forward": True,
        },
    )


def test_ban_only_blocks_when_reports_are_turned_off(
    workspace: Workspace, owner: Member, instance: FakeInstance
) -> None:
    channel = mastodon_channel(workspace, account_id=ADMIN_ID, report_on_ban=False)
    instance.on("POST", "/api/v1/accounts/117440810673731823/block", answer("account_block.json"))
    outbox = do_moderate_message(owner, receive_post(channel), ActionKind.BAN)
    send_due()
    outbox.refresh_from_db()
    assert (outbox.state, instance.calls("POST", "/api/v1/reports")) == (OutboxState.DONE, [])


def test_like_favourites_the_status(
    admin_channel: Channel, owner: Member, instance: FakeInstance
) -> None:
    instance.on("POST", f"{STATUS}/favourite", answer("status_favourited.json"))
    outbox = do_moderate_message(owner, receive_post(admin_channel), ActionKind.LIKE)
    send_due()
    outbox.refresh_from_db()
    assert (outbox.state, len(instance.calls("POST", f"{STATUS}/favourite"))) == (
        OutboxState.DONE,
        1,
    )


# --- limits and errors ---------------------------------------------------------------------------


def test_429_pauses_until_the_reset_then_sends(
    admin_channel: Channel, owner: Member, instance: FakeInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    reset = (timezone.now() + timedelta(seconds=90)).replace(microsecond=0)
    instance.on("GET", STATUS, answer("status_replied_to.json"))
    instance.on(
        "POST",
        STATUSES,
        lambda r: httpx.Response(
            429,
            json={"error": "Too many requests"},
            headers={
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset.isoformat(),
            },
        ),
        answer("status_reply_created.json"),
    )
    sent = do_reply(owner, receive_post(admin_channel).conversation, "same!")
    send_due()
    admin_channel.refresh_from_db()
    paused = admin_channel.paused_until
    later(monkeypatch, 2)
    send_due()
    sent.refresh_from_db()
    assert (paused, len(instance.calls("POST", STATUSES)), sent.delivery) == (reset, 2, "sent")


def test_a_revoked_token_waits_then_sends_once_after_reconnection(
    admin_channel: Channel, owner: Member, instance: FakeInstance
) -> None:
    def by_token(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer new-token":
            return answer("status_reply_created.json")(request)
        return answer("error_invalid_token.json")(request)

    instance.on("GET", STATUS, answer("status_replied_to.json"))
    instance.on("POST", STATUSES, by_token)
    sent = do_reply(owner, receive_post(admin_channel).conversation, "same!")
    send_due()
    admin_channel.refresh_from_db()
    waiting = (admin_channel.health, Outbox.objects.get(message=sent).state)
    do_store_credentials(admin_channel, OAuthTokens(credentials={"access_token": "new-token"}))
    send_due()
    send_due()
    accepted = [
        r
        for r in instance.calls("POST", STATUSES)
        if r.headers["authorization"] == "Bearer new-token"
    ]
    assert (waiting, len(accepted)) == ((Health.NEEDS_REAUTH, OutboxState.WAITING), 1)


def test_403_is_a_permission_problem(
    admin_channel: Channel, owner: Member, instance: FakeInstance
) -> None:
    instance.on(
        "POST",
        f"{STATUS}/favourite",
        lambda r: httpx.Response(
            403, json={"error": "This action is outside the authorized scopes"}
        ),
    )
    outbox = do_moderate_message(owner, receive_post(admin_channel), ActionKind.LIKE)
    send_due()
    admin_channel.refresh_from_db()
    outbox.refresh_from_db()
    assert (admin_channel.health, outbox.state) == (Health.DEGRADED, OutboxState.FAILED)


# --- ambiguous results: never post twice ------------------------------------------------------


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("the instance took too long", request=request)


def test_an_ambiguous_reply_found_in_the_thread_is_not_posted_again(
    admin_channel: Channel, owner: Member, instance: FakeInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    reply = record("status_reply_created.json")["body"]
    instance.on("GET", STATUS, answer("status_replied_to.json"))
    instance.on("POST", STATUSES, timeout)
    instance.on(
        "GET",
        f"{STATUS}/context",
        lambda r: httpx.Response(200, json={"ancestors": [], "descendants": [reply]}),
    )
    sent = do_reply(owner, receive_post(admin_channel).conversation, "same!")
    send_due()
    unknown = Outbox.objects.get(message=sent).state
    later(monkeypatch, 1)
    send_due()
    sent.refresh_from_db()
    assert (unknown, len(instance.calls("POST", STATUSES)), sent.external_id) == (
        OutboxState.UNKNOWN,
        1,
        REPLY_ID,
    )


def test_an_ambiguous_reply_not_found_is_retried_with_the_same_idempotency_key(
    admin_channel: Channel, owner: Member, instance: FakeInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance.on("GET", STATUS, answer("status_replied_to.json"))
    instance.on("POST", STATUSES, timeout, answer("status_reply_created.json"))
    instance.on(
        "GET",
        f"{STATUS}/context",
        lambda r: httpx.Response(200, json={"ancestors": [], "descendants": []}),
    )
    sent = do_reply(owner, receive_post(admin_channel).conversation, "same!")
    send_due()
    later(monkeypatch, 1)
    send_due()
    sent.refresh_from_db()
    keys = {r.headers["idempotency-key"] for r in instance.calls("POST", STATUSES)}
    assert (len(keys), sent.delivery) == (1, "sent")
