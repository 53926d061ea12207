"""X's Account Activity webhook at /hooks/<uuid>: CRC handshake, signatures, duplicate deliveries."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from cercle.connectors.models import Channel
from cercle.connectors.x.connector import signature
from cercle.inbox.models import Conversation, Message
from cercle.pipeline.actions import do_ingest_pending
from cercle.pipeline.models import RawEvent

from .conftest import CONSUMER_SECRET, POST_ID, fixture_bytes

pytestmark = pytest.mark.django_db

# Known vectors computed with OpenSSL, not with our code:
#   printf '%s' 'crc_token_from_x' | openssl dgst -sha256 -hmac 'consumer_secret_abc' -binary | base64
CRC_VECTOR = "sha256=M3amGHX2xcIXDVz6m7peBzCzmC1wA/Rwcm980tyODgw="
#   openssl dgst -sha256 -hmac 'consumer_secret_abc' -binary < aaa_tweet_create_mention.json | base64
MENTION_VECTOR = "sha256=XnnTkdp8b15iWOW/jlQEBfSOl+G9ePSrQd3EBmobj8o="
#   printf '%s' 'crc-token-Ünïcode' | openssl dgst -sha256 -hmac 'consumer-sécret' -binary | base64
UNICODE_VECTOR = "sha256=TJfkuu3w01DDNuN1Wy1phIBzHIjcp9ypn3GhNaHlja8="


def hook(channel: Channel) -> str:
    return f"/hooks/{channel.uuid}"


def deliver(client: Client, channel: Channel, body: bytes, sig: str | None = None) -> int:
    headers = {
        "HTTP_X_TWITTER_WEBHOOKS_SIGNATURE": sig
        if sig is not None
        else signature(CONSUMER_SECRET, body)
    }
    return client.post(
        hook(channel), data=body, content_type="application/json", **headers
    ).status_code


def test_signature_matches_the_openssl_vector_over_non_ascii_raw_bytes() -> None:
    body = fixture_bytes("aaa_tweet_create_mention.json")
    assert b"\xc3\xa9" in body and signature(CONSUMER_SECRET, body) == MENTION_VECTOR


def test_signature_with_non_ascii_secret_matches_the_openssl_vector() -> None:
    assert signature("consumer-sécret", "crc-token-Ünïcode".encode()) == UNICODE_VECTOR


def test_crc_challenge_is_answered_with_the_known_vector(x_channel: Channel) -> None:
    response = Client().get(hook(x_channel), {"crc_token": "crc_token_from_x"})
    assert (response.status_code, response.json()) == (200, {"response_token": CRC_VECTOR})


def test_crc_without_token_is_refused(x_channel: Channel) -> None:
    assert Client().get(hook(x_channel)).status_code == 403


def test_good_signature_is_stored(x_channel: Channel) -> None:
    body = fixture_bytes("aaa_tweet_create_mention.json")
    status = deliver(Client(), x_channel, body, MENTION_VECTOR)
    assert (status, RawEvent.objects.filter(channel=x_channel).count()) == (200, 1)


def test_wrong_signature_is_refused_and_nothing_stored(x_channel: Channel) -> None:
    body = fixture_bytes("aaa_tweet_create_mention.json")
    status = deliver(Client(), x_channel, body, signature("another-secret", body))
    assert (status, RawEvent.objects.count()) == (403, 0)


def test_missing_signature_is_refused(x_channel: Channel) -> None:
    assert deliver(Client(), x_channel, fixture_bytes("aaa_tweet_create_mention.json"), "") == 403


def test_signature_over_reserialised_json_fails(x_channel: Channel) -> None:
    body = fixture_bytes("aaa_tweet_create_mention.json")
    # Same data, different bytes: what a framework that parsed and re-dumped the JSON would sign.
    reserialised = json.dumps(json.loads(body)).encode()
    assert deliver(Client(), x_channel, body, signature(CONSUMER_SECRET, reserialised)) == 403


def test_malformed_but_signed_payload_is_a_400(x_channel: Channel) -> None:
    body = b'{"for_user_id": "1072250532645998596", "tweet_create_events": [{"id_str": "x"}]}'
    assert deliver(Client(), x_channel, body) == 400


def test_duplicate_delivery_gives_one_message(x_channel: Channel) -> None:
    body = fixture_bytes("aaa_tweet_create_reply.json")
    client = Client()
    statuses = [deliver(client, x_channel, body), deliver(client, x_channel, body)]
    do_ingest_pending()
    assert (statuses, Message.objects.filter(channel=x_channel).count()) == ([200, 200], 1)


def test_ingested_reply_is_threaded_under_the_brand_post(x_channel: Channel) -> None:
    deliver(Client(), x_channel, fixture_bytes("aaa_tweet_create_reply.json"))
    do_ingest_pending()
    conversation = Conversation.objects.get(channel=x_channel)
    assert conversation.post is not None and conversation.post.external_id == POST_ID


def test_ingested_edit_then_delete_update_one_message(x_channel: Channel) -> None:
    client = Client()
    for name in (
        "aaa_tweet_create_reply.json",
        "aaa_tweet_create_edit.json",
        "aaa_tweet_delete.json",
    ):
        deliver(client, x_channel, fixture_bytes(name))
        do_ingest_pending()
    message = Message.objects.get(channel=x_channel)
    assert ("Suisse" in message.text, message.deleted_at is not None) == (True, True)
