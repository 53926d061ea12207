"""Outgoing webhooks: the payload of an Activity, its signature, and the sender with backoff.

Signatures follow the Standard Webhooks specification (standardwebhooks.com),
so its libraries verify them as they are:

    webhook-id:        the delivery's id (the same on every retry)
    webhook-timestamp: Unix seconds of this attempt
    webhook-signature: "v1," + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}"))

where `key` is the base64-decoded part of the secret after `whsec_`. Every
request goes through the egress guard (`core.egress`, by the connectors' HTTP
client): a URL that resolves to a private or loopback address is refused and
the delivery fails at once. Other failures (a 5xx, a 4xx, a timeout, a
refused connection) are tried again with exponential backoff and jitter, up
to `max_attempts()`, then the delivery is marked failed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import logging
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.html import strip_tags

from cercle.connectors.base import TransientError, UnknownResult
from cercle.connectors.http import PlatformHttp
from cercle.core import clock
from cercle.core.crypto import decrypt_json
from cercle.core.egress import EgressRefused
from cercle.workspaces.models import Activity

from .choices import DeliveryState
from .models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
# The first retry waits this long; each next one twice as long, up to the cap, ±JITTER.
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=2)
JITTER = 0.2
# A worker that claimed a delivery and died: another may try it after this.
LEASE = timedelta(minutes=2)
SEND_BATCH = 50
EXCERPT_CHARS = 500
# Keys of an Activity's data never sent out, whatever their value.
HIDDEN_KEYS = ("secret", "token", "password", "credential", "authorization", "cookie")
TEST_EVENT = "webhook.test"


def max_attempts() -> int:
    return int(getattr(settings, "CERCLE_WEBHOOK_MAX_ATTEMPTS", 8))


def new_secret() -> str:
    """A fresh signing secret, `whsec_` + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one attempt (see the module's docstring)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Whether `headers` carry a valid signature of `body` (what a receiver does; used by tests)."""
    try:
        expected = sign(
            secret, headers["webhook-id"], int(headers["webhook-timestamp"]), body
        ).split(",", 1)[1]
    except (KeyError, ValueError):
        return False
    for candidate in headers.get("webhook-signature", "").split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


def encode(payload: dict[str, Any]) -> bytes:
    """The request body: compact UTF-8 JSON (the exact bytes that are signed)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def backoff(attempts: int, rand: Callable[[], float] = random.random) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: doubling, capped, ±JITTER."""
    base: timedelta = min(BACKOFF_FIRST * (2 ** max(0, attempts - 1)), BACKOFF_CAP)
    factor = 1 - JITTER + 2 * JITTER * float(rand())
    return base * factor


def base_url() -> str:
    return str(getattr(settings, "CERCLE_BASE_URL", "")).rstrip("/")


def _scrub(value: Any, depth: int = 0) -> Any:
    """JSON data without secret-looking keys, nested at most three levels."""
    if isinstance(value, dict):
        if depth >= 3:
            return {}
        return {
            str(k): _scrub(v, depth + 1)
            for k, v in value.items()
            if not any(word in str(k).lower() for word in HIDDEN_KEYS)
        }
    if isinstance(value, list):
        return [_scrub(v, depth + 1) for v in value[:100]] if depth < 3 else []
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def summary(activity: Activity, language: str) -> str:
    """One plain-text line about the activity (a team chat shows it), in `language`."""
    from cercle.inbox.templatetags.inbox_tags import activity_line

    with translation.override(language):
        return html.unescape(strip_tags(str(activity_line(activity))))


def activity_payload(activity: Activity) -> dict[str, Any]:
    """The JSON sent for an Activity (documented in docs/notifications.md). No secrets."""
    workspace = activity.workspace
    conversation = activity.conversation
    message = activity.message
    channel = activity.channel
    if activity.actor_id is not None and activity.actor is not None:
        actor: dict[str, Any] = {
            "type": "member",
            "id": activity.actor_id,
            "name": activity.actor.name,
        }
    elif activity.automation:
        actor = {
            "type": "automation",
            "kind": activity.automation,
            "name": activity.automation_name,
        }
    else:
        actor = {"type": "platform"}
    text = summary(activity, workspace.language)
    data: dict[str, Any] = {
        "id": activity.pk,
        "verb": activity.verb,
        "created_at": activity.created_at.isoformat(),
        "workspace": {"id": str(workspace.uuid), "slug": workspace.slug, "name": workspace.name},
        "actor": actor,
        "conversation": None,
        "message": None,
        "channel": None,
        "details": _scrub(activity.data if isinstance(activity.data, dict) else {}),
    }
    if conversation is not None:
        url = base_url() + reverse("inbox:conversation", args=[conversation.pk])
        data["conversation"] = {
            "id": conversation.pk,
            "status": conversation.status,
            "priority": conversation.priority,
            "url": url,
        }
        text = f"{text} — {url}"
    if message is not None:
        data["message"] = {
            "id": message.pk,
            "direction": message.direction,
            "kind": message.kind,
            "excerpt": (message.text or "")[:EXCERPT_CHARS],
        }
    if channel is not None:
        data["channel"] = {"id": channel.pk, "platform": channel.platform, "name": channel.name}
    return {
        "type": f"activity.{activity.verb}",
        "timestamp": activity.created_at.isoformat(),
        "text": text,
        "data": data,
    }


def test_payload(endpoint: WebhookEndpoint) -> dict[str, Any]:
    now = clock.now().isoformat()
    return {
        "type": TEST_EVENT,
        "timestamp": now,
        "text": "Cercle: test message",
        "data": {"endpoint": endpoint.name},
    }


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt gave: an HTTP status, or an error; `final` when retrying is pointless."""

    status: int | None = None
    error: str = ""
    final: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def attempt(delivery: WebhookDelivery) -> Outcome:
    """Send one delivery once (no database write): sign now, post through the guard."""
    endpoint = delivery.endpoint
    try:
        secret = str(decrypt_json(endpoint.secret_encrypted)["secret"])
    except Exception:  # the key changed: nothing can be signed any more
        return Outcome(error="the signing secret cannot be read", final=True)
    body = encode(delivery.payload)
    timestamp = int(clock.now().timestamp())
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, delivery.message_id, timestamp, body),
    }
    http = PlatformHttp(timeout=float(getattr(settings, "CERCLE_WEBHOOK_TIMEOUT", 10.0)))
    try:
        response = http.post(endpoint.url, content=body, headers=headers)
    except EgressRefused as exc:
        return Outcome(error=f"refused by the egress guard: {exc}", final=True)
    except (TransientError, UnknownResult) as exc:
        return Outcome(error=str(exc))
    finally:
        http.close()
    if 200 <= response.status_code < 300:
        return Outcome(status=response.status_code)
    return Outcome(status=response.status_code, error=f"HTTP {response.status_code}")


def record(delivery_id: int, outcome: Outcome, *, retry: bool = True) -> WebhookDelivery:
    """Store one attempt's outcome: delivered, failed (final or out of attempts), or due again."""
    now = clock.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        delivery.attempts += 1
        delivery.last_status = outcome.status
        delivery.last_error = outcome.error[:300]
        if outcome.ok:
            delivery.state = DeliveryState.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        elif outcome.final or not retry or delivery.attempts >= max_attempts():
            delivery.state = DeliveryState.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
        delivery.save()
    return delivery


def claim_due(now: datetime | None = None, limit: int = SEND_BATCH) -> list[int]:
    """Take the due deliveries of active endpoints for this worker (a lease: no double send)."""
    now = now or clock.now()
    with transaction.atomic():
        due = WebhookDelivery.objects.filter(
            state=DeliveryState.PENDING, next_attempt_at__lte=now, endpoint__is_active=True
        ).order_by("next_attempt_at")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("pk", flat=True)[:limit])
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now + LEASE)
    return ids


def send_due(now: datetime | None = None) -> int:
    """Attempt every due delivery once; returns how many were attempted."""
    ids = claim_due(now)
    for delivery in WebhookDelivery.objects.filter(pk__in=ids).select_related("endpoint"):
        outcome = attempt(delivery)
        if not outcome.ok:
            logger.info("webhook %s: %s", delivery.message_id, outcome.error)
        record(delivery.pk, outcome)
    return len(ids)


def has_due(now: datetime | None = None) -> bool:
    return WebhookDelivery.objects.filter(
        state=DeliveryState.PENDING,
        next_attempt_at__lte=now or clock.now(),
        endpoint__is_active=True,
    ).exists()
