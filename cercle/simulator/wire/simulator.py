"""The `simulator` platform's wire: signed JSON webhooks and a small actions API.

The format is documented at the top of `cercle.connectors.simulator.connector`;
the API (`POST /actions` with an `Idempotency-Key`, `GET /actions?idempotency_key=`,
`GET /me`) is what `cercle.connectors.simulator.client` calls.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import threading
from collections.abc import Iterable
from typing import Any

from cercle.connectors.simulator.connector import SIGNATURE_HEADER, sign

from .base import (
    ActionListener,
    ChannelSetup,
    FakeRequest,
    FakeResponse,
    SimAction,
    SimEvent,
    WebhookDelivery,
    Wire,
)

# Actions that create an item on the platform (and so get a fresh id).
CREATING = {"reply", "private_reply", "send_private"}
KNOWN_KINDS = CREATING | {"hide", "unhide", "delete", "ban", "unban", "like"}


def event_json(event: SimEvent) -> dict[str, Any]:
    """One SimEvent in the simulator platform's wire format."""
    data: dict[str, Any] = {
        "type": event.type,
        "op": event.op,
        "id": event.id,
        "author": {
            "id": event.author.id,
            "name": event.author.name,
            "handle": event.author.handle,
            "avatar": event.author.avatar,
        },
        "text": event.text,
        "created_at": event.created_at.isoformat(),
    }
    if event.post is not None:
        data["post"] = {
            "id": event.post.id,
            "text": event.post.text,
            "url": event.post.url,
            "published_at": event.post.published_at.isoformat(),
        }
    if event.parent_id:
        data["parent_id"] = event.parent_id
    if event.thread_id:
        data["thread_id"] = event.thread_id
    if event.rating is not None:
        data["rating"] = event.rating
    if event.from_brand:
        data["from_brand"] = True
    return data


def body_for(events: Iterable[SimEvent]) -> bytes:
    """The JSON body carrying `events`."""
    return json.dumps({"events": [event_json(e) for e in events]}, ensure_ascii=False).encode()


def _secret(channel_key: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{channel_key}".encode()).hexdigest()[:32]


class SimulatorWire(Wire):
    """Plays the simulator platform for one channel (thread-safe: the server is threaded)."""

    platform = "simulator"
    # Events per webhook delivery (the platform pushes one by one by default).
    batch_size = 1

    def __init__(
        self, channel_key: str, api_base: str, on_action: ActionListener, salt: str = ""
    ) -> None:
        super().__init__(channel_key, api_base, on_action)
        # Fresh secrets every run (the demo re-points its channels at each start).
        salt = salt or secrets.token_hex(16)
        self.account_id = f"lumen-{channel_key}"
        self.webhook_secret = _secret(channel_key, "hook:" + salt)
        self.access_token = _secret(channel_key, "token:" + salt)
        self._lock = threading.Lock()
        self._by_key: dict[str, dict[str, str]] = {}
        self._ids = itertools.count(1)
        self.revoked = False  # tests flip it to play a revoked token

    def setup(self) -> ChannelSetup:
        return ChannelSetup(
            external_id=self.account_id,
            config={"api_base": self.api_base, "sim_channel_key": self.channel_key},
            credentials={"webhook_secret": self.webhook_secret, "access_token": self.access_token},
        )

    def webhooks(self, events: list[SimEvent]) -> list[WebhookDelivery]:
        deliveries = []
        for start in range(0, len(events), self.batch_size):
            body = body_for(events[start : start + self.batch_size])
            deliveries.append(
                WebhookDelivery.signed_json(body, SIGNATURE_HEADER, sign(body, self.webhook_secret))
            )
        return deliveries

    def handle(self, request: FakeRequest) -> FakeResponse:
        if (
            request.headers.get("authorization", "") != f"Bearer {self.access_token}"
            or self.revoked
        ):
            return _json(401, {"error": "invalid token"})
        if request.path == "/me" and request.method == "GET":
            return _json(200, {"id": self.account_id, "name": f"Lumen ({self.channel_key})"})
        if request.path == "/actions" and request.method == "GET":
            key = (request.query.get("idempotency_key") or [""])[0]
            with self._lock:
                found = self._by_key.get(key)
            return _json(200, found) if found else _json(404, {"error": "not found"})
        if request.path == "/actions" and request.method == "POST":
            return self._perform(request)
        return _json(404, {"error": "no such endpoint"})

    def _perform(self, request: FakeRequest) -> FakeResponse:
        try:
            payload = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _json(400, {"error": "not JSON"})
        if not isinstance(payload, dict) or payload.get("kind") not in KNOWN_KINDS:
            return _json(400, {"error": "unknown action"})
        key = request.headers.get("idempotency-key", "") or str(payload.get("idempotency_key", ""))
        if not key:
            return _json(400, {"error": "Idempotency-Key required"})
        kind = str(payload["kind"])
        target = str(
            payload.get("target_external_id")
            or payload.get("thread_ref")
            or payload.get("author_external_id")
            or ""
        )
        with self._lock:
            # The same key never creates twice: answer with what the first call made.
            if key in self._by_key:
                return _json(200, self._by_key[key])
            created = f"{self.channel_key}-brand-{next(self._ids)}" if kind in CREATING else target
            result = {"id": created, "url": f"{self.api_base}/items/{created}"}
            self._by_key[key] = result
        self.on_action(
            SimAction(
                kind=kind,
                target_id=target,
                text=str(payload.get("text", "")),
                created_id=created,
                raw=payload,
            )
        )
        return _json(200, result)


def _json(status: int, data: dict[str, Any]) -> FakeResponse:
    return FakeResponse(status=status, body=json.dumps(data).encode())
