"""Encryption at rest for secrets (channel credentials).

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from
`CERCLE_ENCRYPTION_KEY`, or from the secret key when that is not set.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from .redact import remember_secrets


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted with the current key."""


@cache
def _fernet() -> Fernet:
    material = os.environ.get("CERCLE_ENCRYPTION_KEY") or settings.SECRET_KEY
    key = base64.urlsafe_b64encode(hashlib.sha256(("cercle-secrets:" + material).encode()).digest())
    return Fernet(key)


def encrypt_json(value: dict[str, Any]) -> str:
    """Encrypt a JSON-serialisable dict into an opaque token string."""
    if not value:
        return ""
    remember_secrets(value)  # never to be quoted by an error or a log line (core.redact)
    return _fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    """Decrypt a token made by `encrypt_json`; an empty token is an empty dict."""
    if not token:
        return {}
    try:
        data: dict[str, Any] = json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise SecretUnreadable("the encryption key changed or the secret is corrupt") from exc
    remember_secrets(data)  # never to be quoted by an error or a log line (core.redact)
    return data
