"""Google Business Profile reviews: polling with page tokens, star ratings, reply upsert and delete, limits."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs

import httpx
import pytest
from django.utils import timezone

from cercle.connectors import quota
from cercle.connectors.base import ActionKind, OAuthTokens, RawEventData
from cercle.connectors.choices import Health
from cercle.connectors.google_business.client import EDIT_WINDOW
from cercle.connectors.google_business.connector import GoogleBusinessConnector
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.inbox.actions import do_moderate_message, do_reply
from cercle.inbox.choices import OutboxState
from cercle.inbox.models import Conversation, Message, Outbox
from cercle.pipeline.actions import do_store_credentials
from cercle.pipeline.poller import poll_channel
from cercle.pipeline.sender import send_due
from cercle.workspaces.models import Member

from .conftest import LOCATION, REVIEWS, FakeGoogle, answer, fixture

pytestmark = pytest.mark.django_db

CAMILLE = "AbFvOqnQ7Vd0v5r3yGx1nQ"
REPLY = f"{REVIEWS}/{CAMILLE}/reply"
ANSWER = "Bonjour Camille, toutes nos excuses : nous vous appelons aujourd’hui."


def all_pages(google: FakeGoogle) -> None:
    def by_token(request: httpx.Request) -> httpx.Response:
        name = "reviews_page2.json" if request.url.params.get("pageToken") else "reviews_page1.json"
        return answer(name)(request)

    google.on("GET", REVIEWS, by_token)


def later(monkeypatch: pytest.MonkeyPatch, minutes: float) -> None:
    moment = timezone.now() + timedelta(minutes=minutes)
    monkeypatch.setattr(timezone, "now", lambda: moment)


# --- receiving ------------------------------------------------------------------------------


def test_every_page_of_reviews_is_read_with_its_star_rating(
    channel: Channel, google: FakeGoogle
) -> None:
    all_pages(google)
    poll_channel(channel)
    got = {
        m.external_id: (m.kind, m.rating, m.conversation.rating)
        for m in Message.objects.filter(channel=channel)
    }
    assert got == {
        CAMILLE: ("review", 2, 2),
        "AbFvOqlx2mK8pTq0cWv7sA": ("review", 5, 5),
        "AbFvOqmE4tYb1u9hNc3kWQ": ("review", 4, 4),
    }


def test_the_list_is_asked_newest_first_with_the_page_token(
    channel: Channel, google: FakeGoogle
) -> None:
    all_pages(google)
    poll_channel(channel)
    first, second = google.calls("GET", REVIEWS)
    assert (
        first.headers["authorization"],
        first.url.params["orderBy"],
        "pageToken" in first.url.params,
        second.url.params["pageToken"],
    ) == ("Bearer ya29.token", "updateTime desc", False, "CgwI2Nq-tgYQmIfb_wI")


def test_reviewer_text_and_anonymity(channel: Channel, google: FakeGoogle) -> None:
    all_pages(google)
    poll_channel(channel)
    camille = Message.objects.get(channel=channel, external_id=CAMILLE)
    anonymous = Message.objects.get(channel=channel, external_id="AbFvOqlx2mK8pTq0cWv7sA")
    assert (
        camille.author_identity and camille.author_identity.display_name,
        camille.text.startswith("Lampe Aube livrée"),
        anonymous.author_identity and anonymous.author_identity.display_name,
    ) == ("Camille Durand", True, "Anonymous")


def test_the_next_sweep_reads_only_what_changed_since(channel: Channel, google: FakeGoogle) -> None:
    all_pages(google)
    poll_channel(channel)
    channel.refresh_from_db()
    cursor = json.loads(channel.cursor)
    edited = fixture("reviews_page1.json")
    edited["reviews"][0].update(
        comment="Finalement livrée, merci.", updateTime="2026-11-30T07:00:00Z"
    )
    google.on("GET", REVIEWS, lambda r: httpx.Response(200, json=edited))
    received = poll_channel(channel)
    camille = Message.objects.get(channel=channel, external_id=CAMILLE)
    assert (cursor, received, len(google.calls("GET", REVIEWS)), camille.text) == (
        {"since": "2026-11-29T08:05:11.904000+00:00"},
        1,
        3,
        "Finalement livrée, merci.",
    )


def test_the_same_reviews_twice_give_one_message_each(channel: Channel, google: FakeGoogle) -> None:
    all_pages(google)
    first = poll_channel(channel)
    Channel.objects.filter(pk=channel.pk).update(cursor="")
    channel.refresh_from_db()
    second = poll_channel(channel)
    assert (first, second, Message.objects.filter(channel=channel).count()) == (3, 0, 3)


def test_a_polled_page_replays_to_the_same_items(channel: Channel, google: FakeGoogle) -> None:
    all_pages(google)
    connector = GoogleBusinessConnector(channel, PlatformHttp())
    page = connector.poll(None)
    assert connector.parse(RawEventData(body=page.raw, source="poll")) == page.items


def test_an_expired_token_needs_reconnection(channel: Channel, google: FakeGoogle) -> None:
    google.on("GET", REVIEWS, answer("error_unauthenticated.json", 401))
    poll_channel(channel)
    channel.refresh_from_db()
    assert channel.health == Health.NEEDS_REAUTH


def test_429_pauses_the_channel(channel: Channel, google: FakeGoogle) -> None:
    google.on("GET", REVIEWS, answer("error_resource_exhausted.json", 429, {"Retry-After": "45"}))
    before = timezone.now()
    poll_channel(channel)
    channel.refresh_from_db()
    paused = channel.paused_until
    assert paused is not None and timedelta(seconds=40) < paused - before < timedelta(seconds=50)


# --- answering ----------------------------------------------------------------------------


def received_review(channel: Channel, google: FakeGoogle) -> Conversation:
    google.on("GET", REVIEWS, answer("reviews_page2.json"))
    all_pages(google)
    poll_channel(channel)
    return Message.objects.get(channel=channel, external_id=CAMILLE).conversation


def test_a_reply_is_an_upsert_of_the_reviews_reply(
    channel: Channel, owner: Member, google: FakeGoogle
) -> None:
    google.on("PUT", REPLY, answer("review_reply.json"))
    sent = do_reply(owner, received_review(channel, google), ANSWER)
    send_due()
    sent.refresh_from_db()
    [request] = google.calls("PUT", REPLY)
    assert (json.loads(request.content), sent.delivery, sent.external_id) == (
        {"comment": ANSWER},
        "sent",
        f"{CAMILLE}/reply",
    )


def test_the_reply_can_be_deleted_but_not_the_review(
    channel: Channel, owner: Member, google: FakeGoogle
) -> None:
    google.on("PUT", REPLY, answer("review_reply.json"))
    google.on("DELETE", REPLY, lambda r: httpx.Response(200, json={}))
    conversation = received_review(channel, google)
    sent = do_reply(owner, conversation, ANSWER)
    send_due()
    sent.refresh_from_db()
    outbox = do_moderate_message(owner, sent, ActionKind.DELETE)
    send_due()
    outbox.refresh_from_db()
    review = Message.objects.get(channel=channel, external_id=CAMILLE)
    assert (
        outbox.state,
        len(google.calls("DELETE", REPLY)),
        GoogleBusinessConnector.moderation_actions(review.kind),
    ) == (OutboxState.DONE, 1, frozenset())


def test_edits_are_counted_ten_a_minute_per_profile(
    channel: Channel, owner: Member, google: FakeGoogle
) -> None:
    google.on("PUT", REPLY, answer("review_reply.json"))
    conversation = received_review(channel, google)
    for _ in range(11):
        do_reply(owner, conversation, ANSWER)
    send_due()
    channel.refresh_from_db()
    standing = quota.standing(channel, EDIT_WINDOW)
    assert (len(google.calls("PUT", REPLY)), standing.used, channel.paused_until is not None) == (
        10,
        10,
        True,
    )


def test_an_ambiguous_reply_is_confirmed_by_reading_the_review(
    channel: Channel, owner: Member, google: FakeGoogle, monkeypatch: pytest.MonkeyPatch
) -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("Google took too long", request=request)

    google.on("PUT", REPLY, timeout)
    google.on("GET", f"{REVIEWS}/{CAMILLE}", answer("review_with_reply.json"))
    sent = do_reply(owner, received_review(channel, google), ANSWER)
    send_due()
    later(monkeypatch, 1)
    send_due()
    sent.refresh_from_db()
    assert (len(google.calls("PUT", REPLY)), sent.delivery) == (1, "sent")


def test_a_revoked_token_waits_then_sends_once_after_reconnection(
    channel: Channel, owner: Member, google: FakeGoogle
) -> None:
    def by_token(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer ya29.new":
            return answer("review_reply.json")(request)
        return answer("error_unauthenticated.json", 401)(request)

    google.on("PUT", REPLY, by_token)
    google.on("POST", "/token", lambda r: httpx.Response(400, json={"error": "invalid_grant"}))
    sent = do_reply(owner, received_review(channel, google), ANSWER)
    send_due()
    channel.refresh_from_db()
    waiting = (channel.health, Outbox.objects.get(message=sent).state)
    do_store_credentials(channel, OAuthTokens(credentials={"access_token": "ya29.new"}))
    send_due()
    send_due()
    accepted = [
        r for r in google.calls("PUT", REPLY) if r.headers["authorization"] == "Bearer ya29.new"
    ]
    assert (waiting, len(accepted)) == ((Health.NEEDS_REAUTH, OutboxState.WAITING), 1)


# --- connecting ------------------------------------------------------------------------------


def test_the_exchange_finds_the_location_and_names_the_channel_after_it(
    channel: Channel, google: FakeGoogle
) -> None:
    google.on("POST", "/token", answer("token.json"))
    google.on("GET", "/v1/accounts", answer("accounts.json"))
    google.on("GET", "/v1/accounts/108294756031/locations", answer("locations.json"))
    tokens = GoogleBusinessConnector(channel, PlatformHttp()).exchange_code("c0de", "https://x/cb/")
    [grant] = google.calls("POST", "/token")
    assert (
        parse_qs(grant.content.decode())["grant_type"],
        tokens.account_id,
        tokens.account_name,
        tokens.credentials["location"],
        tokens.credentials["refresh_token"],
    ) == (["authorization_code"], LOCATION, "Maison Lumen – Lyon", LOCATION, "1//0gLumenRefresh")
