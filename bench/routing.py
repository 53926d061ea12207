"""The cost of automatic assignment in the inbound pipeline, and the hand-out drain's speed.

    .venv/bin/python bench/routing.py [--messages 5000] [--members 8] [--seed 7]

On a fresh database each time (SQLite in a temporary directory, or PostgreSQL
when DATABASE_URL points at one), ingests the same simulated feed through the
real pipeline twice: with automatic assignment off, then on (members online,
with room for everything). Then, with everyone away, ingests it a third time
(all of it waits in the backlog), brings the members online and times
`do_hand_out` handing the whole backlog out. One line:

    bench=routing db=sqlite messages=… ingest_off_s=… ingest_on_s=… ratio=… handout_per_s=…
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import create_channels, create_database, drop_database, make_feed, setup_django

LANGUAGES = (["fr"], ["en"], ["fr", "en"], ["de", "en"])


def _team(workspace: Any, members: int, availability: str) -> list[Any]:
    from cercle.workspaces.actions import (
        do_add_member,
        do_change_profile,
        do_create_user,
    )

    team = []
    for i in range(members):
        member = do_add_member(workspace, do_create_user(f"agent{i}", "pw"), "agent")
        team.append(
            do_change_profile(
                member,
                display_name="",
                languages=LANGUAGES[i % len(LANGUAGES)],
                skills=[],
                availability=availability,
                notifications={},
            )
        )
    return team


def _ingest(feed: Any, batch: int, *, routing: bool, members: int, availability: str) -> float:
    """Store and ingest the feed into a new workspace; seconds spent ingesting."""
    from cercle.pipeline.actions import do_ingest_pending, do_store_raw_events
    from cercle.workflow.actions import do_save_routing_settings
    from cercle.workspaces.actions import do_add_member, do_create_user

    channels = create_channels(list(feed.bodies))
    workspace = next(iter(channels.values())).workspace
    _team(workspace, members, availability)
    if routing:
        owner = do_add_member(workspace, do_create_user("owner", "pw"), "owner")
        owner.availability = "away"
        owner.save(update_fields=["availability"])
        do_save_routing_settings(
            owner,
            workspace,
            auto_assign=True,
            default_capacity=500,
            off_grace_minutes=15,
            kind_skills={},
        )
    for key, bodies in feed.bodies.items():
        for start in range(0, len(bodies), batch):
            do_store_raw_events(channels[key], bodies[start : start + batch])
    elapsed = 0.0
    while True:
        started = time.perf_counter()
        report = do_ingest_pending(batch)
        elapsed += time.perf_counter() - started
        if report.events == 0:
            return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cercle-bench-") as data_dir:
        setup_django(data_dir)
        from django.db import connection

        feed = make_feed("own", args.messages, args.seed, datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
        results: dict[str, float] = {}
        for name, routing in (("off", False), ("on", True)):
            configured = create_database()
            try:
                results[name] = _ingest(
                    feed, args.batch, routing=routing, members=args.members, availability="online"
                )
                if routing:
                    from cercle.inbox.models import Conversation

                    assigned = Conversation.objects.filter(assignee__isnull=False).count()
                    print(f"assigned on arrival: {assigned}", file=sys.stderr)
            finally:
                drop_database(configured)
        configured = create_database()
        try:
            _ingest(feed, args.batch, routing=True, members=args.members, availability="away")
            from cercle.inbox.models import Conversation
            from cercle.workflow.actions import do_hand_out
            from cercle.workspaces.models import Member

            Member.objects.filter(user__username__startswith="agent").update(availability="online")
            waiting = Conversation.objects.filter(assignee__isnull=True).count()
            started = time.perf_counter()
            handed = 0
            while report := do_hand_out():
                if report.assigned == 0:
                    break
                handed += report.assigned
            handout_s = time.perf_counter() - started
            print(f"backlog {waiting}, handed out {handed}", file=sys.stderr)
            vendor = connection.vendor
        finally:
            drop_database(configured)
    print(
        f"bench=routing db={vendor} messages={args.messages} ingest_off_s={results['off']:.2f} "
        f"ingest_on_s={results['on']:.2f} ratio={results['on'] / max(results['off'], 1e-6):.2f} "
        f"handout_per_s={handed / max(handout_s, 1e-6):.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
