"""The insights dashboard's time against a plain read of the rows it needs, measured in one run.

    .venv/bin/python bench/insights.py [--quick] [--messages 1000000] [--seed 7]

Backfills simulated community messages through the real inbound pipeline (see
bench/ingest.py) on a fresh database (SQLite in a temporary directory, or
PostgreSQL when DATABASE_URL points at one), has the team answer a share of the
conversations through the real actions (dated with `core.clock`), then times:

- before: `insights.report.build_report` for the last 30 days of the data, from the
  raw rows (`use_rollups=False`, the dashboard without pre-aggregation);
- the rollup drain (`cercle manage insights_rollup`, printing its progress) building
  the rollups of the whole history (once; afterwards it follows the log);
- after: the same report read from the rollups (whole days) and the raw rows of
  the last day (the live tail), checked equal to the raw one;
- the baseline: reading the Activity rows of that period (the least any
  dashboard reading the log must do).

It ends with one machine-readable line (`dashboard_ms` is the figure with rollups):

    bench=insights db=sqlite messages=20000 personas=0 dashboard_ms=… baseline_ms=… raw_ms=…
        ratio=… trends_ms=… when_ms=… members_ms=… personas_ms=…

(`trends_ms`, `when_ms`, `members_ms`: the Trends, When and Members pages over the same 30
days; `personas_ms`: the Personas page with its suggestions, clustered on the last 30 days.)

`--quick` uses 20,000 messages (under two minutes on two cores). `--personas` adds the
demo's two personas: the persona breakdown is computed live (which contacts a persona
holds changes with every message), so its cost shows in `dashboard_ms`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import create_database, drop_database, make_feed, run_pipeline, setup_django


def answer_some(share: float, seed: int, limit: int) -> int:
    """The team answers `share` of the conversations (at most `limit`), 5 to 240 minutes after
    they started waiting, through the real actions dated with the clock."""
    from cercle.core import clock
    from cercle.inbox.actions import do_change_status, do_reply
    from cercle.inbox.models import Conversation
    from cercle.workspaces.actions import do_add_member, do_create_user
    from cercle.workspaces.choices import Role

    rng = random.Random(seed)
    first = Conversation.objects.select_related("workspace").first()
    if first is None:
        return 0
    member = do_add_member(first.workspace, do_create_user("bench", "bench-password-1"), Role.OWNER)
    answered = 0
    waiting = list(Conversation.objects.filter(waiting_since__isnull=False).order_by("id"))
    for conversation in waiting:
        if answered >= limit:
            break
        if rng.random() >= share or conversation.waiting_since is None:
            continue
        when = conversation.waiting_since + timedelta(minutes=rng.uniform(5, 240))
        with clock.at(when):
            try:
                do_reply(member, conversation, "Merci, nous regardons.")
            except ValueError:
                continue  # a platform that cannot answer this kind
            if rng.random() < 0.5:
                do_change_status(member, conversation, "closed")
        answered += 1
    return answered


# The tables a copy of the history takes, with their columns that point at a copied row.
COPIED = (
    ("inbox_conversation", ("id", "merged_into_id")),
    ("inbox_message", ("id", "conversation_id")),
    ("workspaces_activity", ("id", "conversation_id", "message_id")),
)


def copied_value(
    column: str,
    ids: tuple[str, ...],
    datetimes: set[str],
    copy: int,
    shift: int,
    offset: int,
    sqlite: bool,
) -> str:
    """The SQL of one column of a copied row."""
    if column in ids:
        return f"{column} + {offset}"
    if column in ("external_id", "thread_key"):
        return f"{column} || '~{copy}'"
    if column == "raw_event_id":
        return "NULL"
    if column in datetimes:
        if sqlite:
            return f"strftime('%Y-%m-%d %H:%M:%f', {column}, '-{shift} seconds')"
        return f"{column} - interval '{shift} seconds'"
    return column


def grow_history(target: int) -> int:
    """Copy the backfilled history (conversations, messages, their Activity log) further back in
    time until `target` messages are stored: each copy is shifted back by the history's span
    (so the density per day stays the pipeline's), its ids moved past the last ones, its
    external ids suffixed. The copies are plain SQL (`INSERT … SELECT`): a history of a million
    messages through the pipeline takes hours on two busy cores. Returns the messages added."""
    from django.apps import apps
    from django.db import connection, transaction

    from cercle.inbox.models import Message

    stored = Message.objects.count()
    first = Message.objects.order_by("sent_at").values_list("sent_at", flat=True).first()
    last = Message.objects.order_by("-sent_at").values_list("sent_at", flat=True).first()
    if not stored or first is None or last is None or stored >= target:
        return 0
    span = int((last - first).total_seconds()) + 86_400
    sqlite = connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        columns = {
            table: [c.name for c in connection.introspection.get_table_description(cursor, table)]
            for table, _ids in COPIED
        }
        offsets = {}
        for table, _ids in COPIED:
            cursor.execute(f"SELECT MAX(id) FROM {table}")
            offsets[table] = int(cursor.fetchone()[0] or 0) + 1
    step = max(offsets.values())
    # Only the models' columns: a column the database computes (PostgreSQL's generated
    # `inbox_message.search_vector`) cannot be inserted.
    model_columns = {
        model._meta.db_table: {f.column for f in model._meta.concrete_fields}
        for model in apps.get_models()
    }
    columns = {
        table: [c for c in names if c in model_columns.get(table, set(names))]
        for table, names in columns.items()
    }
    datetime_columns = {
        table: {
            f.column
            for model in apps.get_models()
            if model._meta.db_table == table
            for f in model._meta.concrete_fields
            if f.get_internal_type() == "DateTimeField"
        }
        for table, _ids in COPIED
    }
    added = 0
    copy = 0
    while stored + added < target:
        copy += 1
        shift, offset = span * copy, step * copy

        with transaction.atomic(), connection.cursor() as cursor:
            for table, ids in COPIED:
                names = columns[table]
                select = ", ".join(
                    copied_value(c, ids, datetime_columns[table], copy, shift, offset, sqlite)
                    for c in names
                )
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(names)}) SELECT {select} FROM {table} "
                    f"WHERE id < {step}"
                )
        added += stored
        print(f"copy {copy}: {stored + added} messages", file=sys.stderr)
    if not sqlite:
        with connection.cursor() as cursor:
            for table, _ids in COPIED:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )
            cursor.execute("ANALYZE")
    return added


def seed(args: argparse.Namespace, messages: int, limit: int) -> None:
    """The history (what a kept database lacks of it): messages, answers, older copies,
    personas."""
    from cercle.inbox.models import Message
    from cercle.workspaces.models import Member

    if not Message.objects.exists():
        start = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
        feed = make_feed("own", messages, args.seed, start)
        run = run_pipeline(feed, 500)
        del feed
        print(f"ingested {run.messages} messages in {run.seconds:.1f} s", file=sys.stderr)
    if not Member.objects.exists():  # a kept backfill stopped before the answers
        answered = answer_some(args.answered, args.seed, limit)
        print(f"answered {answered} conversations", file=sys.stderr)
    if args.grow_to:
        grow_history(args.grow_to)
    if args.personas:
        add_demo_personas()


def add_demo_personas() -> None:
    """The demo's personas (language, returning, activity; tags, activity), once."""
    from cercle.insights.actions import do_save_persona
    from cercle.insights.models import Persona
    from cercle.simulator.insights_setup import PERSONAS
    from cercle.workspaces.models import Member

    owner = Member.objects.select_related("workspace").order_by("id").first()
    assert owner is not None, "no member (the backfill answers as one)"
    for name, description, conditions in PERSONAS:
        if not Persona.objects.filter(workspace=owner.workspace, name=name).exists():
            do_save_persona(
                owner, owner.workspace, name=name, description=description, conditions=conditions
            )


def keep_database(name: str, directory: Path) -> str:
    """Open (creating and migrating it when new) the kept database `name`; the configured name."""
    from django.conf import settings
    from django.db import connection

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        directory.mkdir(parents=True, exist_ok=True)
        db["TEST"]["NAME"] = str((directory / f"{name}.sqlite3").resolve())
    else:
        db["TEST"]["NAME"] = f"{db['NAME']}_{name}"
    configured = str(db["NAME"])
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=True)
    return configured


