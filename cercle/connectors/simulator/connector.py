"""The simulator platform: the demo community's forum and review site speak it.

Wire format (JSON): {"events": [event, …]} where an event is
{"type": comment|reply|mention|share|message|review, "op": create|edit|delete,
 "id", "author": {"id", "name", "handle", "avatar"}, "text", "created_at" (ISO 8601),
 "post": {"id", "text", "url", "published_at"}, "parent_id", "thread_id", "rating", "url",
 "from_brand", "hidden"}.
Signature: `X-Simulator-Signature: sha256=<hex HMAC-SHA256 of the raw body>` with
the channel's `webhook_secret`. Outbound: `POST {api_base}/actions` (see client.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from cercle.connectors.base import (
    Author,
    BadPayload,
    BadSignature,
    Capability,
    Connector,
    Delivery,
    Incoming,
    Op,
    OutboundAction,
    PostRef,
    RawEventData,
    SetupField,
)

from .client import SimulatorClient

KINDS = {"comment", "reply", "mention", "share", "message", "review"}
OPS = {"create": Op.UPSERT, "edit": Op.UPSERT, "delete": Op.DELETE}
SIGNATURE_HEADER = "X-Simulator-Signature"


def sign(body: bytes, secret: str) -> str:
    """The signature header value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _followers(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _str(value: Any, limit: int = 10_000) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise BadPayload(f"expected a string, got {type(value).__name__}")
    return str(value)[:limit]


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(_str(value, 64))
    except ValueError as exc:
        raise BadPayload(f"bad time {value!r}") from exc
    if parsed.tzinfo is None:
        raise BadPayload(f"time without zone {value!r}")
    return parsed


class SimulatorConnector(Connector):
    platform = "simulator"
    # The demo's generic platform stands for a review site until a reviews connector lands.
    label = _("Review site")
    capabilities = frozenset(
        {
            Capability.WEBHOOK,
            Capability.REPLY,
            Capability.PRIVATE_REPLY,
            Capability.SEND_PRIVATE,
            Capability.HIDE,
            Capability.UNHIDE,
            Capability.DELETE,
            Capability.BAN,
            Capability.UNBAN,
            Capability.LIKE,
        }
    )
    max_reply_length = 5000
    setup_fields = (
        SetupField("api_base", _("API base URL"), url=True),
        SetupField("access_token", _("Access token"), secret=True),
        SetupField("webhook_secret", _("Webhook signing secret"), secret=True),
    )

    def verify(self, request: HttpRequest) -> HttpResponse | None:
        secret = str(self.channel.credentials.get("webhook_secret", ""))
        given = request.headers.get(SIGNATURE_HEADER, "")
        # Bytes: compare_digest refuses (TypeError) str with non-ASCII characters.
        if not secret or not hmac.compare_digest(
            sign(request.body, secret).encode(), given.encode()
        ):
            raise BadSignature("bad X-Simulator-Signature")
        return None

    def parse(self, raw: RawEventData) -> list[Incoming]:
        try:
            data = json.loads(raw.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadPayload(f"not JSON: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("events"), list):
            raise BadPayload("expected {'events': [...]}")
        return [self._item(event) for event in data["events"]]

    def _item(self, event: Any) -> Incoming:
        if not isinstance(event, dict):
            raise BadPayload("an event must be an object")
        kind = _str(event.get("type"))
        if kind not in KINDS:
            raise BadPayload(f"unknown event type {kind!r}")
        op = OPS.get(_str(event.get("op") or "create"))
        if op is None:
            raise BadPayload(f"unknown op {event.get('op')!r}")
        external_id = _str(event.get("id"), 200)
        if not external_id:
            raise BadPayload("event without id")
        author = None
        if isinstance(event.get("author"), dict):
            a = event["author"]
            author = Author(
                external_id=_str(a.get("id"), 200),
                name=_str(a.get("name"), 200),
                handle=_str(a.get("handle"), 200),
                avatar_url=_str(a.get("avatar"), 500),
                followers=_followers(a.get("followers")),
            )
            if not author.external_id:
                raise BadPayload("author without id")
        elif op == Op.UPSERT:
            raise BadPayload("event without author")
        post = None
        if isinstance(event.get("post"), dict):
            p = event["post"]
            post = PostRef(
                external_id=_str(p.get("id"), 200),
                text=_str(p.get("text")),
                url=_str(p.get("url"), 500),
                published_at=_time(p.get("published_at")),
            )
        rating = event.get("rating")
        if rating is not None and (not isinstance(rating, int) or not 1 <= rating <= 5):
            raise BadPayload("rating must be an integer from 1 to 5")
        return Incoming(
            external_id=external_id,
            kind=kind,
            op=op,
            author=author,
            text=_str(event.get("text")),
            sent_at=_time(event.get("created_at")),
            post=post,
            parent_external_id=_str(event.get("parent_id"), 200),
            thread_ref=_str(event.get("thread_id"), 200),
            is_private=kind == "message",
            rating=rating,
            url=_str(event.get("url"), 500),
            from_brand=bool(event.get("from_brand")),
            is_hidden=bool(event.get("hidden")),
            # The time of this event (its creation, edit or hide): the item's version.
            changed_at=_time(event.get("changed_at")) or _time(event.get("created_at")),
        )

    def _client(self) -> SimulatorClient:
        return SimulatorClient(
            self.http, self.channel.config.get("api_base", ""), self.channel.credentials
        )

    def perform(self, action: OutboundAction) -> Delivery:
        return self._client().perform(action)

    def reconcile(self, action: OutboundAction) -> Delivery | None:
        return self._client().find(action.idempotency_key)

    def test_connection(self) -> str:
        return self._client().whoami()
