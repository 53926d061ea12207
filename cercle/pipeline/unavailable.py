"""Answer 503 (with Retry-After) instead of 500 while the database is unreachable.

A platform retries a webhook that was not acknowledged; a 503 with Retry-After
says "come back later" in HTTP's own words, so a delivery that arrives during a
database outage is delivered again afterwards and stored then. Nothing was
stored the first time (the store is one transaction), so nothing is stored twice.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

P = ParamSpec("P")


def unavailable() -> JsonResponse:
    """The 503 + Retry-After of a database that could not store (or read) what was asked."""
    response = JsonResponse({"error": "temporarily unavailable, retry later"}, status=503)
    response["Retry-After"] = str(settings.CERCLE_UNAVAILABLE_RETRY_AFTER)
    return response


def database_unavailable_is_503(view: Callable[P, HttpResponse]) -> Callable[P, HttpResponse]:
    """Wrap a view: a database that is down or unreachable answers 503 + Retry-After."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        try:
            return view(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            logger.warning("database unavailable, answered 503: %s", exc)
            if not connection.in_atomic_block:
                # Drop a broken connection now, so the platform's retry gets a fresh one.
                connection.close_if_unusable_or_obsolete()
            return unavailable()

    return wrapped
