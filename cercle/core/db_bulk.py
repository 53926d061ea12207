"""Lean bulk writes for the pipeline's hot path.

What `bulk_create` / `bulk_update` do, faster: Django's versions compile every
value through the query compiler (about 80 % of the ingest time on a busy
batch) and `bulk_update` builds a CASE per field and row. These keep Django's
conversions (one function per column) and its semantics (defaults, auto_now,
pks set on the instances).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from operator import attrgetter
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, models
from django.db.models.expressions import RawSQL
from django.utils import timezone

ModelT = TypeVar("ModelT", bound=models.Model)

# Parameters per INSERT statement (SQLite ≥ 3.32 allows 32766, PostgreSQL 65535).
MAX_PARAMS = 30_000
# Columns whose Python values are already what the database driver takes.
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.FloatField,
)


def _max_params() -> int:
    """Bound parameters one statement may carry on this database (kept well under the limit)."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        raw = connection.connection
        limit = (
            raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if hasattr(raw, "getlimit") else 999
        )
        return min(limit, MAX_PARAMS)
    return MAX_PARAMS


Converter = Callable[[Any], Any]


def _converters(fields: Sequence[models.Field[Any, Any]]) -> list[tuple[int, Converter]]:
    """(position, conversion) of the columns whose Python values the driver cannot take as they are.

    Plain columns (text, numbers, booleans, foreign keys) need none: the choices
    Cercle stores (`TextChoices`, `IntegerChoices`, `StrEnum`) are `str` or `int`
    subclasses, which sqlite3 and psycopg both send as their value (psycopg picks
    the dumper of the first type of the value's MRO it knows: `str` or `int`
    before `Enum`). Converting them cost a function call per value, about 15 %
    of the ingest's CPU on PostgreSQL.
    Datetimes go through the backend's adapter with one memo for the whole
    statement (a row's datetimes are often the same object, most rows share
    `now`); JSON through the backend's adapter; anything else through Django's
    own preparation.
    """
    memo: dict[Any, Any] = {}
    adapt_datetime = _datetime_adapter()

    def convert_datetime(value: Any) -> Any:
        if value is None:
            return None
        if value not in memo:
            memo[value] = adapt_datetime(value)
        return memo[value]

    conversions: list[tuple[int, Converter]] = []
    for position, column in enumerate(fields):
        target = column.target_field if isinstance(column, models.ForeignKey) else column
        if isinstance(column, models.JSONField):
            conversions.append((position, _json_converter(column)))
        elif isinstance(column, models.DateTimeField):
            conversions.append((position, convert_datetime))
        elif isinstance(target, _PLAIN_FIELDS):
            continue
        else:
            conversions.append((position, _django_converter(column)))
    return conversions


def _json_converter(column: models.JSONField[Any, Any]) -> Converter:
    adapt, encoder = connection.ops.adapt_json_value, column.encoder

    def convert(value: Any) -> Any:
        return None if value is None else adapt(value, encoder)

    return convert


def _django_converter(column: models.Field[Any, Any]) -> Converter:
    def convert(value: Any) -> Any:
        return column.get_db_prep_save(value, connection)

    return convert


def _as_list(values: Any) -> list[Any]:
    """attrgetter gives a bare value for one attribute, a tuple for several."""
    return list(values) if isinstance(values, tuple) else [values]


def _prepared(values: list[Any], conversions: list[tuple[int, Converter]]) -> list[Any]:
    for position, convert in conversions:
        values[position] = convert(values[position])
    return values


def _datetime_adapter() -> Callable[[Any], Any]:
    """The backend's datetime adapter; on SQLite, its aware-datetime case without the checks."""
    adapt = connection.ops.adapt_datetimefield_value
    if connection.vendor != "sqlite" or not settings.USE_TZ:
        return adapt
    zone = connection.timezone

    def to_sqlite(value: Any) -> Any:
        # What Django does for an aware value: naive in the connection's zone, then str().
        if isinstance(value, datetime) and value.utcoffset() is not None:
            return str(value.astimezone(zone).replace(tzinfo=None))
        return adapt(value)

    return to_sqlite


