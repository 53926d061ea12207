"""Keyset (cursor) paging: a page is "the rows after this one in the sort order", never an OFFSET.

A new row inserted while a client pages through a list never shifts the rows
it has not seen yet (no duplicate, no skipped row), and a deep page costs the
same as the first. The cursor is the last row's sort values, signed (so a
client cannot forge values of the wrong type) and opaque.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.core import signing
from django.db.models import Expression, F, Model, Q, QuerySet
from django.db.models.expressions import OrderBy

CURSOR_SALT = "cercle.api.cursor"
M = TypeVar("M", bound=Model)


class BadCursor(ValueError):
    """The cursor was not made by this API for this list (tampered, truncated, another sort)."""


@dataclass(frozen=True, slots=True)
class Key:
    """One column of a sort order."""

    field: str
    descending: bool = False
    nullable: bool = False  # NULLs always sort last

    def order_by(self) -> OrderBy:
        expression = F(self.field)
        if self.descending:
            return expression.desc(nulls_last=True) if self.nullable else expression.desc()
        return expression.asc(nulls_last=True) if self.nullable else expression.asc()

    def equal(self, value: Any) -> Q:
        return Q(**{f"{self.field}__isnull": True}) if value is None else Q(**{self.field: value})

    def after(self, value: Any) -> Q | None:
        """Rows strictly after `value` in this column's order (None: no row can be after it)."""
        if value is None:
            return None  # NULLs sort last: nothing comes after a NULL in this column
        lookup = "lt" if self.descending else "gt"
        condition = Q(**{f"{self.field}__{lookup}": value})
        if self.nullable:
            condition |= Q(**{f"{self.field}__isnull": True})
        return condition


@dataclass(frozen=True, slots=True)
class Ordering:
    """A total order: its keys end with a unique column (the id).

    A key may name a computed column: `annotations` adds it to the query (e.g. whether a
    conversation is answered), so rows can be sorted and compared on it like any field.
    """

    name: str
    keys: tuple[Key, ...]
    annotations: tuple[tuple[str, Expression], ...] = ()

    def apply(self, qs: QuerySet[M]) -> QuerySet[M]:
        if self.annotations:
            qs = qs.annotate(**dict(self.annotations))
        return qs.order_by(*(key.order_by() for key in self.keys))

    def after(self, values: Sequence[Any]) -> Q:
        """Rows after the row whose sort values are `values`."""
        condition = Q(pk__in=[])
        prefix = Q()
        for key, value in zip(self.keys, values, strict=True):
            step = key.after(value)
            if step is not None:
                condition |= prefix & step
            prefix &= key.equal(value)
        return condition

    def values_of(self, row: Model) -> list[Any]:
        return [_attribute(row, key.field) for key in self.keys]


def _attribute(row: Model, path: str) -> Any:
    value: Any = row
    for part in path.split("__"):
        value = getattr(value, part)
    return value


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"t"}:
        try:
            return datetime.fromisoformat(str(value["t"]))
        except ValueError as exc:
            raise BadCursor from exc
    if value is None or isinstance(value, int | str | float):
        return value
    raise BadCursor


def make_cursor(ordering: Ordering, row: Model) -> str:
    payload = {"o": ordering.name, "v": [_encode(v) for v in ordering.values_of(row)]}
    return signing.dumps(payload, salt=CURSOR_SALT, compress=True)


def read_cursor(ordering: Ordering, cursor: str) -> list[Any]:
    try:
        payload = signing.loads(cursor, salt=CURSOR_SALT)
    except signing.BadSignature as exc:
        raise BadCursor from exc
    if not isinstance(payload, dict) or payload.get("o") != ordering.name:
        raise BadCursor
    values = payload.get("v")
    if not isinstance(values, list) or len(values) != len(ordering.keys):
        raise BadCursor
    return [_decode(v) for v in values]


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Any]
    next_cursor: str | None


def page(qs: QuerySet[M], ordering: Ordering, cursor: str | None, limit: int) -> Page:
    """`limit` rows of `qs` in `ordering`, after `cursor`; and the cursor of the next page."""
    qs = ordering.apply(qs)
    if cursor:
        qs = qs.filter(ordering.after(read_cursor(ordering, cursor)))
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows=rows, next_cursor=make_cursor(ordering, rows[-1]) if more and rows else None)
