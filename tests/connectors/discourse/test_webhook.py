"""The hook endpoint with the Discourse connector: the ping, signatures, bad input, duplicates."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from cercle.connectors.discourse.connector import sign
from cercle.connectors.models import Channel
from cercle.inbox.models import Message
from cercle.pipeline.actions import do_ingest_pending
from cercle.pipeline.models import RawEvent

from .conftest import SECRET, deliver, fixture_bytes

pytestmark = pytest.mark.django_db

# Discourse's own vector (spec/jobs/emit_web_hook_event_spec.rb).
PING = b'{"ping":"OK"}'
PING_SIGNATURE = "sha256=162f107f6b5022353274eb1a7197885cfd35744d8d08e5bcea025d309386b7d6"
# Raw UTF-8 (not \u escapes), signature computed independently:
# printf '%s' "$BODY" | openssl dgst -sha256 -hmac my_lovely_secret_for_web_hook
NON_ASCII = (
    '{"post":{"id":7,"topic_id":3,"post_number":2,"raw":"Où est ma commande ? ☕"}}'.encode()
)
NON_ASCII_SIGNATURE = "sha256=d7251c57d5de40a1513c58349c98ec40fb3c5f78a2a7a305b95cab5dc773185e"


def test_discourse_test_vector() -> None:
    assert sign(PING, SECRET) == PING_SIGNATURE


def test_ping_is_answered_and_not_stored(client: Client, discourse_channel: Channel) -> None:
    response = deliver(client, discourse_channel, PING, event="ping", signature=PING_SIGNATURE)
    assert (response.status_code, response.content, RawEvent.objects.count()) == (200, b"OK", 0)


def test_ping_with_a_wrong_signature_is_refused(client: Client, discourse_channel: Channel) -> None:
    response = deliver(
        client, discourse_channel, PING, event="ping", signature="sha256=" + "0" * 64
    )
    assert response.status_code == 403


def test_signature_over_non_ascii_raw_bytes_is_accepted(
    client: Client, discourse_channel: Channel
) -> None:
    response = deliver(client, discourse_channel, NON_ASCII, signature=NON_ASCII_SIGNATURE)
    assert (response.status_code, RawEvent.objects.count()) == (200, 1)


def test_wrong_signature_is_refused_and_nothing_stored(
    client: Client, discourse_channel: Channel
) -> None:
    body = fixture_bytes("webhook_post_created_reply.json")
    response = deliver(client, discourse_channel, body, signature=sign(body, "another secret"))
    assert (response.status_code, RawEvent.objects.count()) == (403, 0)


def test_missing_signature_is_refused(client: Client, discourse_channel: Channel) -> None:
    body = fixture_bytes("webhook_post_created_reply.json")
    assert deliver(client, discourse_channel, body, signature="").status_code == 403


def test_signature_of_reserialised_json_does_not_match_the_raw_body(
    client: Client, discourse_channel: Channel
) -> None:
    body = fixture_bytes("webhook_post_created_reply.json")
    reserialised = json.dumps(json.loads(body)).encode()
    response = deliver(client, discourse_channel, body, signature=sign(reserialised, SECRET))
    assert response.status_code == 403


def test_a_channel_without_secret_refuses_everything(
    client: Client, discourse_channel: Channel
) -> None:
    discourse_channel.set_credentials({"api_key": "k"})
    discourse_channel.save()
    response = deliver(client, discourse_channel, PING, event="ping", signature=PING_SIGNATURE)
    assert response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"post": "a string"}', b'{"post": {"id": "12; drop", "topic_id": 1}}'],
)
def test_malformed_but_signed_payload_is_a_400(
    client: Client, discourse_channel: Channel, body: bytes
) -> None:
    response = deliver(client, discourse_channel, body)
    assert (response.status_code, RawEvent.objects.count()) == (400, 0)


def test_huge_payload_is_a_413(client: Client, discourse_channel: Channel, settings) -> None:
    settings.CERCLE_MAX_WEBHOOK_BYTES = 1000
    body = json.dumps({"post": {"id": 1, "topic_id": 1, "raw": "x" * 2000}}).encode()
    assert deliver(client, discourse_channel, body).status_code == 413


def test_redelivery_of_the_same_event_is_acknowledged_and_stored_once(
    client: Client, discourse_channel: Channel
) -> None:
    body = fixture_bytes("webhook_post_created_reply.json")
    first = deliver(client, discourse_channel, body, event_id="9001")
    again = deliver(client, discourse_channel, body, event_id="9001")
    assert (first.status_code, again.status_code, RawEvent.objects.count()) == (200, 200, 1)


def test_the_same_post_under_two_event_ids_gives_one_message(
    client: Client, discourse_channel: Channel
) -> None:
    body = fixture_bytes("webhook_post_created_reply.json")
    deliver(client, discourse_channel, body, event_id="9001")
    deliver(client, discourse_channel, body, event_id="9002")
    do_ingest_pending()
    assert (
        RawEvent.objects.count(),
        Message.objects.filter(channel=discourse_channel).count(),
    ) == (
        2,
        1,
    )


def test_upper_case_hex_is_the_same_signature_and_a_wrong_one_stays_wrong(
    client: Client, discourse_channel: Channel
) -> None:
    upper = "sha256=" + NON_ASCII_SIGNATURE.removeprefix("sha256=").upper()
    wrong = deliver(client, discourse_channel, NON_ASCII, signature="sha256=" + "AB" * 32)
    right = deliver(client, discourse_channel, NON_ASCII, signature=upper)
    assert (wrong.status_code, right.status_code, RawEvent.objects.count()) == (403, 200, 1)


def test_a_right_sha1_signature_is_refused(client: Client, discourse_channel: Channel) -> None:
    import hashlib
    import hmac

    sha1 = "sha1=" + hmac.new(SECRET.encode(), NON_ASCII, hashlib.sha1).hexdigest()
    response = deliver(client, discourse_channel, NON_ASCII, signature=sha1)
    assert (response.status_code, RawEvent.objects.count()) == (403, 0)
