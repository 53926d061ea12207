"""The hook endpoint with the Facebook connector: handshake, signatures, duplicate deliveries."""

from __future__ import annotations

import json

from cercle.inbox.models import Message
from cercle.pipeline.actions import do_ingest_pending
from cercle.pipeline.models import RawEvent

from .conftest import fixture_bytes, signed_headers

# Raw UTF-8 (not \u escapes) so the signature is over non-ASCII bytes.
VECTOR_BODY = (
    '{"object":"page","entry":[{"id":"1234567890321","time":1732526400,"messaging":[{"sender":{"id":"42"},'
    '"recipient":{"id":"1234567890321"},"timestamp":1732526400000,"message":{"mid":"m_vector",'
    '"text":"Où est ma commande ? ☕"}}]}]}'
).encode()
# Computed independently: printf '%s' "$BODY" | openssl dgst -sha256 -hmac fb-app-secret
VECTOR_SIGNATURE = "sha256=35a7991859df2f739524f510250d98eea4f5af6f0ce0a6bd588cb679ebccac4f"


def hook(channel):
    return f"/hooks/{channel.uuid}"


def post(client, channel, body, headers):
    return client.post(hook(channel), data=body, content_type="application/json", **headers)


def test_handshake_with_the_verify_token_answers_the_challenge(client, fb_channel):
    response = client.get(
        hook(fb_channel),
        {
            "hub.mode": "subscribe",
            "hub.verify_token": fb_channel.verify_token,
            "hub.challenge": "1158201444",
        },
    )
    assert (response.status_code, response.content) == (200, b"1158201444")


def test_handshake_with_a_wrong_verify_token_is_refused(client, fb_channel):
    response = client.get(
        hook(fb_channel),
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"},
    )
    assert response.status_code == 403


def test_handshake_never_reflects_markup(client, fb_channel):
    response = client.get(
        hook(fb_channel),
        {
            "hub.mode": "subscribe",
            "hub.verify_token": fb_channel.verify_token,
            "hub.challenge": "<script>x</script>",
        },
    )
    assert response.status_code == 403


def test_known_signature_vector_over_non_ascii_body_is_accepted(client, fb_channel):
    response = post(client, fb_channel, VECTOR_BODY, {"HTTP_X_HUB_SIGNATURE_256": VECTOR_SIGNATURE})
    assert (response.status_code, RawEvent.objects.count()) == (200, 1)


def test_wrong_signature_is_refused_and_nothing_stored(client, fb_channel):
    response = post(
        client, fb_channel, VECTOR_BODY, {"HTTP_X_HUB_SIGNATURE_256": "sha256=" + "0" * 64}
    )
    assert (response.status_code, RawEvent.objects.count()) == (403, 0)


def test_missing_signature_is_refused(client, fb_channel):
    assert post(client, fb_channel, VECTOR_BODY, {}).status_code == 403


def test_signature_of_reserialised_json_does_not_match_the_raw_body(client, fb_channel):
    reserialised = json.dumps(json.loads(VECTOR_BODY)).encode()  # \u escapes and spaces
    assert reserialised != VECTOR_BODY
    response = post(client, fb_channel, VECTOR_BODY, signed_headers(reserialised))
    assert response.status_code == 403


def test_signed_but_malformed_payload_is_a_400(client, fb_channel):
    body = b'{"object": "page", "entry": [{"changes": []}]}'
    assert post(client, fb_channel, body, signed_headers(body)).status_code == 400


def test_duplicate_delivery_gives_one_message(client, fb_channel):
    body = fixture_bytes("webhook_feed_reply_add.json")
    for _ in range(2):
        assert post(client, fb_channel, body, signed_headers(body)).status_code == 200
    do_ingest_pending()
    assert (
        Message.objects.filter(
            channel=fb_channel, external_id="901097836652708_903438993099999"
        ).count()
        == 1
    )


def test_comment_then_its_removal_through_the_hook(client, fb_channel):
    add = fixture_bytes("webhook_feed_comment_edited.json")
    remove = json.loads(add)
    remove["entry"][0]["changes"][0]["value"]["verb"] = "remove"
    remove_body = json.dumps(remove).encode()
    post(client, fb_channel, add, signed_headers(add))
    do_ingest_pending()
    post(client, fb_channel, remove_body, signed_headers(remove_body))
    do_ingest_pending()
    assert Message.objects.get(external_id="900728623356296_900744590021366").deleted_at is not None


def test_messenger_message_and_its_echo_share_one_private_conversation(client, fb_channel):
    inbound = fixture_bytes("webhook_messaging_text.json")
    echo = json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": "1234567890321",
                    "time": 1732526500000,
                    "messaging": [
                        {
                            "sender": {"id": "1234567890321"},
                            "recipient": {"id": "6543210987654321"},
                            "timestamp": 1732526500000,
                            "message": {
                                "mid": "m_echo_1",
                                "text": "Elle part demain.",
                                "is_echo": True,
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()
    post(client, fb_channel, inbound, signed_headers(inbound))
    post(client, fb_channel, echo, signed_headers(echo))
    do_ingest_pending()
    messages = Message.objects.filter(channel=fb_channel).order_by("id")
    assert [(m.direction, m.conversation_id == messages[0].conversation_id) for m in messages] == [
        ("inbound", True),
        ("outbound", True),
    ]


def test_upper_case_hex_is_the_same_signature_and_a_wrong_one_stays_wrong(client, fb_channel):
    """Hex is case-insensitive: the right HMAC in capitals is accepted (once), a wrong one is not."""
    hex_part = VECTOR_SIGNATURE.removeprefix("sha256=")
    wrong = post(
        client, fb_channel, VECTOR_BODY, {"HTTP_X_HUB_SIGNATURE_256": "sha256=" + "AB" * 32}
    )
    upper = post(
        client, fb_channel, VECTOR_BODY, {"HTTP_X_HUB_SIGNATURE_256": "SHA256=" + hex_part.upper()}
    )
    again = post(client, fb_channel, VECTOR_BODY, {"HTTP_X_HUB_SIGNATURE_256": VECTOR_SIGNATURE})
    do_ingest_pending()
    assert (wrong.status_code, upper.status_code, again.status_code) == (403, 200, 200)
    assert Message.objects.filter(external_id="m_vector").count() == 1


def test_a_right_sha1_signature_alone_is_refused(client, fb_channel):
    """Meta also sends the legacy `X-Hub-Signature: sha1=…`; only SHA-256 is trusted."""
    import hashlib
    import hmac

    from .conftest import APP_SECRET

    sha1 = "sha1=" + hmac.new(APP_SECRET.encode(), VECTOR_BODY, hashlib.sha1).hexdigest()
    response = post(client, fb_channel, VECTOR_BODY, {"HTTP_X_HUB_SIGNATURE": sha1})
    assert (response.status_code, RawEvent.objects.count()) == (403, 0)