def same_figures(report: Any, raw: Any) -> bool:
    """Whether two reports show the same figures (the conversation ids aside)."""

    def figures(r: Any) -> tuple[Any, ...]:
        def plain(summary: Any) -> tuple[Any, ...]:
            return (
                summary.waits,
                summary.answered,
                summary.automated,
                summary.median_seconds,
                summary.p90_seconds,
                summary.median_business_seconds,
            )

        tables = {
            name: sorted((row.key, plain(row.summary)) for row in rows)
            for name, rows in r.breakdowns.items()
        }
        return (
            plain(r.first),
            plain(r.every),
            r.resolution_median_seconds,
            tables,
            r.heatmap,
            r.posts,
            r.daily,
        )

    return figures(report) == figures(raw)


def timed(function, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Median wall time of `repeat` calls, in milliseconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20,000 messages")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--answered", type=float, default=0.6, help="share of conversations answered"
    )
    parser.add_argument(
        "--answer-limit", type=int, default=20_000, help="at most this many replies"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--keep",
        default="",
        help="keep the database under this name (SQLite: a file in --keep-dir) and reuse it: "
        "a second run skips the backfill",
    )
    parser.add_argument(
        "--grow-to",
        type=int,
        default=0,
        help="copy the backfilled history back in time (SQL) until this many messages",
    )
    parser.add_argument("--load-only", action="store_true", help="backfill, time nothing")
    parser.add_argument(
        "--personas",
        action="store_true",
        help="add the demo's two personas (their breakdown is computed live: its cost shows)",
    )
    parser.add_argument("--keep-dir", default="var/bench", help="where --keep puts SQLite files")
    args = parser.parse_args(argv)
    messages = 20_000 if args.quick else args.messages
    limit = 2_000 if args.quick else args.answer_limit

    with tempfile.TemporaryDirectory(prefix="cercle-bench-") as data_dir:
        os.environ.setdefault("CERCLE_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
        setup_django(data_dir)
        from django.db import connection

        if args.keep:
            configured = keep_database(args.keep, Path(args.keep_dir))
        else:
            configured = create_database()
        try:
            from cercle.inbox.models import Message

            seed(args, messages, limit)
            total = Message.objects.count()
            if args.load_only:
                print(f"kept {total} messages", file=sys.stderr)
                return 0

            from django.core.management import call_command
            from django.test import Client

            from cercle.core import clock
            from cercle.insights.models import Persona
            from cercle.insights.queries import Period
            from cercle.insights.report import build_report
            from cercle.workspaces.models import Activity, Member, Workspace

            workspace = Workspace.objects.get()
            personas = Persona.objects.filter(workspace=workspace).count()
            last = Message.objects.order_by("-sent_at").values_list("sent_at", flat=True).first()
            assert last is not None
            now = last + timedelta(seconds=1)
            period = Period.last_days(30, now)

            def baseline() -> None:
                rows = Activity.objects.filter(
                    workspace=workspace, created_at__gte=period.start, created_at__lt=period.end
                ).values_list("conversation_id", "verb", "created_at", "actor_id", "data")
                for _row in rows.iterator(chunk_size=5000):
                    pass

            baseline_ms = timed(baseline, args.repeat)
            started = time.perf_counter()
            raw = build_report(workspace, period, use_rollups=False)
            raw_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            with clock.at(now):
                call_command("insights_rollup", stdout=sys.stderr)  # prints its progress
            rollup_s = time.perf_counter() - started
            from cercle.insights.tasks import count_persona_members

            with clock.at(now):  # what the worker does every few minutes
                kept = count_persona_members.call()
            print(f"personas kept by the worker: {kept}", file=sys.stderr)
            report = build_report(workspace, period)
            assert report.every.conversation_ids == (), "the rollups were not read"
            assert same_figures(report, raw), "the rollups disagree with the raw rows"

            owner = Member.objects.filter(workspace=workspace).select_related("user").first()
            assert owner is not None, "no member (the backfill answers as one)"
            client = Client()
            client.force_login(owner.user)

            from django.core.cache import cache

            def dashboard() -> None:
                # A page drawn at another instant computes its report: the cache that lets a
                # page's charts share it (keyed by the instant) must not serve the timed calls.
                cache.clear()
                with clock.at(now):
                    response = client.get("/insights/", {"days": "30"})
                assert response.status_code == 200, response.status_code

            dashboard()  # warm-up: the session learns its workspace
            dashboard_ms = timed(dashboard, args.repeat)

            def page(path: str) -> Any:
                def get() -> None:
                    cache.clear()
                    with clock.at(now):
                        response = client.get(path, {"days": "30"})
                    assert response.status_code == 200, (path, response.status_code)

                return get

            # The other pages: the trends (every message through TermRollup), When (arrivals
            # from VolumeRollup, the members' work from a covering index of the log), Members
            # and Personas (the period's messages grouped by the database).
            trends_ms = timed(page("/insights/trends/"), args.repeat)
            when_ms = timed(page("/insights/when/"), args.repeat)
            members_ms = timed(page("/insights/members/"), args.repeat)
            personas_ms = timed(page("/insights/personas/"), args.repeat)
            print(
                f"period={period.start:%Y-%m-%d}..{period.end:%Y-%m-%d} "
                f"waits={report.every.waits} answered={report.every.answered} "
                f"first_median_s={report.first.median_seconds} rollups_built_s={rollup_s:.1f} "
                f"report_raw_ms={raw_ms:.0f}",
                file=sys.stderr,
            )
            vendor = connection.vendor
        finally:
            if not args.keep:
                drop_database(configured)
    print(
        f"bench=insights db={vendor} messages={total} personas={personas} "
        f"dashboard_ms={dashboard_ms:.0f} "
        f"baseline_ms={baseline_ms:.0f} raw_ms={raw_ms:.0f} "
        f"ratio={dashboard_ms / max(baseline_ms, 0.001):.2f} "
        f"trends_ms={trends_ms:.0f} when_ms={when_ms:.0f} members_ms={members_ms:.0f} "
        f"personas_ms={personas_ms:.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
