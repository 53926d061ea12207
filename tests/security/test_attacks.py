"""Attacks of issue 13 not covered elsewhere: SSRF through the egress guard (6), an open redirect
through `next` (14), hostile bodies to the webhook (9). Each asserts the safe outcome."""

from __future__ import annotations

import json

import httpx
import pytest
from django.test import Client
from django.urls import reverse

from cercle.connectors.base import PermissionDenied
from cercle.connectors.http import PlatformHttp, transport
from cercle.connectors.rss.client import FeedClient
from cercle.connectors.simulator.connector import SIGNATURE_HEADER, sign
from cercle.core.egress import EgressRefused, check_egress
from cercle.pipeline.models import RawEvent

PASSWORD = "correct horse battery"

# --- 6. SSRF: every internal address, however it is spelled, and non-HTTP schemes -------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://127.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://[fd00::1]/",
        "http://localhost/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:25/_HELO",
        "ftp://example.com/",
        "http:///nohost",
    ],
)
def test_the_egress_guard_refuses_internal_addresses_and_other_schemes(url):
    with pytest.raises(EgressRefused):
        check_egress(url)


def test_a_redirect_to_loopback_is_refused_at_the_next_hop():
    """A public feed that redirects to 127.0.0.1: the guard re-checks the new address."""
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://127.0.0.1:8000/admin/"})

    with transport(httpx.MockTransport(handler)):
        http = PlatformHttp()
    http.guarded = True  # the real guard, on a fake network
    # The first hop is a public literal address (no DNS needed); the second is refused.
    with pytest.raises(PermissionDenied, match="refused"):
        FeedClient(http).fetch("http://93.184.216.34/feed.xml")
    assert asked == ["http://93.184.216.34/feed.xml"]


# --- 14. open redirect through `next` -----------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "https:evil.example",
        "javascript:alert(1)",
    ],
)
def test_login_never_redirects_to_another_site(owner, target):
    response = Client().post(
        reverse("workspaces:login") + "?next=" + target,
        {"username": "lea", "password": PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("inbox:index")


def test_login_follows_a_local_next(owner):
    response = Client().post(
        reverse("workspaces:login"),
        {"username": "lea", "password": PASSWORD, "next": "/settings/members/"},
    )
    assert response["Location"] == "/settings/members/"


def test_the_language_switch_never_redirects_to_another_site(db):
    response = Client().post(
        reverse("set_language"), {"language": "fr", "next": "https://evil.example/"}
    )
    assert not response.get("Location", "/").startswith(("http", "//"))


# --- 9. hostile bodies: fast 4xx, nothing stored, the next delivery still works ------------------


def _post(channel, body: bytes, *, signed: bool = True, **extra):
    header = "HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_")
    headers = {header: sign(body, "s3cret")} if signed else {}
    return Client().post(
        reverse("pipeline:webhook", kwargs={"channel_uuid": channel.uuid}),
        data=body,
        content_type="application/json",
        **headers,
        **extra,
    )


def test_a_10_mb_body_is_refused_with_413_and_nothing_is_stored(sim_channel):
    body = b'{"events": ["' + b"x" * (10 * 1024 * 1024) + b'"]}'
    assert (_post(sim_channel, body, signed=False).status_code, RawEvent.objects.count()) == (
        413,
        0,
    )


def test_100000_deep_json_is_a_400_and_nothing_is_stored(sim_channel):
    body = b"[" * 100_000 + b"]" * 100_000
    assert (_post(sim_channel, body).status_code, RawEvent.objects.count()) == (400, 0)


def test_invalid_utf8_is_a_400_and_nothing_is_stored(sim_channel):
    body = b'{"events": [{"id": "\xff\xfe"}]}'
    assert (_post(sim_channel, body).status_code, RawEvent.objects.count()) == (400, 0)


def test_duplicate_keys_are_not_a_way_around_validation(sim_channel):
    """{"events": [...valid...], "events": "x"}: the parser keeps one value; invalid is refused."""
    body = b'{"events": [], "events": "not a list"}'
    assert (_post(sim_channel, body).status_code, RawEvent.objects.count()) == (400, 0)


def test_after_hostile_bodies_a_good_delivery_is_still_stored(sim_channel):
    from tests.conftest import sim_body, sim_event

    for body in (b"[" * 100_000, b"\xff", b'{"events": 1, "events": 2}'):
        _post(sim_channel, body)
    good = sim_body(sim_event("ok1"))
    assert _post(sim_channel, good).status_code == 200
    assert json.loads(bytes(RawEvent.objects.get().body))["events"][0]["id"] == "ok1"
