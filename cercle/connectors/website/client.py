"""Signing, and the one call Cercle makes to a site: its optional callback URL.

The signature scheme is the same both ways (README.md, "Signature"):
`X-Cercle-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>`.
The timestamp is inside the signed bytes, so an old delivery cannot be
replayed with a fresh time; deliveries older than `TOLERANCE` are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from cercle.connectors.base import (
    BadSignature,
    PermissionDenied,
    RateLimited,
    Rejected,
    TokenRevoked,
    TransientError,
)
from cercle.connectors.http import PlatformHttp
from cercle.connectors.ratelimit import retry_at_from_headers
from cercle.core.egress import EgressRefused

SIGNATURE_HEADER = "X-Cercle-Signature"
# How old a signed delivery may be, and how far ahead of our clock (skew between machines).
TOLERANCE = 300
FUTURE_SKEW = 30
MAX_HEADER = 500


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `X-Cercle-Signature` value for `body` at `timestamp` (now by default)."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def check_signature(header: str, body: bytes, secret: str, now: float | None = None) -> int:
    """Verify `header` over `body`; return its timestamp or raise BadSignature (and say why)."""
    if not secret:
        raise BadSignature("the channel has no signing secret")
    if not header or len(header) > MAX_HEADER:
        raise BadSignature(f"missing {SIGNATURE_HEADER}")
    timestamp = ""
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            candidates.append(value.lower())
    if not timestamp.isdigit() or len(timestamp) > 12 or not candidates:
        raise BadSignature(f"malformed {SIGNATURE_HEADER}: expected t=<unix>,v1=<hex>")
    t = int(timestamp)
    current = time.time() if now is None else now
    if t < current - TOLERANCE:
        raise BadSignature("signature timestamp too old (more than 5 minutes): replay refused")
    if t > current + FUTURE_SKEW:
        raise BadSignature("signature timestamp in the future")
    expected = sign(body, secret, t).partition(",v1=")[2]
    # Several v1 values let a site sign with an old and a new secret while rotating.
    if not any(hmac.compare_digest(expected.encode(), c.encode()) for c in candidates):
        raise BadSignature(f"bad {SIGNATURE_HEADER}")
    return t


def classify(response: httpx.Response) -> None:
    """What the site's answer to a callback means."""
    status = response.status_code
    if status < 300:
        return
    detail = response.text[:300] or f"HTTP {status}"
    if status == 429:
        raise RateLimited(
            f"the site asks to wait: {detail}", retry_at_from_headers(response.headers)
        )
    if status == 401:
        raise TokenRevoked(f"the site refused our signature: {detail}")
    if status == 403:
        raise PermissionDenied(f"the site refused: {detail}")
    if status >= 500:
        raise TransientError(f"the site answered {status}: {detail}")
    raise Rejected(f"the site refused the action ({status}): {detail}")


class SiteClient:
    """POSTs signed actions to the site's callback URL (through the egress guard)."""

    def __init__(self, http: PlatformHttp, *, callback_url: str, secret: str) -> None:
        self.http = http
        self.callback_url = callback_url
        self.secret = secret

    def send(self, action: Mapping[str, Any]) -> dict[str, Any]:
        body = json.dumps(action, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            response = self.http.post(
                self.callback_url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: sign(body, self.secret),
                    "Idempotency-Key": str(action.get("idempotency_key", "")),
                },
            )
        except EgressRefused as exc:
            raise PermissionDenied(
                f"{exc} (CERCLE_EGRESS_ALLOW_HOSTS lists allowed hosts)"
            ) from exc
        classify(response)
        try:
            data = response.json() if response.content.strip() else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = {}
        return data if isinstance(data, dict) else {}