def build(model: type[ModelT], rows: Iterable[dict[str, Any]]) -> list[ModelT]:
    """Unsaved instances from {attname: value} rows, missing fields taking their default.

    Built with positional arguments, Django's fast path (the keyword path
    checks every related field and costs about twice as much per object).
    """
    fields = model._meta.concrete_fields
    # Callable defaults (dict, list, uuid4…) are called per row, as Django does.
    fixed = {f.attname: f.get_default() for f in fields if not callable(f.default)}
    instances = []
    for row in rows:
        args = [
            row[f.attname]
            if f.attname in row
            else fixed[f.attname]
            if f.attname in fixed
            else f.get_default()
            for f in fields
        ]
        instances.append(model(*args))
    return instances


def any_of(model: type[models.Model], name: str, values: Sequence[Any]) -> Any:
    """A filter: the field `name` of `model` is one of `values` (for `.filter(...)`).

    `name__in` on SQLite; on PostgreSQL `column = ANY(%s)` with the values as one
    array parameter: Django compiles an IN list value by value and psycopg's
    client-side binding then scans a query of hundreds of placeholders, about
    a fifth of the drain's CPU with 500-item lookups. The btree indexes serve
    `= ANY` as they serve `IN`.
    """
    if connection.vendor != "postgresql":
        return models.Q(**{f"{name}__in": values})
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    column = f"{_quote(model._meta.db_table)}.{_quote(field.column)}"
    # The names come from the model, quoted; the values are one bound parameter.
    return RawSQL(  # noqa: S611
        f"{column} = ANY(%s)", (list(values),), output_field=models.BooleanField()
    )


def _quote(name: str | None) -> str:
    assert name, "a table or column name"
    return connection.ops.quote_name(name)


def _concrete(model: type[models.Model], names: Sequence[str]) -> list[models.Field[Any, Any]]:
    fields = [model._meta.get_field(name) for name in names]
    return [f for f in fields if isinstance(f, models.Field)]


@contextmanager
def _server_bound_cursor() -> Iterator[Any]:
    """A psycopg cursor with server-side parameter binding, in Django's current transaction.

    The driver's errors come out as Django's (a unique violation is an
    `IntegrityError`, which the ingest retries), as through Django's cursors.
    No statement is prepared (Django's `prepare_threshold` is None), so this
    works through PgBouncer in transaction mode.
    """
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


# From this many rows, PostgreSQL inserts go through COPY (cheaper per row than one
# INSERT per row, but one or two more round trips); not with `ignore_conflicts`.
COPY_FROM_ROWS = 20
# Table → the sequence of its primary key (PostgreSQL), looked up once per process.
_sequences: dict[str, str] = {}


def _next_ids(driver: Any, table: str, pk_column: str, count: int) -> list[int]:
    """`count` fresh primary keys from the table's sequence, increasing (one query)."""
    sequence = _sequences.get(table)
    if sequence is None:
        driver.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk_column])
        sequence = _sequences[table] = driver.fetchone()[0]
    driver.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, count])
    return sorted(pk for (pk,) in driver.fetchall())


def _copy(
    model: type[models.Model],
    fields: Sequence[models.Field[Any, Any]],
    rows: Sequence[list[Any]],
    returning: bool,
) -> list[Any]:
    """COPY prepared `rows` into the model's table (PostgreSQL); their pks, taken first, if `returning`.

    The pks come from the table's own sequence (one `nextval` query for all
    rows), in increasing order, as an INSERT would have given them.
    COPY runs the same triggers, constraints and generated columns as INSERT.
    """
    meta = model._meta
    table = str(meta.db_table)
    columns = [_quote(f.column) for f in fields]
    pks: list[Any] = []
    with _server_bound_cursor() as driver:
        if returning and meta.pk is not None:
            pks = _next_ids(driver, table, str(meta.pk.column), len(rows))
            columns.insert(0, _quote(meta.pk.column))
            rows = [[pk, *row] for pk, row in zip(pks, rows, strict=True)]
        sql = f"COPY {_quote(table)} ({', '.join(columns)}) FROM STDIN"
        with driver.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    return pks


