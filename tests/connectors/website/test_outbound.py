"""Answers and moderation on a website through the real sender: the signed callback, or the widget."""

from __future__ import annotations

import time

import httpx
import pytest
from django.test import Client

from cercle.connectors.base import ActionKind
from cercle.connectors.choices import Health
from cercle.connectors.models import Channel
from cercle.connectors.website.client import SIGNATURE_HEADER, check_signature
from cercle.inbox.actions import do_moderate_message, do_reply
from cercle.inbox.choices import OutboxState
from cercle.inbox.models import Message, Outbox
from cercle.pipeline.actions import do_ingest_pending
from cercle.pipeline.sender import send_due
from cercle.workspaces.models import Member

from .conftest import CALLBACK, SECRET, FakeSite, fixture_bytes, push

pytestmark = pytest.mark.django_db


def pushed(client: Client, channel: Channel, name: str = "site_comment.json") -> Message:
    assert push(client, channel, fixture_bytes(name)).status_code == 200
    do_ingest_pending()
    return Message.objects.filter(channel=channel).latest("id")


def test_reply_to_a_site_item_is_posted_signed_to_the_callback(
    client: Client, web_channel: Channel, owner: Member, site: FakeSite
) -> None:
    site.answers = [httpx.Response(200, content=fixture_bytes("callback_reply_answer.json"))]
    comment = pushed(client, web_channel)
    sent = do_reply(owner, comment.conversation, "Oui, en laiton dès janvier.")
    send_due()
    [request] = site.requests
    sent.refresh_from_db()
    outbox = Outbox.objects.get(message=sent)
    verified = check_signature(request.headers[SIGNATURE_HEADER], request.content, SECRET)
    assert (
        str(request.url),
        abs(verified - time.time()) < 5,
        site.bodies()[0],
        sent.external_id,
    ) == (
        CALLBACK,
        True,
        {
            "type": "reply",
            "idempotency_key": outbox.idempotency_key,
            "target_id": "cmt-5501",
            "thread_id": "",
            "page_url": "https://www.maisonlumen.example/journal/la-lampe-aube",
            "text": "Oui, en laiton dès janvier.",
            "private": False,
        },
        "s:cmt-5520",
    )


def test_answer_in_a_site_thread_is_private(
    client: Client, web_channel: Channel, owner: Member, site: FakeSite
) -> None:
    contact = pushed(client, web_channel, "site_contact.json")
    do_reply(owner, contact.conversation, "Nous vérifions.")
    send_due()
    body = site.bodies()[0]
    assert (body["thread_id"], body["private"]) == ("ticket-8812", True)


def test_hide_of_a_site_item_asks_the_site(
    client: Client, web_channel: Channel, owner: Member, site: FakeSite
) -> None:
    comment = pushed(client, web_channel)
    do_moderate_message(owner, comment, ActionKind.HIDE)
    send_due()
    comment.refresh_from_db()
    assert ((site.bodies()[0]["type"], site.bodies()[0]["target_id"]), comment.is_hidden) == (
        ("hide", "cmt-5501"),
        True,
    )


def test_without_a_callback_the_team_is_told_to_answer_on_the_site(
    client: Client, web_channel: Channel, owner: Member, site: FakeSite
) -> None:
    web_channel.config = {**web_channel.config, "callback_url": ""}
    web_channel.save()
    comment = pushed(client, web_channel)
    sent = do_reply(owner, comment.conversation, "Bonjour")
    send_due()
    sent.refresh_from_db()
    assert (sent.delivery, "callback URL" in sent.delivery_error, site.requests) == (
        "failed",
        True,
        [],
    )


def test_a_site_error_is_retried_with_the_same_idempotency_key(
    client: Client, web_channel: Channel, owner: Member, site: FakeSite, monkeypatch
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    site.answers = [httpx.Response(503, text="maintenance"), httpx.Response(200, json={"id": "c9"})]
    comment = pushed(client, web_channel)
    sent = do_reply(owner, comment.conversation, "Bonjour")
    send_due()
    moment = timezone.now() + timedelta(minutes=5)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    send_due()
    sent.refresh_from_db()
    keys = {r.headers["Idempotency-Key"] for r in site.requests}
    assert (len(site.requests), len(keys), sent.external_id) == (2, 1, "s:c9")


def test_a_site_refusing_our_signature_waits_for_reconnection(
    client: Client, web_channel: Channel, owner: Member, site: FakeSite
) -> None:
    site.answers = [httpx.Response(401, text="bad signature")]
    comment = pushed(client, web_channel)
    sent = do_reply(owner, comment.conversation, "Bonjour")
    send_due()
    web_channel.refresh_from_db()
    assert (web_channel.health, Outbox.objects.get(message=sent).state) == (
        Health.NEEDS_REAUTH,
        OutboxState.WAITING,
    )


def test_the_callback_goes_through_the_egress_guard(
    client: Client, web_channel: Channel, owner: Member
) -> None:
    web_channel.config = {**web_channel.config, "callback_url": "http://127.0.0.1:9/cb"}
    web_channel.save()
    comment = pushed(client, web_channel)
    sent = do_reply(owner, comment.conversation, "Bonjour")
    send_due()  # no test transport: the real client, whose guard refuses loopback
    sent.refresh_from_db()
    web_channel.refresh_from_db()
    assert (sent.delivery, "non-public" in sent.delivery_error, web_channel.health) == (
        "failed",
        True,
        Health.DEGRADED,
    )
