"""Inbound pipeline throughput against bare inserts of the same rows, measured in one run.

    .venv/bin/python bench/ingest.py [--quick] [--db sqlite|postgres] [--messages 100000]
                                     [--batch 500] [--seed 7]

Backfills simulated community messages through the whole inbound pipeline on a
fresh database: SQLite in a temporary data directory, or PostgreSQL with `--db
postgres` (DATABASE_URL, else the local server; a throw-away database
`<name>_bench_<pid>` is created and dropped). One worker process (this one) does
all of it. What is timed:

- storing the bodies as RawEvents (`do_store_raw_events`, the backfill path; the
  webhook's acknowledgement is `bench/hooks.py`'s business);
- draining them (`do_ingest_pending`, `CERCLE_INGEST_BATCH`-sized batches, as the
  worker's ingest task does), each batch in one transaction: claiming the
  events (`FOR UPDATE SKIP LOCKED`), parsing them, the dedupe (collapse within
  the batch, known messages and tombstones, newest state wins), contacts and
  identities, posts, threading into conversations (locked, counters and
  preview computed before the insert), messages, tombstones, the inline
  language detection, routing, the rules, the Activity rows, and marking the
  events done.

Not timed, because they run later in their own queues and are not part of
receiving: the classification stage (sentiment, intent, toxicity: the
`classify` queue's drain, `bench/classify.py`), the enrich fetch of id-only
items, and the readers of the Activity log (notifications, outgoing webhooks).
Tasks the drain enqueues go to a dummy backend.

Then it replays, with bare `cursor.executemany` (SQLite) or COPY (PostgreSQL),
every row the pipeline inserted
(raw events, contacts, identities, posts, conversations, messages, activities,
tombstones) into the same database re-created empty with the same setup rows
(same tables, indexes, triggers and constraints), in transactions holding the
rows of the same pipeline batches: the baseline, measured in the same run.

`--quick` is 20,000 items (under two minutes on two cores). The last line is
machine-readable:

    bench=ingest db=sqlite messages=… msgs_per_s=… baseline_msgs_per_s=… ratio=…
        cpu_msgs_per_s=… cpu_ratio=… load1=…

`msgs_per_s` is the pipeline's rate, `baseline_msgs_per_s` the raw insert rate of
the same rows, `ratio` their quotient, all by the wall clock; `cpu_msgs_per_s` and
`cpu_ratio` the same by CPU time (this process, plus its PostgreSQL backend's when
the server is on this machine), which a busy machine inflates much less; `load1`
the one-minute load average when the run ended. Details go to stderr.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# Columns the database computes (migration inbox.0011): never inserted.
GENERATED_COLUMNS = frozenset({"search_vector"})
# The pipeline's tables, in foreign-key order (a row only points to tables before it).
TABLES = [
    "pipeline_rawevent",
    "inbox_contact",
    "inbox_identity",
    "inbox_post",
    "inbox_conversation",
    "inbox_message",
    "inbox_tombstone",
    "workspaces_activity",
]


# --- the community -------------------------------------------------------------

FR_OPENINGS = [
    "Bonjour,",
    "Salut !",
    "Bonsoir,",
    "Coucou,",
    "Hello,",
    "Madame, Monsieur,",
    "",
]
FR_BODIES = [
    "ma commande n'est toujours pas arrivée, pouvez-vous me dire où elle en est ?",
    "la lampe que j'ai reçue clignote dès qu'on l'allume, c'est normal ?",
    "est-ce que ce modèle existe en blanc ? je le trouve magnifique",
    "je voudrais un remboursement, le colis était abîmé à la livraison",
    "merci pour la réponse rapide, tout fonctionne parfaitement maintenant",
    "quand est-ce que la nouvelle collection sera disponible en magasin ?",
    "impossible de me connecter à mon compte depuis ce matin",
    "super produit, je le recommande à tous mes amis",
    "le service client ne répond pas au téléphone, c'est inadmissible",
    "vous livrez en Belgique ? je n'ai pas trouvé l'information sur le site",
    "j'adore la nouvelle vidéo, vous pourriez montrer le montage en détail ?",
    "le code promo ne marche pas lors du paiement",
]
FR_ENDINGS = ["Merci d'avance.", "Cordialement", "Bonne journée !", "😡", "👍", "Merci !", ""]
EN_OPENINGS = ["Hi,", "Hello!", "Hey team,", "Good morning,", "Dear support,", ""]
EN_BODIES = [
    "my order still hasn't arrived, can you tell me where it is?",
    "the lamp I received flickers as soon as I switch it on, is that normal?",
    "does this model come in white? it looks gorgeous",
    "I would like a refund, the parcel was damaged on delivery",
    "thanks for the quick answer, everything works perfectly now",
    "when will the new collection be available in stores?",
    "I can't log into my account since this morning",
    "great product, I recommend it to all my friends",
    "customer service does not answer the phone, this is unacceptable",
    "do you ship to Canada? I couldn't find it on the website",
    "love the new video, could you show the assembly in more detail?",
    "the discount code does not work at checkout",
]
EN_ENDINGS = ["Thanks in advance.", "Regards", "Have a nice day!", "😡", "👍", "Thanks!", ""]
FIRST_NAMES = [
    "Camille",
    "Léa",
    "Hugo",
    "Chloé",
    "Lucas",
    "Emma",
    "Noah",
    "Olivia",
    "Liam",
    "Inès",
    "Jules",
    "Ava",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Smith",
    "Johnson",
    "Moreau",
    "Brown",
    "Lefèvre",
    "Taylor",
    "Garcia",
]


@dataclass
class Feed:
    """Generated webhook bodies per channel key, and how many distinct messages they hold."""

    bodies: dict[str, list[bytes]] = field(default_factory=dict)
    # Distinct messages the bodies create (0 when edits and deletes make it unknown).
    messages: int = 0
    events: int = 0
    generator: str = "own"


def _text(rng: random.Random, language: str) -> str:
    openings, bodies, endings = (
        (FR_OPENINGS, FR_BODIES, FR_ENDINGS)
        if language == "fr"
        else (EN_OPENINGS, EN_BODIES, EN_ENDINGS)
    )
    parts = [rng.choice(openings), rng.choice(bodies)]
    if rng.random() < 0.3:
        parts.append(rng.choice(bodies))
    parts.append(rng.choice(endings))
    return " ".join(p for p in parts if p)


def _make_authors(rng: random.Random, count: int) -> list[dict[str, str]]:
    """`count` authors as webhook `author` objects; `_lang` (not sent) is the language they write."""
    authors = []
    for i in range(count):
        language = "fr" if rng.random() < 0.6 else "en"
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        authors.append(
            {
                "id": f"u{i}",
                "name": f"{first} {last}",
                "handle": f"{first.lower()}{i}",
                "avatar": f"https://avatars.example.com/u{i}.png",
                "_lang": language,
            }
        )
    return authors


def _link_event(
    rng: random.Random,
    event: dict[str, Any],
    posts: list[dict[str, str]],
    recent: list[str],
    key: str,
    when: datetime,
) -> None:
    """Attach `event` to its context on channel `key`: the post it sits under (now and then a
    new one), the recent item it replies to, its private thread, or its star rating."""
    kind = event["type"]
    if kind in {"comment", "reply", "share"} or (kind == "mention" and rng.random() < 0.5):
        if not posts or rng.random() < 0.01:
            number = len(posts)
            posts.append(
                {
                    "id": f"{key}-post-{number}",
                    "text": f"Post {number}: notre nouvelle collection / our new collection",
                    "url": f"https://example.com/{key}/posts/{number}",
                    "published_at": when.isoformat(),
                }
            )
        event["post"] = rng.choice(posts[-10:])
    if kind == "reply" and recent:
        event["parent_id"] = rng.choice(recent[-50:])
    if kind == "message":
        event["thread_id"] = f"thread-{event['author']['id']}"
    if kind == "review":
        event["rating"] = rng.choices([1, 2, 3, 4, 5], [0.1, 0.1, 0.15, 0.3, 0.35])[0]


def generate_feed(n: int, seed: int, start: datetime) -> Feed:
    """`n` distinct messages over four channels, as simulator-wire webhook bodies.

    Many authors (a few very active, a long tail), FR and EN, comment threads
    under posts, replies, mentions, shares, private threads and reviews. Most
    deliveries carry one event, some carry several; about 1 % are redelivered
    (webhook retries), which the pipeline must dedupe.
    """
    import json

    rng = random.Random(seed)
    channel_kinds = {
        "forum": [("comment", 0.6), ("reply", 0.3), ("mention", 0.1)],
        "social": [("comment", 0.55), ("share", 0.15), ("mention", 0.15), ("reply", 0.15)],
        "messages": [("message", 1.0)],
        "reviews": [("review", 1.0)],
    }
    channel_weights = [("forum", 0.4), ("social", 0.3), ("messages", 0.18), ("reviews", 0.12)]
    author_count = max(10, n // 6)
    authors = _make_authors(rng, author_count)
    posts: dict[str, list[dict[str, str]]] = {key: [] for key in channel_kinds}
    recent: dict[str, list[str]] = {key: [] for key in channel_kinds}
    pending: dict[str, list[dict[str, Any]]] = {key: [] for key in channel_kinds}
    feed = Feed(bodies={key: [] for key in channel_kinds})
    when = start

    def flush(key: str) -> None:
        events = pending[key]
        if not events:
            return
        body = json.dumps({"events": events}, ensure_ascii=False).encode()
        feed.bodies[key].append(body)
        if rng.random() < 0.01:
            feed.bodies[key].append(body)  # a webhook retry: same delivery again
            feed.events += len(events)
        feed.events += len(events)
        pending[key] = []

    for i in range(n):
        key = rng.choices([k for k, _ in channel_weights], [w for _, w in channel_weights])[0]
        kinds = channel_kinds[key]
        kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        # Activity follows a long tail: a few authors write a lot.
        author = authors[int(author_count * rng.random() ** 2.5)]
        when += timedelta(seconds=rng.randint(1, 30))
        event: dict[str, Any] = {
            "type": kind,
            "op": "create",
            "id": f"{key}-{i}",
            "author": {k: v for k, v in author.items() if not k.startswith("_")},
            "text": _text(rng, author["_lang"]),
            "created_at": when.isoformat(),
        }
        _link_event(rng, event, posts[key], recent[key], key, when)
        recent[key].append(event["id"])
        pending[key].append(event)
        # Most platforms deliver one event per request; some batch a few.
        if rng.random() < 0.85:
            flush(key)
        feed.messages += 1
    for key in channel_kinds:
        flush(key)
    return feed


def community_feed(n: int, seed: int, start: datetime) -> Feed:
    """`n` items of the simulator's community (cercle.simulator.community), one per delivery.

    Its mix: FR and EN, threads under posts, private threads, reviews, follow-ups,
    edits and deletes, over five channels; every channel speaks the simulator wire.
    """
    from cercle.simulator.community import generate_events
    from cercle.simulator.wire.simulator import body_for

    feed = Feed(generator="community")
    for key, event in generate_events(n, seed, start):
        feed.bodies.setdefault(key, []).append(body_for([event]))
        feed.events += 1
    return feed


def make_feed(generator: str, n: int, seed: int, start: datetime) -> Feed:
    if generator in {"auto", "community"}:
        try:
            return community_feed(n, seed, start)
        except ImportError:
            if generator == "community":
                raise
    return generate_feed(n, seed, start)


# --- the database --------------------------------------------------------------


def setup_django(data_dir: str) -> None:
    """Point Cercle at a temporary data directory and a throw-away database name."""
    os.environ["CERCLE_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cercle.settings")
    os.environ.setdefault("CERCLE_LOG_LEVEL", "WARNING")
    # Tasks enqueued by actions are not the point here; keep them out of the timing.
    os.environ.setdefault("CERCLE_TASK_BACKEND", "django_tasks.backends.dummy.DummyBackend")
    import django
    from django.conf import settings

    django.setup()
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        db["TEST"]["NAME"] = str(Path(data_dir) / "bench.sqlite3")
    else:
        db["TEST"]["NAME"] = f"{db['NAME']}_bench_{os.getpid()}"


def create_database() -> str:
    """Create (or re-create) the throw-away database and migrate it; the configured name."""
    from django.conf import settings
    from django.db import connection

    configured = str(settings.DATABASES["default"]["NAME"])
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return configured


def drop_database(configured: str) -> None:
    from django.db import connection

    connection.creation.destroy_test_db(configured, verbosity=0)


def create_channels(keys: list[str]) -> dict[str, Any]:
    """The bench workspace and one simulator channel per key, through the actions."""
    from cercle.pipeline.actions import do_create_channel
    from cercle.workspaces.actions import do_create_workspace

    workspace = do_create_workspace("Maison Lumen (bench)")
    return {
        key: do_create_channel(
            workspace,
            "simulator",
            f"Lumen {key}",
            external_id=f"bench-{key}",
            credentials={"webhook_secret": "bench"},
        )
        for key in keys
    }


def max_ids() -> dict[str, int]:
    """Highest id of each pipeline table (batch boundaries for the replay)."""
    from django.db import connection

    with connection.cursor() as cursor:
        result = {}
        for table in TABLES:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            result[table] = int(cursor.fetchone()[0])
        return result


# --- the run -------------------------------------------------------------------


def server_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (0 on SQLite).

    Read from /proc, so only for a server on this machine (NaN otherwise). With
    the process's own CPU time it gives the work one worker costs, which a busy
    machine inflates much less than the wall clock (it leaves out the WAL
    writer, the checkpointer and the disk).
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    # utime and stime: fields 14 and 15 of stat(5), 12 and 13 after the command.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Meter:
    """Wall clock and this process's CPU time summed over timed spans; the backend's CPU.

    The backend's CPU is read once before and once after the whole run (the
    kernel counts it in 10 ms ticks): between the spans it does next to nothing.
    """

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    server_cpu_seconds: float = 0.0

    def span(self) -> Any:
        """Time a span of work (wall clock and this process's CPU)."""
        meter = self

        class _Span:
            def __enter__(self) -> None:
                self.wall, self.cpu = time.perf_counter(), time.process_time()

            def __exit__(self, *exc: object) -> None:
                meter.seconds += time.perf_counter() - self.wall
                meter.cpu_seconds += time.process_time() - self.cpu

        return _Span()

    @property
    def total_cpu(self) -> float:
        """CPU of the process and of its database backend (the process alone on SQLite)."""
        return self.cpu_seconds + self.server_cpu_seconds


@dataclass
class PipelineRun:
    seconds: float
    # CPU time of this process (on SQLite all of the work; steadier on a busy machine).
    cpu_seconds: float
    # CPU time of the PostgreSQL backend serving it (0 on SQLite).
    server_cpu_seconds: float
    messages: int
    # Per table, the id boundaries after setup, after storing, and after each ingest batch.
    boundaries: list[dict[str, int]]


def run_pipeline(feed: Feed, batch: int) -> PipelineRun:
    """Store every body as a RawEvent, then drain the queue; time only those two."""
    from cercle.inbox.models import Message
    from cercle.pipeline.actions import do_ingest_pending, do_store_raw_events

    channels = create_channels(list(feed.bodies))
    boundaries = [max_ids()]
    meter = Meter()
    server_started = server_cpu()
    with meter.span():
        for key, bodies in feed.bodies.items():
            for start in range(0, len(bodies), batch):
                do_store_raw_events(channels[key], bodies[start : start + batch])
    boundaries.append(max_ids())
    while True:
        with meter.span():
            report = do_ingest_pending(batch)
        if report.events == 0:
            break
        if report.failed:
            print(f"warning: {report.failed} raw events failed", file=sys.stderr)
        boundaries.append(max_ids())
    meter.server_cpu_seconds = server_cpu() - server_started
    return PipelineRun(
        seconds=meter.seconds,
        cpu_seconds=meter.cpu_seconds,
        server_cpu_seconds=meter.server_cpu_seconds,
        messages=Message.objects.count(),
        boundaries=boundaries,
    )


def _rows(table: str, low: int, high: int) -> tuple[list[str], list[tuple[Any, ...]]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id > %s AND id <= %s ORDER BY id", [low, high])
        columns = [c[0] for c in cursor.description]
        rows = cursor.fetchall()
    # A generated column (PostgreSQL's inbox_message.search_vector) cannot be inserted.
    kept = [i for i, name in enumerate(columns) if name not in GENERATED_COLUMNS]
    if len(kept) < len(columns):
        columns = [columns[i] for i in kept]
        rows = [tuple(row[i] for i in kept) for row in rows]
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        rows = [tuple(Jsonb(v) if isinstance(v, dict | list) else v for v in row) for row in rows]
    return columns, rows


def _slices(boundaries: list[dict[str, int]]) -> Iterator[dict[str, tuple[int, int]]]:
    for before, after in itertools.pairwise(boundaries):
        yield {table: (before[table], after[table]) for table in TABLES}


Plan = list[list[tuple[str, list[str], list[tuple[Any, ...]]]]]


def read_back(run: PipelineRun, batch: int) -> Plan:
    """Every row the pipeline inserted, grouped as it was written: one list per transaction.

    Raw events go `batch` rows per transaction, as they were stored; then one
    transaction per ingest batch with the rows of every table that batch wrote.
    """
    plan: Plan = []
    for number, bounds in enumerate(_slices(run.boundaries)):
        work = []
        for table in TABLES:
            low, high = bounds[table]
            if high <= low:
                continue
            columns, rows = _rows(table, low, high)
            if number == 0:
                plan.extend(
                    [[(table, columns, rows[i : i + batch])] for i in range(0, len(rows), batch)]
                )
            else:
                work.append((table, columns, rows))
        if work:
            plan.append(work)
    return plan


def replay(plan: Plan) -> tuple[Meter, int]:
    """Insert the planned rows with bare `executemany`, one transaction per group.

    Returns the time it took (wall clock, CPU of this process and of the database
    backend) and the rows inserted.

    On PostgreSQL through a plain psycopg cursor, with COPY (the pipeline's own
    bulk path, and the fastest bare one: cheaper per row than a pipelined
    `executemany`), so the baseline is not slowed by Django's client-side quoting.
    """
    from django.db import connection, transaction

    def driver_cursor() -> Any:
        if connection.vendor == "postgresql":
            import psycopg

            connection.ensure_connection()
            return psycopg.Cursor(connection.connection)
        return connection.cursor()

    total = 0
    meter = Meter()
    server_started = server_cpu()
    for work in plan:
        with meter.span(), transaction.atomic(), driver_cursor() as cursor:
            for table, columns, rows in work:
                names = ", ".join(connection.ops.quote_name(c) for c in columns)
                if connection.vendor == "postgresql":
                    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    placeholders = ", ".join(["%s"] * len(columns))
                    cursor.executemany(
                        f"INSERT INTO {table} ({names}) VALUES ({placeholders})", rows
                    )
                total += len(rows)
    meter.server_cpu_seconds = server_cpu() - server_started
    return meter, total


def select_database(db: str) -> None:
    """Point DATABASE_URL at the server `--db` names (before Django reads its settings)."""
    from serving import DEFAULT_POSTGRES

    if db == "postgres":
        if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
            os.environ["DATABASE_URL"] = DEFAULT_POSTGRES
    else:
        os.environ.pop("DATABASE_URL", None)


def load_average() -> str:
    """The machine's load (1, 5, 15 minutes), as `uptime` prints it: a shared machine inflates times."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def main(argv: list[str] | None = None) -> int:
    from serving import add_db_argument

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="20,000 items (under two minutes on two cores)"
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500, help="raw events per ingest batch")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--generator",
        choices=["auto", "community", "own"],
        default="auto",
        help="the simulator's community (auto: when installed) or this file's generator",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="write cProfile stats of the pipeline phase to FILE"
    )
    add_db_argument(parser)
    args = parser.parse_args(argv)
    items = 20_000 if args.quick else args.messages
    select_database(args.db)
    print(f"load average before: {load_average()}", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="cercle-bench-") as data_dir:
        setup_django(data_dir)
        from django.db import connection

        start = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
        feed = make_feed(args.generator, items, args.seed, start)
        configured = create_database()
        try:
            if args.profile:
                import cProfile

                profiler = cProfile.Profile()
                run = profiler.runcall(run_pipeline, feed, args.batch)
                profiler.dump_stats(args.profile)
            else:
                run = run_pipeline(feed, args.batch)
            if feed.messages and run.messages != feed.messages:
                print(f"error: {run.messages} messages, {feed.messages} expected", file=sys.stderr)
                return 1
            plan = read_back(run, args.batch)
        finally:
            drop_database(configured)
        # The baseline starts from the same state: a fresh database, the same setup rows.
        configured = create_database()
        try:
            create_channels(list(feed.bodies))
            if max_ids() != run.boundaries[0]:
                print(
                    "error: the replay database does not start like the pipeline's", file=sys.stderr
                )
                return 1
            raw, rows = replay(plan)
        finally:
            drop_database(configured)
    pipeline = run.messages / run.seconds
    baseline = run.messages / raw.seconds
    run_cpu = run.cpu_seconds + run.server_cpu_seconds
    db = "sqlite" if connection.vendor == "sqlite" else "postgres"
    load = load_average()
    print(
        f"details: database={connection.vendor} generator={feed.generator} "
        f"messages={run.messages} events={feed.events} "
        f"raw_events={sum(len(b) for b in feed.bodies.values())} rows={rows} "
        f"batch={args.batch} pipeline_s={run.seconds:.2f} raw_insert_s={raw.seconds:.2f} "
        f"pipeline_cpu_s={run.cpu_seconds:.2f}+{run.server_cpu_seconds:.2f} "
        f"raw_insert_cpu_s={raw.cpu_seconds:.2f}+{raw.server_cpu_seconds:.2f} "
        "(this process + the database backend)",
        file=sys.stderr,
    )
    print(f"load average after: {load}", file=sys.stderr)
    sys.stderr.flush()
    # The wall-clock figures are the targets'; the CPU ones (process + database backend)
    # tell what a worker costs when the machine is busy with other work.
    print(
        f"bench=ingest db={db} messages={run.messages} msgs_per_s={pipeline:.0f} "
        f"baseline_msgs_per_s={baseline:.0f} ratio={pipeline / baseline:.3f} "
        f"cpu_msgs_per_s={run.messages / run_cpu:.0f} "
        f"cpu_ratio={raw.total_cpu / run_cpu:.3f} load1={load.split()[0]}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
