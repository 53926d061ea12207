"""Signature, handshake and delivery through the real /hooks/<uuid> view."""

from __future__ import annotations

import json

import pytest

from cercle.connectors.instagram.connector import sign, signature_ok
from cercle.inbox.models import Message
from cercle.pipeline.actions import do_ingest_pending
from cercle.pipeline.models import RawEvent
from tests.connectors.instagram.conftest import APP_SECRET, fixture_bytes, signed_headers

# An independent vector: `openssl dgst -sha256 -hmac 'ig-app-secret'` over these exact bytes
# (UTF-8, with non-ASCII text, as Meta sends it).
VECTOR_BODY = (
    '{"object":"instagram","entry":[{"id":"17841405793187218","time":1732521600,"changes":[{"field":"comments",'
    '"value":{"from":{"id":"1244567893456789","username":"camille.durand"},"media":{"id":"17918195224117851",'
    '"media_product_type":"FEED"},"id":"17865799348089039","text":"Où est ma commande ? 😕"}}]}]}'
).encode()
VECTOR_SIGNATURE = "sha256=ce8269b4b120a3865e4ce7d15300f8c23fb75413bed870ed96dcfe8a784e3345"


def hook_url(channel) -> str:
    return f"/hooks/{channel.uuid}"


def test_signature_matches_known_vector():
    assert sign(VECTOR_BODY, APP_SECRET) == VECTOR_SIGNATURE


def test_signature_over_reserialised_json_fails():
    # Same data, but json.dumps escapes non-ASCII: the bytes differ, so must the signature.
    reserialised = json.dumps(json.loads(VECTOR_BODY), separators=(",", ":")).encode()
    assert not signature_ok(reserialised, VECTOR_SIGNATURE, APP_SECRET)


def test_signed_delivery_is_stored(client, ig_channel):
    response = client.post(
        hook_url(ig_channel),
        VECTOR_BODY,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=VECTOR_SIGNATURE,
    )
    assert (response.status_code, RawEvent.objects.filter(channel=ig_channel).count()) == (200, 1)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_HUB_SIGNATURE_256": "sha256=" + "0" * 64},
        {"HTTP_X_HUB_SIGNATURE_256": sign(VECTOR_BODY, "another-secret")},
        {"HTTP_X_HUB_SIGNATURE": "sha1=whatever"},
    ],
)
def test_bad_signature_is_refused_and_nothing_stored(client, ig_channel, headers):
    response = client.post(
        hook_url(ig_channel), VECTOR_BODY, content_type="application/json", **headers
    )
    assert (response.status_code, RawEvent.objects.count()) == (403, 0)


def test_signature_of_reserialised_body_is_refused_at_the_hook(client, ig_channel):
    reserialised = json.dumps(json.loads(VECTOR_BODY)).encode()
    response = client.post(
        hook_url(ig_channel),
        VECTOR_BODY,
        content_type="application/json",
        **signed_headers(reserialised),
    )
    assert response.status_code == 403


def test_handshake_echoes_the_challenge(client, ig_channel):
    response = client.get(
        hook_url(ig_channel),
        {
            "hub.mode": "subscribe",
            "hub.verify_token": ig_channel.verify_token,
            "hub.challenge": "1158201444",
        },
    )
    assert (response.status_code, response.content) == (200, b"1158201444")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1158201444"},
        {"hub.mode": "unsubscribe", "hub.verify_token": None, "hub.challenge": "1158201444"},
        {
            "hub.mode": "subscribe",
            "hub.verify_token": None,
            "hub.challenge": "<script>alert(1)</script>",
        },
        {"hub.mode": "subscribe", "hub.verify_token": None},
    ],
)
def test_bad_handshake_is_refused(client, ig_channel, params):
    params = {k: (ig_channel.verify_token if v is None else v) for k, v in params.items()}
    assert client.get(hook_url(ig_channel), params).status_code == 403


def test_signed_but_malformed_payload_is_400(client, ig_channel):
    body = b'{"object": "instagram", "entry": [{"id": "17841405793187218", "changes": [{"field": "comments", "value": {"id": "c"}}]}]}'
    response = client.post(
        hook_url(ig_channel), body, content_type="application/json", **signed_headers(body)
    )
    assert (response.status_code, RawEvent.objects.count()) == (400, 0)


def test_duplicate_delivery_gives_one_message(client, ig_channel):
    body = fixture_bytes("webhook_comment.json")
    for _ in range(2):
        client.post(
            hook_url(ig_channel), body, content_type="application/json", **signed_headers(body)
        )
    do_ingest_pending()
    assert Message.objects.filter(channel=ig_channel, external_id="17865799348089039").count() == 1


def test_every_fixture_ingests_through_the_hook(client, ig_channel):
    names = [
        "webhook_comment.json",
        "webhook_comment_reply.json",
        "webhook_mention_comment.json",
        "webhook_message.json",
        "webhook_message_echo.json",
        "webhook_message_share.json",
    ]
    for name in names:
        body = fixture_bytes(name)
        client.post(
            hook_url(ig_channel), body, content_type="application/json", **signed_headers(body)
        )
    report = do_ingest_pending()
    assert (report.events, report.failed, Message.objects.filter(channel=ig_channel).count()) == (
        6,
        0,
        6,
    )


def test_unsend_after_ingest_tombstones_the_message(client, ig_channel):
    for name in ("webhook_message.json", "webhook_message_deleted.json"):
        body = fixture_bytes(name)
        client.post(
            hook_url(ig_channel), body, content_type="application/json", **signed_headers(body)
        )
        do_ingest_pending()
    assert (
        Message.objects.get(external_id="aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1").deleted_at
        is not None
    )


def test_edit_after_ingest_changes_the_text(client, ig_channel):
    for name in ("webhook_message.json", "webhook_message_edit.json"):
        body = fixture_bytes(name)
        client.post(
            hook_url(ig_channel), body, content_type="application/json", **signed_headers(body)
        )
        do_ingest_pending()
    assert (
        Message.objects.get(external_id="aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1").text
        == "Bonjour, où est mon colis n°4521 ?"
    )
