"""Answering and moderating on YouTube through the outbox sender, and what each failure does."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from cercle.connectors.base import (
    ActionKind,
    OAuthTokens,
    OutboundAction,
    PermissionDenied,
    RateLimited,
    Rejected,
    TokenRevoked,
    TransientError,
)
from cercle.connectors.choices import Health
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for
from cercle.connectors.youtube.client import next_quota_reset
from cercle.connectors.youtube.inbound import page_items
from cercle.inbox.actions import do_moderate_message, do_receive, do_reply
from cercle.inbox.choices import OutboxState
from cercle.inbox.models import Message, Outbox
from cercle.pipeline.actions import do_store_credentials
from cercle.pipeline.sender import send_due
from cercle.workspaces.models import Member

from .conftest import BRAND, TOKEN_URL, FakeYouTube, fixture, query, spend_units

TOP = "UgxISZhP_62DIrtv2r94AaABAg"
REPLY_OF_OTHER = "UgxISZhP_62DIrtv2r94AaABAg.9iPZ0Lq3k2m9iPZ2xYgHnB"
OUR_REPLY = "UgyMS6bv4L1X96YX2Hl4AaABAg.9iPXEClD9lW9iPXOnXUqJF"
TEXT = "Oui, nous livrons au Québec en 5 à 7 jours."


@pytest.fixture
def received(yt_channel: Channel) -> Channel:
    do_receive(
        yt_channel, page_items(fixture("comment_threads_published.json"), brand_channel_id=BRAND)
    )
    return yt_channel


def _reply(owner: Member, external_id: str, text: str = TEXT) -> Message:
    conversation = Message.objects.get(external_id=external_id).conversation
    return do_reply(owner, conversation, text)


def _due_now() -> None:
    """Time passes: every row waiting for a retry time is due."""
    Outbox.objects.update(next_attempt_at=None)
    Channel.objects.update(paused_until=None)


def _insert_answer(request: httpx.Request) -> httpx.Response:
    created = fixture("comment_insert.json")
    created["snippet"]["textOriginal"] = json.loads(request.content)["snippet"]["textOriginal"]
    return httpx.Response(200, json=created)


def test_reply_inserts_a_comment_under_the_parent(
    fake: FakeYouTube, received: Channel, owner: Member
) -> None:
    fake.on("POST", "/comments", _insert_answer)
    _reply(owner, TOP)
    send_due()
    (request,) = fake.calls("POST", "/comments")
    assert (json.loads(request.content), query(request), request.headers["Authorization"]) == (
        {"snippet": {"parentId": TOP, "textOriginal": TEXT}},
        {"part": "snippet"},
        "Bearer ya29.current",
    )


def test_delivered_reply_takes_the_platform_id_and_link(
    fake: FakeYouTube, received: Channel, owner: Member
) -> None:
    fake.on("POST", "/comments", _insert_answer)
    message = _reply(owner, TOP)
    send_due()
    message.refresh_from_db()
    assert (message.delivery, message.external_id, message.url) == (
        "sent",
        "UgxISZhP_62DIrtv2r94AaABAg.9iPZZzz1a2b9iPZZzz3c4d",
        "https://www.youtube.com/watch?v=7ghhRHRP6t4&lc=UgxISZhP_62DIrtv2r94AaABAg.9iPZZzz1a2b9iPZZzz3c4d",
    )


def test_answer_to_a_reply_goes_under_the_top_level_comment(
    fake: FakeYouTube, received: Channel, owner: Member
) -> None:
    fake.on("POST", "/comments", _insert_answer)
    _reply(owner, REPLY_OF_OTHER)
    send_due()
    (request,) = fake.calls("POST", "/comments")
    assert json.loads(request.content)["snippet"]["parentId"] == TOP


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (ActionKind.HIDE, {"id": TOP, "moderationStatus": "heldForReview"}),
        (ActionKind.UNHIDE, {"id": TOP, "moderationStatus": "published"}),
        (ActionKind.DELETE, {"id": TOP, "moderationStatus": "rejected"}),
        (ActionKind.BAN, {"id": TOP, "moderationStatus": "rejected", "banAuthor": "true"}),
    ],
)
def test_moderation_sets_the_comment_status(
    fake: FakeYouTube, received: Channel, owner: Member, kind: ActionKind, expected: dict[str, str]
) -> None:
    fake.on("POST", "/comments/setModerationStatus", httpx.Response(204))
    do_moderate_message(owner, Message.objects.get(external_id=TOP), kind)
    send_due()
    (request,) = fake.calls("POST", "/comments/setModerationStatus")
    assert (query(request), Outbox.objects.get().state) == (expected, OutboxState.DONE)


def test_hide_marks_our_copy_hidden(fake: FakeYouTube, received: Channel, owner: Member) -> None:
    fake.on("POST", "/comments/setModerationStatus", httpx.Response(204))
    do_moderate_message(owner, Message.objects.get(external_id=TOP), ActionKind.HIDE)
    send_due()
    assert Message.objects.get(external_id=TOP).is_hidden is True


def test_deleting_our_own_comment_uses_comments_delete(
    fake: FakeYouTube, received: Channel, owner: Member
) -> None:
    fake.on("DELETE", "/comments", httpx.Response(204))
    do_moderate_message(owner, Message.objects.get(external_id=OUR_REPLY), ActionKind.DELETE)
    send_due()
    (request,) = fake.calls("DELETE", "/comments")
    assert (query(request), Message.objects.get(external_id=OUR_REPLY).deleted_at is not None) == (
        {"id": OUR_REPLY},
        True,
    )


def test_429_pauses_the_channel_then_the_reply_is_sent(
    fake: FakeYouTube, received: Channel, owner: Member
) -> None:
    limited = httpx.Response(
        429, headers={"Retry-After": "120"}, json=fixture("error_rate_limit_exceeded.json")
    )
    fake.on("POST", "/comments", limited, _insert_answer)
    message = _reply(owner, TOP)
    before = timezone.now()
    send_due()
    received.refresh_from_db()
    paused = received.paused_until
    send_due()  # still paused: nothing is attempted
    attempts_while_paused = len(fake.calls("POST", "/comments"))
    _due_now()
    send_due()
    message.refresh_from_db()
    assert paused is not None and before + timedelta(seconds=110) < paused < before + timedelta(
        seconds=130
    )
    assert (attempts_while_paused, len(fake.calls("POST", "/comments")), message.delivery) == (
        1,
        2,
        "sent",
    )


def test_quota_spent_pauses_writes_until_midnight_pacific(
    fake: FakeYouTube, received: Channel, owner: Member
) -> None:
    resets_at = next_quota_reset(timezone.now())
    spend_units(received, 9_990, resets_at)
    _reply(owner, TOP)
    send_due()
    received.refresh_from_db()
    assert (fake.requests, received.paused_until) == ([], resets_at)


def test_revoked_token_waits_for_reauth_then_sends_once(
    fake: FakeYouTube, received: Channel, owner: Member
) -> None:
    def insert(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] != "Bearer ya29.reconnected":
            return httpx.Response(401, json=fixture("error_unauthorized.json"))
        return _insert_answer(request)

    fake.on("POST", "/comments", insert)
    fake.on("POST", TOKEN_URL, httpx.Response(400, json=fixture("oauth_invalid_grant.json")))
    message = _reply(owner, TOP)
    send_due()
    received.refresh_from_db()
    row = Outbox.objects.get()
    waiting = (received.health, row.state, Message.objects.get(pk=message.pk).delivery)
    send_due()  # needs re-auth: nothing is attempted
    credentials = {
        **received.credentials,
        "access_token": "ya29.reconnected",
        "refresh_token": "1//new",
    }
    do_store_credentials(received, OAuthTokens(credentials=credentials))
    send_due()
    send_due()
    sent = [
        r
        for r in fake.calls("POST", "/comments")
        if r.headers["Authorization"] == "Bearer ya29.reconnected"
    ]
    message.refresh_from_db()
    assert waiting == (Health.NEEDS_REAUTH, OutboxState.WAITING, "waiting")
    assert (len(sent), message.delivery) == (1, "sent")


def test_expired_access_token_is_refreshed_before_the_call(
    fake: FakeYouTube, received: Channel, owner: Member
) -> None:
    fake.on("POST", TOKEN_URL, fixture("oauth_refresh.json"))
    fake.on("POST", "/comments", _insert_answer)
    expired = {
        **received.credentials,
        "expires_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
    }
    received.set_credentials(expired)
    received.save(update_fields=["credentials_token"])
    _reply(owner, TOP)
    send_due()
    (request,) = fake.calls("POST", "/comments")
    received.refresh_from_db()
    assert (request.headers["Authorization"], received.credentials["refresh_token"]) == (
        "Bearer ya29.a0AfH6SMC-refreshed-access-token",
        "1//refresh",
    )


def test_refused_token_is_refreshed_and_the_call_retried(
    fake: FakeYouTube, received: Channel, owner: Member
) -> None:
    def insert(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer ya29.current":
            return httpx.Response(401, json=fixture("error_unauthorized.json"))
        return _insert_answer(request)

    fake.on("POST", TOKEN_URL, fixture("oauth_refresh.json"))
    fake.on("POST", "/comments", insert)
    message = _reply(owner, TOP)
    send_due()
    message.refresh_from_db()
    token_form = dict(httpx.QueryParams(fake.calls("POST", TOKEN_URL)[0].content.decode()))
    assert (message.delivery, token_form["grant_type"], token_form["refresh_token"]) == (
        "sent",
        "refresh_token",
        "1//refresh",
    )


def test_timeout_after_sending_a_reply_gives_exactly_one_reply(
    fake: FakeYouTube, received: Channel, owner: Member
) -> None:
    posted: list[dict[str, object]] = []

    def insert_then_time_out(request: httpx.Request) -> httpx.Response:
        created = _insert_answer(request).json()
        posted.append(created)  # YouTube made it; the answer never arrives
        raise httpx.ReadTimeout("read timed out", request=request)

    def replies(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"kind": "youtube#commentListResponse", "items": list(posted)}
        )

    fake.on("POST", "/comments", insert_then_time_out)
    fake.on("GET", "/comments", replies)
    message = _reply(owner, TOP)
    send_due()
    unknown = Outbox.objects.get().state
    _due_now()
    send_due()
    message.refresh_from_db()
    assert unknown == OutboxState.UNKNOWN
    assert (len(fake.calls("POST", "/comments")), message.delivery, message.external_id) == (
        1,
        "sent",
        posted[0]["id"],
    )


def test_reconcile_posts_again_when_the_reply_is_not_there(
    fake: FakeYouTube, received: Channel, owner: Member
) -> None:
    timeouts = iter([True])

    def insert(request: httpx.Request) -> httpx.Response:
        if next(timeouts, False):
            raise httpx.ReadTimeout("read timed out", request=request)
        return _insert_answer(request)

    fake.on("POST", "/comments", insert)
    fake.on("GET", "/comments", {"kind": "youtube#commentListResponse", "items": []})
    message = _reply(owner, TOP)
    send_due()
    _due_now()
    send_due()
    message.refresh_from_db()
    assert (len(fake.calls("POST", "/comments")), message.delivery) == (2, "sent")


ERRORS = [
    (401, "error_unauthorized.json", TokenRevoked),
    (403, "error_insufficient_permissions.json", PermissionDenied),
    (403, "error_forbidden.json", PermissionDenied),
    (403, "error_quota_exceeded.json", RateLimited),
    (429, "error_rate_limit_exceeded.json", RateLimited),
    (404, "error_comment_not_found.json", Rejected),
    (400, "error_comment_not_found.json", Rejected),
    (503, "error_backend.json", TransientError),
]


@pytest.mark.parametrize(("status", "name", "error"), ERRORS)
def test_platform_errors_are_classified(
    fake: FakeYouTube, yt_channel: Channel, status: int, name: str, error: type[Exception]
) -> None:
    fake.on("POST", "/comments/setModerationStatus", httpx.Response(status, json=fixture(name)))
    fake.on("POST", TOKEN_URL, httpx.Response(400, json=fixture("oauth_invalid_grant.json")))
    connector = connector_for(yt_channel)
    with pytest.raises(error):
        connector.perform(
            OutboundAction(kind=ActionKind.HIDE, idempotency_key="k", target_external_id=TOP)
        )
