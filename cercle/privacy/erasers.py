"""What other layers hold about a person, exported and erased through hooks (no upward import).

A higher layer that keeps copies of inbound items or data about a person
registers functions here (from `pipeline/apps.py`, the layer above them all):

- a raw event eraser (the pipeline's raw payloads): called by `do_erase_contact` and the
  retention drain with the ids of the raw events that brought the removed messages;
- a person keeper (listening's mentions, notifications' webhook deliveries): `export(person)`
  adds its part to the contact's export, `erase(person)` removes or clears it in the
  erasure's transaction, `purge(workspace_id, cutoff)` deletes what is older than the
  retention (one batch; returns how many).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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


@dataclass(frozen=True)
class Person:
    """One person as the erasure and the export see them (read before anything is erased)."""

    workspace_id: int
    contact_ids: tuple[int, ...]
    conversation_ids: tuple[int, ...]
    message_ids: tuple[int, ...]
    # (channel id, external id) of each of their identities on the platforms.
    identities: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class Keeper:
    """A layer that keeps data about people: its name is its key in the export."""

    name: str
    export: Callable[[Person], list[dict[str, Any]]]
    erase: Callable[[Person], int]
    purge: Callable[[int, datetime], int]


_keepers: dict[str, Keeper] = {}


def register_keeper(keeper: Keeper) -> None:
    _keepers[keeper.name] = keeper


def keepers() -> list[Keeper]:
    return [_keepers[name] for name in sorted(_keepers)]
