"""Reading platforms' rate-limit headers into a time to wait until."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from django.utils import timezone

DEFAULT_WAIT = timedelta(seconds=60)


def retry_at_from_headers(
    headers: Mapping[str, str], default: timedelta = DEFAULT_WAIT
) -> datetime:
    """When to try again, from `Retry-After` (seconds or HTTP date) or `x-rate-limit-reset` (epoch)."""
    now = timezone.now()
    lowered = {k.lower(): v for k, v in headers.items()}
    retry_after = lowered.get("retry-after", "").strip()
    if retry_after.isdigit():
        return now + timedelta(seconds=int(retry_after))
    if retry_after:
        from email.utils import parsedate_to_datetime

        try:
            return parsedate_to_datetime(retry_after).astimezone(UTC)
        except (TypeError, ValueError):
            pass
    for name in ("x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset"):
        value = lowered.get(name, "").strip()
        if value.isdigit():
            number = int(value)
            # Epoch seconds are large; small numbers are seconds from now.
            if number > 1_000_000_000:
                return datetime.fromtimestamp(number, tz=UTC)
            return now + timedelta(seconds=number)
    return now + default
