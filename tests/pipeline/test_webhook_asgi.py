"""The webhook route's lean ASGI path (`cercle.asgi` → `pipeline.hooks_asgi`) keeps every check.

Driven as uvicorn drives it: an ASGI scope, the body in one or more messages.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest

from cercle.asgi import application
from cercle.connectors.simulator.connector import SIGNATURE_HEADER, SimulatorConnector, sign
from cercle.pipeline import hooks_asgi
from cercle.pipeline.models import RawEvent
from tests.conftest import sim_body, sim_event

pytestmark = pytest.mark.django_db(transaction=True)


class Answer:
    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""


def _run_in_own_thread(coroutine: Any) -> None:
    """As uvicorn would, on a loop of its own: the browser tests' Playwright keeps an event
    loop running in the test thread, where `asyncio.run` is refused."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as exc:  # raised again in the test thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if errors:
        raise errors[0]


def _call(
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    method: str = "POST",
    chunks: list[bytes] | None = None,
    host: str = "127.0.0.1",
    length: str | None = None,
) -> Answer:
    sent_headers = [(b"host", host.encode())]
    sent_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if length is None and chunks is None:
        length = str(len(body))
    if length is not None:
        sent_headers.append((b"content-length", length.encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": sent_headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    parts = chunks if chunks is not None else [body]
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]
    answer = Answer()

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    _run_in_own_thread(application(scope, receive, send))
    return answer


def _signed(event_id: str, secret: str = "s3cret") -> tuple[bytes, dict[str, str]]:
    body = sim_body(sim_event(event_id))
    return body, {SIGNATURE_HEADER: sign(body, secret), "Content-Type": "application/json"}


def test_only_the_webhook_route_takes_the_lean_path():
    found = hooks_asgi.channel_uuid(
        {"type": "http", "path": "/hooks/0b7c8a5e-1f2d-4c3b-9a8e-7d6c5b4a3f21"}
    )
    others = [
        hooks_asgi.channel_uuid({"type": "http", "path": p})
        for p in ("/healthz", "/hooks/not-a-uuid", "/hooks/0B7C8A5E-1F2D-4C3B-9A8E-7D6C5B4A3F21")
    ]
    lifespan = hooks_asgi.channel_uuid({"type": "lifespan"})
    assert (str(found), others, lifespan) == (
        "0b7c8a5e-1f2d-4c3b-9a8e-7d6c5b4a3f21",
        [None, None, None],
        None,
    )


def test_a_signed_delivery_is_stored_and_acknowledged_with_the_security_headers(sim_channel):
    body, headers = _signed("a1")
    answer = _call(f"/hooks/{sim_channel.uuid}", body, headers)
    assert (answer.status, answer.headers.get("x-content-type-options")) == (200, "nosniff")
    assert RawEvent.objects.filter(channel=sim_channel).count() == 1


def test_a_bad_signature_is_403_and_stores_nothing(sim_channel):
    body, headers = _signed("a1", secret="wrong")
    answer = _call(f"/hooks/{sim_channel.uuid}", body, headers)
    assert (answer.status, json.loads(answer.body), RawEvent.objects.count()) == (
        403,
        {"error": "bad signature"},
        0,
    )


def test_a_malformed_payload_is_400_and_stores_nothing(sim_channel):
    body = b'{"events": 3}'
    headers = {SIGNATURE_HEADER: sign(body, "s3cret")}
    answer = _call(f"/hooks/{sim_channel.uuid}", body, headers)
    assert (answer.status, RawEvent.objects.count()) == (400, 0)
    assert json.loads(answer.body)["error"].startswith("malformed payload")


def test_a_declared_length_over_the_limit_is_413_before_reading(sim_channel, settings):
    settings.CERCLE_MAX_WEBHOOK_BYTES = 100
    answer = _call(f"/hooks/{sim_channel.uuid}", b"", length="101", chunks=[])
    assert (answer.status, json.loads(answer.body)) == (413, {"error": "payload too large"})
    # Answered before the security middleware: its headers all the same.
    assert answer.headers.get("x-content-type-options") == "nosniff"


def test_a_streamed_body_over_the_limit_is_413(sim_channel, settings):
    settings.CERCLE_MAX_WEBHOOK_BYTES = 100
    answer = _call(f"/hooks/{sim_channel.uuid}", chunks=[b"x" * 60, b"x" * 60])
    assert (answer.status, RawEvent.objects.count()) == (413, 0)


def test_a_bad_content_length_is_400(sim_channel):
    answer = _call(f"/hooks/{sim_channel.uuid}", b"{}", length="lots")
    assert (answer.status, json.loads(answer.body)) == (400, {"error": "bad Content-Length"})


def test_a_host_not_allowed_is_400(sim_channel):
    body, headers = _signed("a1")
    answer = _call(f"/hooks/{sim_channel.uuid}", body, headers, host="evil.example")
    assert (answer.status, RawEvent.objects.count()) == (400, 0)


def test_an_unknown_channel_is_404(db):
    body, headers = _signed("a1")
    answer = _call("/hooks/0b7c8a5e-1f2d-4c3b-9a8e-7d6c5b4a3f21", body, headers)
    assert (answer.status, json.loads(answer.body)) == (404, {"error": "unknown channel"})


def test_a_retried_delivery_is_acknowledged_and_stored_once(sim_channel, monkeypatch):
    # As a platform that names its deliveries (the simulator does not).
    monkeypatch.setattr(SimulatorConnector, "delivery_id", lambda self, raw: "delivery-1")
    body, headers = _signed("a1")
    first = _call(f"/hooks/{sim_channel.uuid}", body, headers).status
    second = _call(f"/hooks/{sim_channel.uuid}", body, headers).status
    assert (first, second, RawEvent.objects.count()) == (200, 200, 1)


def test_other_routes_go_through_django(db):
    answer = _call("/healthz", method="GET")
    assert answer.status == 200
