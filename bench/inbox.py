"""The inbox's first page, through Django, against the bare SQL of its list, measured in one run.

    .venv/bin/python bench/inbox.py [--quick] [--conversations 200000] [--messages-per 5]

Seeds a fresh database (SQLite in a temporary directory, or PostgreSQL when
DATABASE_URL points at one) with bulk inserts (`cercle.core.db_bulk`, not the
actions: the point is reading, not ingesting): members, channels, tags, contacts,
conversations in every status, their messages. Then, logged in with the Django
test client, it times the first page of the default inbox and of filtered views
(mine, an assignee, a channel, a tag, a status, the closed view), each requested
`--runs` times after one warm-up request, and the bare SQL of each list (the
query `conversation_page` runs, executed on a cursor) the same number of times.

It ends with one machine-readable line:

    bench=inbox db=sqlite messages=… median_ms=… p95_ms=… baseline_ms=…

`--quick` seeds 20,000 conversations of 5 messages (well under two minutes on two
cores); the full size is 200,000 conversations and 1,000,000 messages.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import create_database, drop_database, setup_django

STATUSES = (("new", 15), ("open", 20), ("pending", 10), ("snoozed", 5), ("closed", 50))
LANGUAGES = ("fr", "en", "de", "es", "it", "nl")
BATCH = 5_000


def default_text(rng: random.Random, conversation_id: int, k: int) -> str:
    return f"Message {k} de la conversation {conversation_id} : où est mon colis ?"


def seed(
    conversations: int,
    messages_per: int,
    seed_value: int,
    text: Callable[[random.Random, int, int], str] = default_text,
) -> dict[str, Any]:
    """The bench workspace, its people and channels (actions), and the bulk of the rows (bulk).

    `text(rng, conversation_id, k)` writes the k-th message of a conversation.
    """
    from cercle.core.db_bulk import insert_values
    from cercle.inbox.models import Contact, Conversation, Message, Tag
    from cercle.pipeline.actions import do_create_channel
    from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
    from cercle.workspaces.choices import Role, Verb
    from cercle.workspaces.models import Activity

    rng = random.Random(seed_value)
    workspace = do_create_workspace("Maison Lumen (bench)")
    owner = do_add_member(workspace, do_create_user("bench", "bench-password-1"), Role.OWNER)
    agents = [
        do_add_member(workspace, do_create_user(f"agent{i}", "bench-password-1"), Role.AGENT)
        for i in range(5)
    ]
    members = [owner, *agents]
    channels = [
        do_create_channel(
            workspace,
            "simulator",
            f"Lumen {key}",
            external_id=f"bench-{key}",
            credentials={"webhook_secret": "bench"},
        )
        for key in ("forum", "shop", "support", "reviews")
    ]
    tag_ids = insert_values(
        Tag,
        [{"workspace_id": workspace.pk, "name": f"tag-{i}"} for i in range(8)],
        returning=True,
    )
    statuses = [s for s, weight in STATUSES for _ in range(weight)]
    now = datetime.now(UTC)
    through = Conversation.tags.through
    done = 0
    while done < conversations:
        n = min(BATCH, conversations - done)
        contact_ids = insert_values(
            Contact,
            [
                {"workspace_id": workspace.pk, "display_name": f"Contact {done + i}"}
                for i in range(n)
            ],
            returning=True,
        )
        rows = []
        for i in range(n):
            status = rng.choice(statuses)
            last = now - timedelta(minutes=rng.randrange(90 * 24 * 60))
            waiting = status in {"new", "open"} and rng.random() < 0.8
            rows.append(
                {
                    "workspace_id": workspace.pk,
                    "channel_id": rng.choice(channels).pk,
                    "contact_id": contact_ids[i],
                    "thread_key": f"bench-{done + i}",
                    "status": status,
                    "priority": rng.choice((0, 0, 0, 1, 1, 2, 3)),
                    "assignee_id": rng.choice(members).pk if rng.random() < 0.6 else None,
                    "preview": f"Bonjour, question numéro {done + i} au sujet de ma commande",
                    "language": rng.choice(LANGUAGES),
                    "message_count": messages_per,
                    "waiting_since": last if waiting else None,
                    "last_inbound_at": last,
                    "last_activity_at": last,
                    "snoozed_until": now + timedelta(days=1) if status == "snoozed" else None,
                }
            )
        conv_ids = insert_values(Conversation, rows, returning=True)
        insert_values(
            Message,
            [
                {
                    "workspace_id": workspace.pk,
                    "channel_id": row["channel_id"],
                    "conversation_id": conv_id,
                    "external_id": f"m-{conv_id}-{k}",
                    "direction": "in",
                    "text": text(rng, conv_id, k),
                    "language": row["language"],
                    "created_at": row["last_activity_at"] - timedelta(minutes=messages_per - k),
                }
                for conv_id, row in zip(conv_ids, rows, strict=True)
                for k in range(messages_per)
            ],
        )
        insert_values(
            through,
            [
                {"conversation_id": conv_id, "tag_id": rng.choice(tag_ids)}
                for conv_id in conv_ids
                if rng.random() < 0.15
            ],
        )
        done += n
    insert_values(
        Activity,
        [{"workspace_id": workspace.pk, "verb": Verb.RECEIVED, "data": {}}],
    )
    _analyze()
    return {
        "owner": owner,
        "agent": agents[0],
        "channel": channels[0],
        "tag": tag_ids[0],
        "messages": conversations * messages_per,
    }


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def views(seeded: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The pages measured: the default inbox and filtered views."""
    return {
        "default": {},
        "mine": {"view": "mine"},
        "assignee": {"view": "open", "assignee": str(seeded["agent"].pk)},
        "channel": {"view": "open", "channel": str(seeded["channel"].pk)},
        "tag": {"view": "all", "tag": str(seeded["tag"])},
        "status": {"view": "all", "status": "pending"},
        "closed": {"view": "closed"},
    }


