"""Logging filters: ordinary events of a web server keep their one line, without a traceback.

A 403 (a role without the permission, a bad webhook signature) and a client
that went away (closed tab, dropped connection) happen all day; a traceback for
each would drown the real errors in the server log.
"""

from __future__ import annotations

import asyncio
import logging

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
