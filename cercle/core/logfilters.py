"""Logging filters: ordinary events keep their one line, and secrets never reach a log.

A 403 (a role without the permission, a bad webhook signature) and a client
that went away (closed tab, dropped connection) happen all day; a traceback for
each would drown the real errors in the server log.

`ScrubSecrets` redacts tokens, secrets, passwords and credentials from every
record; `JsonFormatter` writes one JSON object per line (CERCLE_LOG_FORMAT=json).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time

from django.core.exceptions import PermissionDenied, RequestAborted

# Exceptions that only mean the client left before the answer was complete.
CLIENT_GONE: tuple[type[BaseException], ...] = (
    BrokenPipeError,
    ConnectionResetError,
    ConnectionAbortedError,
    asyncio.CancelledError,
    RequestAborted,
)
try:  # uvicorn's own signal for a disconnected client (it is optional: `cercle serve` brings it)
    from uvicorn.protocols.utils import ClientDisconnected

    CLIENT_GONE = (*CLIENT_GONE, ClientDisconnected)
except ImportError:  # pragma: no cover - uvicorn is a dependency
    pass


def is_ordinary(record: logging.LogRecord) -> bool:
    """A refused request (403) or a client that disconnected: nothing for an operator to fix."""
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, (*CLIENT_GONE, PermissionDenied)):
        return True
    return getattr(record, "status_code", None) == 403


class QuietOrdinaryErrors(logging.Filter):
    """Keep the record's line, drop its traceback when the event is ordinary."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and is_ordinary(record):
            record.exc_info = None
            record.exc_text = None
        return True


# --- secrets never reach a log line ----------------------------------------------

REDACTED = "[redacted]"
# A value after a secret-sounding name: `token=…`, `"client_secret": "…"`, `password: …`.
_NAMED_SECRET = re.compile(
    r"""(?ix)
    (?P<name>["']?[\w-]*(?:token|secret|password|passwd|api[_-]?key|signature|authorization|
        cookie|sessionid|csrftoken)[\w-]*["']?)
    (?P<sep>\s*[:=]\s*)
    (?P<quote>["']?)
    (?P<value>(?:bearer\s+|basic\s+)?[^\s"'&,;}]+)
    """
)
# Credentials that need no name: bearer/basic headers, Cercle API tokens, URLs with a password.
_BARE_SECRETS = [
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\bcercle_[A-Za-z0-9_-]{16,}"),
    re.compile(r"(?i)(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),
]


def scrub(text: str) -> str:
    """`text` with tokens, secrets, passwords and credentials in URLs replaced by [redacted]."""
    text = _NAMED_SECRET.sub(lambda m: f"{m['name']}{m['sep']}{m['quote']}{REDACTED}", text)
    for pattern in _BARE_SECRETS:
        text = pattern.sub(REDACTED, text)
    return text


class ScrubSecrets(logging.Filter):
    """Redact secrets from the message, its arguments and its traceback before any handler.

    The message is formatted here (`getMessage`) and the result scrubbed, so a
    secret passed as an argument is caught too; the traceback text is rendered
    and scrubbed the same way (an exception's message may quote a URL or header).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, and the request's status."""

    converter = staticmethod(time.gmtime)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        status = getattr(record, "status_code", None)
        if status is not None:
            entry["status"] = status
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)
