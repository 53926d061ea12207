"""Secrets never in errors or logs: every secret Cercle decrypts is remembered (in this process
only) and replaced by `[redacted]` wherever an error text or a log line would carry it.

`core.crypto.decrypt_json` calls `remember_secrets` with what it decrypts (platform
tokens, app secrets, webhook secrets); `redact` is applied to the detail of every
connector error (`connectors.base.ConnectorError`), to what the sender and the poller
store about an unexpected exception, and to every log record (`install_log_redaction`,
a record factory, so every handler gets the redacted line). Beside the known values,
the usual shapes of a credential in a URL or a header (`access_token=…`,
`Authorization: Bearer …`) are redacted too, so a token that was never decrypted here
(a fresh one in a refresh's answer) does not slip through in those shapes.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

REDACTED = "[redacted]"
# Shorter values (a port, "true") are not secrets worth hiding and would mangle text.
MIN_LENGTH = 8
# The most values remembered (oldest forgotten first).
MAX_REMEMBERED = 10_000

# Each remembered secret and its URL-encoded form; the longest first (a secret inside another).
_known: dict[str, str] = {}
_ordered: list[tuple[str, str]] = []
_lock = threading.Lock()

_PARAMETER = re.compile(
    r"(?i)\b((?:access|refresh|id|bearer|page_access|oauth)_?token|client_secret|app_secret|"
    r"api_key|apikey|password|secret|signature|code_verifier)"
    r"(\\?[\"']?\s*[=:]\s*\\?[\"']?)([^\s&\"'\\,;}]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")


def remember_secrets(data: Any) -> None:
    """Remember every string of `data` (nested dicts and lists) long enough to be a secret."""
    values: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if len(value) >= MIN_LENGTH:
                values.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(data)
    if not values:
        return
    global _ordered
    with _lock:
        fresh = [v for v in values if v not in _known]
        for value in values:
            _known[value] = _known.pop(value, "") or quote(value, safe="")
        while len(_known) > MAX_REMEMBERED:
            _known.pop(next(iter(_known)))
        if fresh or len(_ordered) != len(_known):
            _ordered = sorted(_known.items(), key=lambda pair: len(pair[0]), reverse=True)


def redact(text: str) -> str:
    """`text` without any remembered secret (as is or URL-encoded) nor credential-shaped value."""
    if not text:
        return text
    for secret, encoded in _ordered:
        if secret in text:
            text = text.replace(secret, REDACTED)
        if encoded != secret and encoded in text:
            text = text.replace(encoded, REDACTED)
    text = _PARAMETER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


_installed = False


def install_log_redaction() -> None:
    """Every log record's message (and traceback) is redacted when the record is made."""
    global _installed
    if _installed:
        return
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            trace = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(trace)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
