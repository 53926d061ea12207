"""What other layers hold about erased messages, cleared through hooks (no upward import).

A higher layer that keeps copies of inbound items (the pipeline's raw payloads)
registers a function here from its `apps.py`; `do_erase_contact` and the
retention drain call every registered function in their transaction with the
ids of the raw events that brought the erased messages.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

RawEventEraser = Callable[[Collection[int]], int]

_raw_event_erasers: list[RawEventEraser] = []


def register_raw_event_eraser(eraser: RawEventEraser) -> None:
    if eraser not in _raw_event_erasers:
        _raw_event_erasers.append(eraser)


def erase_raw_events(raw_event_ids: Collection[int]) -> int:
    """Clear the stored payloads of these raw events; returns how many were cleared."""
    if not raw_event_ids:
        return 0
    return sum(eraser(raw_event_ids) for eraser in _raw_event_erasers)
