"""Reply suggestions' lookup at 10,000 answered messages, against a bare numpy scan of the same vectors.

    .venv/bin/python bench/suggestions.py [--answered 10000] [--runs 50] [--seed 7]

Seeds a fresh database (SQLite in a temporary directory, or PostgreSQL when
DATABASE_URL points at one) with bulk inserts: `--answered` conversations, each
an inbound message with a stored embedding (random unit vectors with a few
shared directions, 384 dimensions) and the team's reply. Then times:

- build: the workspace's index built from the database (once per new vector or reply);
- lookup: `similar_answered` for a message, index already built — the signature
  check (two indexed aggregates), the query vector, the product and the
  answers' rows, as the reply box pays it on every conversation opened;
- baseline: the matrix-vector product and top-k alone, in numpy.

Ends with one machine-readable line:

    bench=suggestions db=sqlite answered=… build_ms=… lookup_median_ms=… lookup_p95_ms=… baseline_ms=… ratio=…
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import create_database, drop_database, setup_django

DIM = 384
BATCH = 2_000


def seed(answered: int, seed_value: int) -> tuple[int, list[int]]:
    """The workspace and its answered conversations; (workspace id, inbound message ids)."""
    from cercle.core.db_bulk import insert_values
    from cercle.inbox.models import Contact, Conversation, Message
    from cercle.moderation import suggestions
    from cercle.moderation.models import MessageVector
    from cercle.pipeline.actions import do_create_channel
    from cercle.workspaces.actions import do_create_workspace

    rng = np.random.default_rng(seed_value)
    topics = rng.normal(size=(20, DIM)).astype(np.float32)
    workspace = do_create_workspace("Maison Lumen (bench)")
    channel = do_create_channel(
        workspace, "simulator", "Lumen forum", credentials={"webhook_secret": "bench"}
    )
    model = suggestions.embedder_version()
    now = datetime.now(UTC)
    inbound: list[int] = []
    done = 0
    while done < answered:
        n = min(BATCH, answered - done)
        contacts = insert_values(
            Contact,
            [
                {"workspace_id": workspace.pk, "display_name": f"Contact {done + i}"}
                for i in range(n)
            ],
            returning=True,
        )
        conversations = insert_values(
            Conversation,
            [
                {
                    "workspace_id": workspace.pk,
                    "channel_id": channel.pk,
                    "contact_id": contacts[i],
                    "thread_key": f"bench-{done + i}",
                    "status": "closed",
                    "last_activity_at": now,
                }
                for i in range(n)
            ],
            returning=True,
        )
        asked_at = now - timedelta(hours=2)
        messages = insert_values(
            Message,
            [
                {
                    "workspace_id": workspace.pk,
                    "channel_id": channel.pk,
                    "conversation_id": conversation,
                    "external_id": f"q-{conversation}",
                    "direction": "inbound",
                    "text": f"Question {conversation} : où est mon colis ?",
                    "sent_at": asked_at,
                }
                for conversation in conversations
            ],
            returning=True,
        )
        insert_values(
            Message,
            [
                {
                    "workspace_id": workspace.pk,
                    "channel_id": channel.pk,
                    "conversation_id": conversation,
                    "external_id": f"a-{conversation}",
                    "direction": "outbound",
                    "text": f"Réponse {conversation} : votre colis part demain.",
                    "sent_at": asked_at + timedelta(minutes=30),
                }
                for conversation in conversations
            ],
        )
        vectors = topics[rng.integers(0, len(topics), n)] + rng.normal(
            scale=0.6, size=(n, DIM)
        ).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        MessageVector.objects.bulk_create(
            [
                MessageVector(
                    message_id=pk,
                    workspace_id=workspace.pk,
                    vector=vector.astype(np.float32).tobytes(),
                    model=model,
                )
                for pk, vector in zip(messages, vectors, strict=True)
            ],
            batch_size=500,
        )
        inbound += messages
        done += n
    return workspace.pk, inbound


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answered", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cercle-bench-suggestions-") as data_dir:
        setup_django(data_dir)
        from django.db import connection

        from cercle.inbox.models import Message
        from cercle.moderation import suggestions

        configured = create_database()
        try:
            started = time.perf_counter()
            workspace_id, inbound = seed(args.answered, args.seed)
            print(
                f"seeded {args.answered:,} answered conversations in "
                f"{time.perf_counter() - started:.1f} s on {connection.vendor}",
                file=sys.stderr,
            )
            started = time.perf_counter()
            index = suggestions.index_for(workspace_id)
            build_ms = (time.perf_counter() - started) * 1000
            assert len(index.message_ids) == args.answered, len(index.message_ids)
            picks = [inbound[i] for i in range(0, len(inbound), max(1, len(inbound) // args.runs))]
            messages = list(Message.objects.filter(pk__in=picks[: args.runs]))
            lookups, bare = [], []
            for message in messages:
                started = time.perf_counter()
                found = suggestions.similar_answered(message)
                lookups.append((time.perf_counter() - started) * 1000)
                query = index.vectors[int(np.searchsorted(index.message_ids, message.pk))]
                started = time.perf_counter()
                suggestions.nearest(index, query, message.conversation_id, suggestions.NEIGHBOURS)
                bare.append((time.perf_counter() - started) * 1000)
                assert all(f.message.workspace_id == workspace_id for f in found)
        finally:
            drop_database(configured)

    median = statistics.median(lookups)
    p95 = sorted(lookups)[int(len(lookups) * 0.95) - 1]
    baseline = statistics.median(bare)
    print(
        f"bench=suggestions db={connection.vendor} answered={args.answered} "
        f"build_ms={build_ms:.0f} lookup_median_ms={median:.2f} lookup_p95_ms={p95:.2f} "
        f"baseline_ms={baseline:.2f} ratio={median / baseline:.1f}"
    )


if __name__ == "__main__":
    os.environ.setdefault("CERCLE_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    main()