def _insert(
    model: type[models.Model],
    fields: Sequence[models.Field[Any, Any]],
    rows: Sequence[list[Any]],
    returning: bool,
    ignore_conflicts: bool = False,
) -> list[Any]:
    """INSERT prepared `rows` (one value per field) in multi-row statements; their pks if `returning`.

    With `ignore_conflicts`, a row that would break a unique constraint is skipped
    (ON CONFLICT DO NOTHING, on both PostgreSQL and SQLite; other constraints still raise).
    """
    assert not (returning and ignore_conflicts), "a skipped row has no pk to return"
    meta = model._meta
    returning = returning and meta.pk is not None
    columns = ", ".join(_quote(f.column) for f in fields)
    head = f"INSERT INTO {_quote(meta.db_table)} ({columns}) VALUES "  # noqa: S608 - names from the model
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    tail += f" RETURNING {_quote(meta.pk.column)}" if returning and meta.pk else ""
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    pks: list[Any] = []
    if connection.vendor == "postgresql" and len(rows) >= COPY_FROM_ROWS and not ignore_conflicts:
        # COPY has no ON CONFLICT: rows that may be skipped go through INSERT below.
        return _copy(model, fields, rows, returning)
    if connection.vendor == "postgresql":
        # One short statement, pipelined, values bound server-side by psycopg's C
        # dumpers: Django's client-side binding quotes every value in Python, and
        # a multi-row VALUES is too long for psycopg's statement cache.
        with _server_bound_cursor() as driver:
            driver.executemany(head + one + tail, rows, returning=returning)
            while returning:
                pks.append(driver.fetchone()[0])
                if not driver.nextset():
                    break
        return pks
    per_statement = max(1, _max_params() // len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params = [value for row in chunk for value in row]
            cursor.execute(head + ", ".join([one] * len(chunk)) + tail, params)
            if returning:
                # SQLite does not promise RETURNING's order, but gives the rows of
                # one INSERT increasing ids (AUTOINCREMENT) in VALUES order.
                pks.extend(sorted(pk for (pk,) in cursor.fetchall()))
    return pks


def insert_rows(objs: Sequence[models.Model], *, returning: bool = True) -> None:
    """INSERT unsaved instances of one model in a few multi-row statements; set their pk.

    What `bulk_create` does, without its per-value compilation (about 80 % of
    the ingest time on a busy batch): one conversion function per column and
    statements of up to MAX_PARAMS parameters. `auto_now(_add)` fields are
    filled here, other defaults come from the instances.
    """
    if not objs:
        return
    model = type(objs[0])
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            for obj in objs:
                if getattr(obj, f.attname) is None or getattr(f, "auto_now", False):
                    setattr(obj, f.attname, now)
    values_of = attrgetter(*(f.attname for f in fields))
    conversions = _converters(fields)
    rows = [_prepared(_as_list(values_of(obj)), conversions) for obj in objs]
    pks = _insert(model, fields, rows, returning)
    for obj, pk in zip(objs, pks, strict=False):
        obj.pk = pk
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def insert_values(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    returning: bool = False,
    ignore_conflicts: bool = False,
) -> list[Any]:
    """INSERT rows given as {attname: value} (missing fields take their default); their pks if asked.

    For rows nobody reads back as objects (activity, raw events): building
    model instances would cost more than the insert itself.
    """
    if not rows:
        return []
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    defaults = {
        f.attname: now
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        else f.get_default()
        for f in fields
    }
    conversions = _converters(fields)
    prepared = [
        _prepared([row.get(f.attname, defaults[f.attname]) for f in fields], conversions)
        for row in rows
    ]
    return _insert(model, fields, prepared, returning, ignore_conflicts)


def update_rows(
    model: type[models.Model], rows: Sequence[models.Model], fields: Sequence[str]
) -> None:
    """Write `fields` of each saved row, by primary key, in one `executemany` (ordered by pk).

    The per-row UPDATE is the cheapest form on both databases (SQLite runs the
    prepared statement in a loop; psycopg pipelines it), and ordering by pk
    makes concurrent workers take row locks in the same order.
    """
    if not rows:
        return
    columns = _concrete(model, fields)
    values_of = attrgetter(*(f.attname for f in columns))
    conversions = _converters(columns)
    sets = ", ".join(f"{_quote(f.column)} = %s" for f in columns)
    table, pk = (
        _quote(model._meta.db_table),
        _quote(model._meta.pk.column if model._meta.pk else None),
    )
    sql = f"UPDATE {table} SET {sets} WHERE {pk} = %s"  # noqa: S608 - names from the model
    params = [
        [*_prepared(_as_list(values_of(row)), conversions), row.pk]
        for row in sorted(rows, key=lambda r: r.pk)
    ]
    if connection.vendor == "postgresql":
        with _server_bound_cursor() as driver:
            driver.executemany(sql, params)
        return
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
