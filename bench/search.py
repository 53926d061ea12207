"""Full-text search through the inbox, against the bare SQL of its list, measured in one run.

    .venv/bin/python bench/search.py [--quick] [--conversations 200000] [--messages-per 5]

Seeds a fresh database (SQLite in a temporary directory, or PostgreSQL when
DATABASE_URL points at one) as `bench/inbox.py` does, but each message also
holds three words drawn from a vocabulary of 5,000 by a Zipf law, so words
range from very common to rare. Then, logged in with the Django test client, it
times the inbox's first page for searches (all history, the default scope): a
word in every message, a common, a medium and a rare word, two words, a word
found nowhere, and a contact's name. Each is requested `--runs` times after one
warm-up request, interleaved with the bare SQL of its list (the query
`conversation_page` runs, executed on a cursor).

It ends with one machine-readable line:

    bench=search db=sqlite messages=… median_ms=… p95_ms=… baseline_ms=…

`--quick` seeds 20,000 conversations of 5 messages (100,000 messages); the full
size is 200,000 conversations and 1,000,000 messages.
"""

from __future__ import annotations

import argparse
import os
import random
import string
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inbox import measure, report, seed
from ingest import create_database, drop_database, setup_django

VOCABULARY_SIZE = 5_000
WORDS_PER_MESSAGE = 3
ZIPF_EXPONENT = 1.1


def vocabulary(seed_value: int) -> list[str]:
    """Distinct words of 7 letters (so none is the prefix of another), most frequent first."""
    rng = random.Random(seed_value)
    words: dict[str, None] = {}
    while len(words) < VOCABULARY_SIZE:
        words["".join(rng.choices(string.ascii_lowercase, k=7))] = None
    return list(words)


class Texts:
    """Message texts: a fixed greeting (its words are in every message) and Zipf-drawn words."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        weights = [1 / (rank**ZIPF_EXPONENT) for rank in range(1, len(words) + 1)]
        total = sum(weights)
        running = 0.0
        self.cumulative = []
        for weight in weights:
            running += weight / total
            self.cumulative.append(running)

    def __call__(self, rng: random.Random, conversation_id: int, k: int) -> str:
        drawn = rng.choices(self.words, cum_weights=self.cumulative, k=WORDS_PER_MESSAGE)
        return f"Bonjour, où est ma commande ? {' '.join(drawn)} (message {k})"


def searches(words: list[str]) -> dict[str, dict[str, str]]:
    """The searches timed: from a word in every message to a word found nowhere."""
    return {
        "everywhere": {"q": "commande"},
        "common": {"q": words[0]},
        "medium": {"q": words[60]},
        "rare": {"q": words[3_000]},
        "two_words": {"q": f"{words[5]} {words[200]}"},
        "no_hit": {"q": "introuvable"},
        "author": {"q": "Contact 1234"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="20,000 conversations")
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--messages-per", type=int, default=5)
    parser.add_argument("--runs", type=int, default=0, help="requests per search (default 15/10)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    conversations = 20_000 if args.quick else args.conversations
    runs = args.runs or (15 if args.quick else 10)
    words = vocabulary(args.seed)

    os.environ.setdefault("CERCLE_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    with tempfile.TemporaryDirectory(prefix="cercle-bench-search-") as data_dir:
        setup_django(data_dir)
        from django.db import connection

        configured = create_database()
        try:
            start = time.perf_counter()
            seeded = seed(conversations, args.messages_per, args.seed, text=Texts(words))
            seeding = time.perf_counter() - start
            print(
                f"seeded {conversations:,} conversations, {seeded['messages']:,} messages "
                f"in {seeding:.1f} s on {connection.vendor}"
            )
            results = measure(seeded, runs, searches(words))
        finally:
            drop_database(configured)

    report("search", connection.vendor, seeded["messages"], results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
