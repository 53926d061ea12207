"""Personas (target groups) as the apps below insights see them.

Personas are defined and computed by `cercle.insights` (conditions over contacts
and their messages), above moderation, workflow and replies in the layers. Those
apps use them (a rule condition, a routing preference, the saved replies offered
first) through this registry, which `insights/apps.py` fills at start-up: the
lower layers never import insights. With nothing registered, no contact is in any
persona.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

# (workspace id, contact ids) → {contact id: ids of the personas holding it}
Resolver = Callable[[int, Collection[int]], dict[int, frozenset[int]]]
# workspace id → [(persona id, name)]
Lister = Callable[[int], list[tuple[int, str]]]

_resolver: Resolver | None = None
_lister: Lister | None = None


def register_personas(resolver: Resolver, lister: Lister) -> None:
    global _resolver, _lister
    _resolver, _lister = resolver, lister


def personas_of(workspace_id: int, contact_ids: Collection[int]) -> dict[int, frozenset[int]]:
    """The personas each contact is in now (contacts in none are left out)."""
    if _resolver is None or not contact_ids:
        return {}
    return _resolver(workspace_id, contact_ids)


def persona_names(workspace_id: int) -> list[tuple[int, str]]:
    """The workspace's personas, (id, name)."""
    return _lister(workspace_id) if _lister is not None else []


def persona_ids(workspace_id: int, references: Collection[str]) -> frozenset[int]:
    """The ids of the personas named or numbered in `references` (case-insensitive names)."""
    wanted = {r.strip().casefold() for r in references if r.strip()}
    return frozenset(
        pk
        for pk, name in persona_names(workspace_id)
        if str(pk) in wanted or name.casefold() in wanted
    )


__all__ = ["persona_ids", "persona_names", "personas_of", "register_personas"]
