"""Read replicas: insights and exports read from PostgreSQL streaming replicas when configured.

CERCLE_REPLICA_URLS (comma-separated database URLs) adds the aliases `replica1`,
`replica2`, … (settings.py). Code that may read slightly stale data (a replica
lags by a fraction of a second) says so with `replica_reads()` or the view
decorator `reads_from_replica`; inside it the router sends reads to a replica,
anywhere else to the primary. Writes always go to the primary, and migrations
run there only.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.conf import settings

_replica_reads: ContextVar[bool] = ContextVar("cercle_replica_reads", default=False)

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads in this block may go to a replica (when any is configured)."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def reads_from_replica(view: F) -> F:
    """A view whose reads may go to a replica (reports and exports, never a form's page)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with replica_reads():
            return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def replica_alias() -> str | None:
    """The replica a read inside `replica_reads` goes to, or None (the primary)."""
    replicas: list[str] = settings.CERCLE_REPLICAS
    if not replicas or not _replica_reads.get():
        return None
    return random.choice(replicas)


class ReplicaRouter:
    """Reads inside `replica_reads` to a replica; everything else to the primary."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        return replica_alias()

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the replicas hold the same data as the primary

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == "default"
