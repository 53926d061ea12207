"""Meta webhooks: `X-Hub-Signature-256`, the `hub.challenge` handshake, and who an entry is for.

One Meta app serves many Pages and Instagram accounts, so a delivery signed
with the app secret says nothing about which Cercle channel it is for: each
`entry` carries the id of the account it concerns (`entry.id`, a Page id or an
Instagram user id). `entry_accounts` reads those ids; a connector keeps only
the entries of its own account.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Collection
from typing import Any

from django.http import HttpRequest, HttpResponse

from cercle.connectors.base import BadPayload, BadSignature

SIGNATURE_HEADER = "X-Hub-Signature-256"
# Meta's hub.challenge is a number; anything else is never echoed back (no markup reflected).
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{1,128}")
MAX_ACCOUNT_ID = 200


def sign(body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` value Meta sends: sha256=<hex HMAC-SHA256(app_secret, raw body)>."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(body: bytes, header: str, app_secret: str) -> bool:
    """Constant-time check of a signature header over the raw bytes as received."""
    given = header.strip().lower()
    if not app_secret or not given.startswith("sha256="):
        return False
    return hmac.compare_digest(sign(body, app_secret).encode(), given.encode())


def verify_request(request: HttpRequest, verify_token: str, app_secret: str) -> HttpResponse | None:
    """Answer the GET `hub.challenge` handshake, or check the POST's signature over the raw body.

    Returns the handshake's answer, or None for a genuine delivery; raises
    BadSignature otherwise (the hook answers 403 and stores nothing).
    """
    if request.method == "GET":
        mode = request.GET.get("hub.mode", "")
        token = request.GET.get("hub.verify_token", "")
        challenge = request.GET.get("hub.challenge", "")
        if (
            mode != "subscribe"
            or not verify_token
            or not hmac.compare_digest(token.encode(), verify_token.encode())
        ):
            raise BadSignature("wrong hub.verify_token")
        if not CHALLENGE.fullmatch(challenge):
            raise BadSignature("unexpected hub.challenge")
        return HttpResponse(challenge, content_type="text/plain; charset=utf-8")
    if not app_secret:
        raise BadSignature("the channel has no app secret to check signatures with")
    if not signature_ok(request.body, request.headers.get(SIGNATURE_HEADER, ""), app_secret):
        raise BadSignature(f"bad {SIGNATURE_HEADER}")
    return None


def load_delivery(body: bytes, expected_object: str) -> dict[str, Any]:
    """The JSON object of a delivery of `object` = `expected_object`; BadPayload otherwise."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadPayload(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadPayload("the payload must be an object")
    if data.get("object") != expected_object:
        raise BadPayload(
            f"expected object {expected_object!r}, got {str(data.get('object'))[:40]!r}"
        )
    return data


def entry_account(entry: Any) -> str:
    """The account an entry is for (`entry.id`, a string or a number in Meta's payloads)."""
    if not isinstance(entry, dict):
        raise BadPayload("an entry must be an object")
    value = entry.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadPayload("entry without id")
    account = str(value)[:MAX_ACCOUNT_ID]
    if not account:
        raise BadPayload("entry without id")
    return account


def entries(data: dict[str, Any]) -> list[Any]:
    listed = data.get("entry")
    if listed is None:
        return []
    if not isinstance(listed, list):
        raise BadPayload("entry must be a list")
    return listed


def entry_accounts(body: bytes, expected_object: str) -> set[str]:
    """Every account id the delivery's entries are for."""
    return {entry_account(entry) for entry in entries(load_delivery(body, expected_object))}


def entries_of(data: dict[str, Any], account_ids: Collection[str]) -> list[dict[str, Any]]:
    """The entries of `data` for `account_ids` only, in order (others are other channels')."""
    kept: list[dict[str, Any]] = []
    for entry in entries(data):
        if entry_account(entry) in account_ids:
            kept.append(entry)
    return kept