def bare_sql(member: Any, params: dict[str, str]) -> tuple[str, Any] | None:
    """The SQL (and parameters) of the list query `conversation_page` runs for these filters;
    None when Django knows the list is empty without asking the database (a search found
    nothing)."""
    from django.core.exceptions import EmptyResultSet
    from django.http import QueryDict

    from cercle.inbox import queries

    filters = queries.InboxFilters.from_query(QueryDict(mutable=True) | params)
    qs = queries._sorted(
        queries.filtered_conversations(member, filters),
        filters.sort,
        closed=queries.closed_only(filters),
    )
    qs = qs.select_related("channel", "contact", "assignee__user")[: queries.PAGE_SIZE + 1]
    try:
        return qs.query.sql_with_params()
    except EmptyResultSet:
        return None


def measure(
    seeded: dict[str, Any], runs: int, pages: dict[str, dict[str, str]] | None = None
) -> dict[str, tuple[list[float], list[float]]]:
    """Per view (`pages`, else `views`): the page and bare-query times in ms, interleaved."""
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(seeded["owner"].user)
    url = reverse("inbox:index")
    results: dict[str, tuple[list[float], list[float]]] = {}
    for name, params in (pages if pages is not None else views(seeded)).items():
        bare_query = bare_sql(seeded["owner"], params)
        assert client.get(url, params).status_code == 200  # warm-up (and the side counts)
        pages: list[float] = []
        bare: list[float] = []
        for _ in range(runs):
            start = time.perf_counter()
            response = client.get(url, params)
            pages.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.status_code
            start = time.perf_counter()
            if bare_query is not None:
                with connection.cursor() as cursor:
                    cursor.execute(*bare_query)
                    cursor.fetchall()
            bare.append((time.perf_counter() - start) * 1000)
        results[name] = (pages, bare)
    return results


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(
    bench: str, vendor: str, messages: int, results: dict[str, tuple[list[float], list[float]]]
) -> None:
    """The table per view, then the one machine-readable line over all of them."""
    print(f"{'view':<10} {'median_ms':>10} {'p95_ms':>8} {'bare_ms':>8}")
    all_pages: list[float] = []
    all_bare: list[float] = []
    for name, (pages, bare) in results.items():
        all_pages += pages
        all_bare += bare
        print(
            f"{name:<10} {statistics.median(pages):>10.1f} {p95(pages):>8.1f} "
            f"{statistics.median(bare):>8.1f}"
        )
    db = "sqlite" if vendor == "sqlite" else vendor
    print(
        f"bench={bench} db={db} messages={messages} "
        f"median_ms={statistics.median(all_pages):.1f} p95_ms={p95(all_pages):.1f} "
        f"baseline_ms={statistics.median(all_bare):.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="20,000 conversations")
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--messages-per", type=int, default=5)
    parser.add_argument("--runs", type=int, default=0, help="requests per view (default 15/10)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    conversations = 20_000 if args.quick else args.conversations
    runs = args.runs or (15 if args.quick else 10)

    os.environ.setdefault("CERCLE_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    with tempfile.TemporaryDirectory(prefix="cercle-bench-inbox-") as data_dir:
        setup_django(data_dir)
        from django.db import connection

        configured = create_database()
        try:
            start = time.perf_counter()
            seeded = seed(conversations, args.messages_per, args.seed)
            seeding = time.perf_counter() - start
            print(
                f"seeded {conversations:,} conversations, {seeded['messages']:,} messages "
                f"in {seeding:.1f} s on {connection.vendor}"
            )
            results = measure(seeded, runs)
        finally:
            drop_database(configured)

    report("inbox", connection.vendor, seeded["messages"], results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
