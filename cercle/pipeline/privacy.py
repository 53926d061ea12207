"""The pipeline's part of a privacy erasure: the stored payloads that brought erased items.

Registered with `cercle.privacy.erasers` in `apps.py`. A raw event still pending keeps its
payload: the ingest skips its erased items (they are tombstoned) and stores the others.
"""

from __future__ import annotations

from collections.abc import Collection

from .choices import RawEventStatus
from .models import RawEvent


def erase_raw_events(raw_event_ids: Collection[int]) -> int:
    """Delete these processed raw events (payload and headers); returns how many."""
    deleted, _ = (
        RawEvent.objects.filter(pk__in=list(raw_event_ids))
        .exclude(status=RawEventStatus.PENDING)
        .delete()
    )
    return deleted
