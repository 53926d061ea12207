"""The website's signed webhook: the signature, its time window (replay), bad input."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from cercle.connectors.base import BadSignature
from cercle.connectors.models import Channel
from cercle.connectors.website.client import check_signature, sign
from cercle.inbox.models import Message
from cercle.pipeline.actions import do_ingest_pending
from cercle.pipeline.models import RawEvent

from .conftest import SECRET, fixture_bytes, push

pytestmark = pytest.mark.django_db

VECTOR_T = 1764489600
# Raw UTF-8; computed independently:
# printf '%s' "1764489600.$BODY" | openssl dgst -sha256 -hmac whsec-lumen-2026
VECTOR_BODY = (
    '{"items":[{"id":"c-1","text":"Où est ma commande ? ☕","author":{"id":"u-1"}}]}'.encode()
)
VECTOR = "t=1764489600,v1=6774387be62c015f8cb3af33ae5d7e39227e91c79fc224673eea5874efe6caf7"


def test_signature_matches_the_openssl_vector() -> None:
    assert sign(VECTOR_BODY, SECRET, VECTOR_T) == VECTOR


def test_vector_is_accepted_within_five_minutes() -> None:
    assert check_signature(VECTOR, VECTOR_BODY, SECRET, now=VECTOR_T + 299) == VECTOR_T


def test_vector_replayed_after_five_minutes_is_refused() -> None:
    with pytest.raises(BadSignature, match="too old"):
        check_signature(VECTOR, VECTOR_BODY, SECRET, now=VECTOR_T + 301)


def test_timestamp_in_the_future_is_refused() -> None:
    with pytest.raises(BadSignature, match="future"):
        check_signature(VECTOR, VECTOR_BODY, SECRET, now=VECTOR_T - 60)


def test_a_new_timestamp_on_an_old_signature_does_not_verify() -> None:
    forged = VECTOR.replace(str(VECTOR_T), str(VECTOR_T + 400))
    with pytest.raises(BadSignature, match="bad"):
        check_signature(forged, VECTOR_BODY, SECRET, now=VECTOR_T + 400)


def test_one_of_two_signatures_may_match_while_a_secret_rotates() -> None:
    both = f"t={VECTOR_T},v1={'0' * 64},{VECTOR.split(',')[1]}"
    assert check_signature(both, VECTOR_BODY, SECRET, now=VECTOR_T) == VECTOR_T


def test_signed_delivery_is_stored_and_ingested(client: Client, web_channel: Channel) -> None:
    response = push(client, web_channel, fixture_bytes("site_comment.json"))
    do_ingest_pending()
    assert (response.status_code, Message.objects.get().external_id) == (200, "s:cmt-5501")


def test_old_delivery_is_refused_and_nothing_stored(client: Client, web_channel: Channel) -> None:
    body = fixture_bytes("site_comment.json")
    response = push(client, web_channel, body, at=int(time.time()) - 360)
    assert (response.status_code, RawEvent.objects.count()) == (403, 0)


def test_future_delivery_is_refused(client: Client, web_channel: Channel) -> None:
    body = fixture_bytes("site_comment.json")
    assert push(client, web_channel, body, at=int(time.time()) + 600).status_code == 403


@pytest.mark.parametrize(
    "signature",
    ["", "v1=abc", "t=abc,v1=00", "sha256=00", "t={now},v1=" + "0" * 64],
)
def test_missing_malformed_or_wrong_signature_is_refused(
    client: Client, web_channel: Channel, signature: str
) -> None:
    body = fixture_bytes("site_comment.json")
    signature = signature.replace("{now}", str(int(time.time())))
    response = push(client, web_channel, body, signature=signature)
    assert (response.status_code, RawEvent.objects.count()) == (403, 0)


def test_signature_of_reserialised_json_does_not_match(
    client: Client, web_channel: Channel
) -> None:
    body = fixture_bytes("site_comment.json")
    other = json.dumps(json.loads(body)).encode()
    response = push(client, web_channel, body, signature=sign(other, SECRET))
    assert response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        b"{nope",
        b'{"items": []}',
        b'{"items": [{"type": "comment", "text": "no id", "author": {"id": "u"}}]}',
        b'{"items": [{"id": "a b", "text": "x", "author": {"id": "u"}}]}',
        b'{"items": [{"id": "r", "type": "review", "rating": 9, "author": {"id": "u"}}]}',
        b'{"items": [{"id": "p", "text": "x", "author": {"id": "u"}, "page": {"url": "javascript:alert(1)"}}]}',
        json.dumps(
            {"items": [{"id": f"c{i}", "text": "x", "author": {"id": "u"}} for i in range(101)]}
        ).encode(),
    ],
)
def test_malformed_but_signed_payload_is_a_400(
    client: Client, web_channel: Channel, body: bytes
) -> None:
    response = push(client, web_channel, body)
    assert (response.status_code, RawEvent.objects.count()) == (400, 0)


def test_huge_payload_is_a_413(client: Client, web_channel: Channel, settings) -> None:
    settings.CERCLE_MAX_WEBHOOK_BYTES = 1000
    body = json.dumps({"items": [{"id": "c", "text": "x" * 2000, "author": {"id": "u"}}]}).encode()
    assert push(client, web_channel, body).status_code == 413


def test_replayed_delivery_inside_the_window_is_stored_once(
    client: Client, web_channel: Channel
) -> None:
    body = fixture_bytes("site_comment.json")
    header = sign(body, SECRET)
    first = push(client, web_channel, body, signature=header)
    again = push(client, web_channel, body, signature=header)
    assert (first.status_code, again.status_code, RawEvent.objects.count()) == (200, 200, 1)


def test_the_same_item_sent_again_later_gives_one_message(
    client: Client, web_channel: Channel
) -> None:
    body = fixture_bytes("site_comment.json")
    push(client, web_channel, body, at=int(time.time()) - 10)
    push(client, web_channel, body)
    do_ingest_pending()
    assert (RawEvent.objects.count(), Message.objects.count()) == (2, 1)


def test_upper_case_hex_is_the_same_signature_and_a_wrong_one_stays_wrong() -> None:
    t, _, v1 = VECTOR.partition(",v1=")
    assert check_signature(f"{t},v1={v1.upper()}", VECTOR_BODY, SECRET, now=VECTOR_T) == VECTOR_T
    with pytest.raises(BadSignature, match="bad"):
        check_signature(f"{t},v1={'AB' * 32}", VECTOR_BODY, SECRET, now=VECTOR_T)
