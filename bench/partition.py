"""Monthly partitioning of Messages and Activity: worth it? Measured on PostgreSQL, not in CI.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cercle .venv/bin/python bench/partition.py \
        [--rows 300000] [--months 12] [--keep 3]

In a scratch schema (`bench_partition`, dropped at the end) it builds, for each
shape, a plain table and the same table partitioned by month (RANGE on
created_at), fills both with the same rows spread over `--months` months, in
batches of 1,000 as ingestion writes them, then applies a retention of
`--keep` months, and times a workspace's newest page (the inbox and timeline
read pattern) on both.

- messages: the dedupe key UNIQUE (channel_id, external_id). PostgreSQL refuses
  a unique key on a partitioned table unless it includes the partition key, and
  (channel, external id, created_at) would not dedupe an edit whose time
  differs, so the partitioned variant keeps the key in an unpartitioned table
  (`message_keys`, INSERT … ON CONFLICT DO NOTHING first, then the message),
  which retention must also clean.
- activity: append-only, no unique key.

Retention: plain tables DELETE the old rows (in chunks of 10,000, as the purge
task does); partitioned ones DROP the old partitions (and, for messages, DELETE
the keys of the dropped rows). One line per shape:

    bench=partition shape=messages rows=300000 insert_plain_s=… insert_part_s=…
    retention_plain_s=… retention_part_s=… page_plain_ms=… page_part_ms=…
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import psycopg

SCHEMA = "bench_partition"
BATCH = 1000
WORKSPACES = 20
CHANNELS_PER_WORKSPACE = 5


def _months(start: datetime, count: int) -> list[datetime]:
    firsts, year, month = [], start.year, start.month
    for _ in range(count + 1):
        firsts.append(datetime(year, month, 1, tzinfo=UTC))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return firsts


def _create(cur: psycopg.Cursor, shape: str, months: list[datetime]) -> None:
    columns = """
        id bigint NOT NULL, workspace_id int NOT NULL, channel_id int NOT NULL,
        conversation_id bigint NOT NULL, created_at timestamptz NOT NULL, verb text,
        external_id text NOT NULL, text text NOT NULL"""
    cur.execute(f"CREATE TABLE {shape}_plain ({columns}, PRIMARY KEY (id))")
    cur.execute(
        f"CREATE TABLE {shape}_part ({columns}, PRIMARY KEY (id, created_at))"
        " PARTITION BY RANGE (created_at)"
    )
    for first, nxt in itertools.pairwise(months):
        name = f"{shape}_part_{first:%Y%m}"
        cur.execute(
            f"CREATE TABLE {name} PARTITION OF {shape}_part"
            f" FOR VALUES FROM ('{first.isoformat()}') TO ('{nxt.isoformat()}')"
        )
    for table in (f"{shape}_plain", f"{shape}_part"):
        cur.execute(f"CREATE INDEX ON {table} (workspace_id, created_at DESC)")
        cur.execute(f"CREATE INDEX ON {table} (conversation_id, id)")
    if shape == "messages":
        cur.execute(f"ALTER TABLE {shape}_plain ADD UNIQUE (channel_id, external_id)")
        cur.execute(
            "CREATE TABLE message_keys (channel_id int NOT NULL, external_id text NOT NULL,"
            " created_at timestamptz NOT NULL, PRIMARY KEY (channel_id, external_id))"
        )
        cur.execute("CREATE INDEX ON message_keys (created_at)")


def _rows(rows: int, start: datetime, end: datetime) -> list[tuple[object, ...]]:
    span = (end - start).total_seconds()
    out = []
    for i in range(rows):
        workspace = i % WORKSPACES
        channel = workspace * CHANNELS_PER_WORKSPACE + (i // WORKSPACES) % CHANNELS_PER_WORKSPACE
        at = start + timedelta(seconds=span * i / rows)
        out.append(
            (i + 1, workspace, channel, i // 4, at, "received", f"ext-{i}", f"message {i} " * 8)
        )
    return out


INSERT = (
    "INSERT INTO {table} (id, workspace_id, channel_id, conversation_id, created_at, verb,"
    " external_id, text) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)


def _insert(
    conn: psycopg.Connection, shape: str, table: str, data: list[tuple[object, ...]]
) -> float:
    started = time.perf_counter()
    keyed = shape == "messages" and table.endswith("_part")
    with conn.cursor() as cur:
        for start in range(0, len(data), BATCH):
            batch = data[start : start + BATCH]
            with conn.transaction():
                if shape == "messages" and table.endswith("_plain"):
                    cur.executemany(INSERT.format(table=table) + " ON CONFLICT DO NOTHING", batch)
                    continue
                if keyed:
                    # The dedupe key first; only rows whose key is new become messages.
                    cur.executemany(
                        "INSERT INTO message_keys (channel_id, external_id, created_at)"
                        " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                        [(r[2], r[6], r[4]) for r in batch],
                    )
                cur.executemany(INSERT.format(table=table), batch)
    return time.perf_counter() - started


def _retention(conn: psycopg.Connection, shape: str, table: str, cutoff: datetime) -> float:
    started = time.perf_counter()
    with conn.cursor() as cur:
        if table.endswith("_plain"):
            while True:
                with conn.transaction():
                    cur.execute(
                        f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table}"
                        " WHERE created_at < %s LIMIT 10000)",
                        [cutoff],
                    )
                    if cur.rowcount == 0:
                        break
        else:
            with conn.transaction():
                cur.execute(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                    " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
                    [table],
                )
                for (name,) in cur.fetchall():
                    first = datetime.strptime(name.rsplit("_", 1)[1], "%Y%m").replace(tzinfo=UTC)
                    if first < cutoff and _next_month(first) <= cutoff:
                        cur.execute(f"DROP TABLE {name}")
            if shape == "messages":
                while True:
                    with conn.transaction():
                        cur.execute(
                            "DELETE FROM message_keys WHERE ctid IN (SELECT ctid FROM"
                            " message_keys WHERE created_at < %s LIMIT 10000)",
                            [cutoff],
                        )
                        if cur.rowcount == 0:
                            break
    return time.perf_counter() - started


def _next_month(first: datetime) -> datetime:
    return _months(first, 1)[1]


def _page(conn: psycopg.Connection, table: str, repeats: int = 50) -> float:
    times = []
    with conn.cursor() as cur:
        for i in range(repeats):
            started = time.perf_counter()
            cur.execute(
                f"SELECT id, created_at, text FROM {table} WHERE workspace_id = %s"
                " ORDER BY created_at DESC LIMIT 50",
                [i % WORKSPACES],
            )
            cur.fetchall()
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--keep", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("bench/partition.py needs DATABASE_URL=postgres://…", file=sys.stderr)
        return 2
    now = datetime.now(tz=UTC)
    months = _months(now - timedelta(days=31 * args.months), args.months)
    start, end = months[0], months[-1]
    cutoff = _months(end - timedelta(days=31 * (args.keep + 1)), 1)[1]
    data = _rows(args.rows, start, end - timedelta(seconds=1))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(f"SET search_path TO {SCHEMA}")
        try:
            for shape in ("messages", "activity"):
                with conn.cursor() as cur:
                    _create(cur, shape, months)
                figures: dict[str, float] = {}
                for kind in ("plain", "part"):
                    table = f"{shape}_{kind}"
                    figures[f"insert_{kind}_s"] = _insert(conn, shape, table, data)
                    conn.execute(f"ANALYZE {table}")
                    figures[f"page_{kind}_ms"] = _page(conn, table)
                    figures[f"retention_{kind}_s"] = _retention(conn, shape, table, cutoff)
                left = {
                    kind: conn.execute(f"SELECT count(*) FROM {shape}_{kind}").fetchone()[0]  # type: ignore[index]
                    for kind in ("plain", "part")
                }
                print(
                    f"bench=partition shape={shape} rows={args.rows} months={args.months}"
                    f" keep={args.keep} left_plain={left['plain']} left_part={left['part']} "
                    + " ".join(f"{k}={v:.2f}" for k, v in figures.items()),
                    flush=True,
                )
        finally:
            conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
