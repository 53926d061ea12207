"""Learning from the team: corrections become examples, examples become small heads per workspace.

Every correction a member makes (a sentiment, an intent, "no reply needed", a
custom label on or off) is a `LabelExample` of that workspace; hiding a comment
on the platform counts too: a person's hide is "should hide: yes", their unhide
takes it back, and unhiding what a rule hid is "should hide: no"
(`actions.do_learn_from_moderation`); marking spam is an intent correction.
The trainer (`actions.do_train_heads`, run by the worker when examples are new)
fits a logistic head on the messages' embeddings for each task with enough
examples, evaluates it on a held-out split (stratified, fixed seed), and keeps it
**active** only when it beats what it would replace on that same split: the
shipped model for sentiment, intent and needs-reply, always answering the
commonest label for a custom label and for "should hide". Active heads then label
that workspace's new messages in the classify drain (`apply_heads`), reusing the
batch's embeddings; an active "should hide" head never hides anything itself: a
new message it flags goes to the moderation queue as a suggestion, which a person
accepts (the message is hidden, in their name) or dismisses (a "should hide: no"
example).
This module computes; the writes are in `actions.py`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .choices import Intent, Sentiment
from .classifiers.base import Batch, Prediction, Vectors
from .classifiers.heads import Head
from .classifiers.registry import classifiers
from .language import detect_languages
from .training.logistic import fit_softmax

# A head is trained from this many examples of a task, with this many of each label.
MIN_EXAMPLES = 30
MIN_PER_LABEL = 5
HELD_OUT = 0.25
# The newest examples a training reads per task (older corrections age out).
MAX_EXAMPLES = 2000
SEED = 0

# The labels of the standard tasks; a custom label's task is "custom:<id>", labels yes / no.
STANDARD_LABELS: dict[str, tuple[str, ...]] = {
    "sentiment": tuple(Sentiment.values),
    "intent": tuple(Intent.values),
    "needs_reply": ("yes", "no"),
}
YES, NO = "yes", "no"
# "Should hide": a person's hides and unhides (actions.do_learn_from_moderation), labels yes / no.
HIDE = "hide"


def is_custom(task: str) -> bool:
    return task.startswith("custom:")


def split(
    labels: Sequence[str], fraction: float = HELD_OUT, seed: int = SEED
) -> tuple[list[int], list[int]]:
    """Stratified train / held-out indices: each label keeps its share on both sides."""
    rng = np.random.default_rng(seed)
    train: list[int] = []
    test: list[int] = []
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    for label in sorted(by_label):
        indices = by_label[label]
        order = [indices[int(j)] for j in rng.permutation(len(indices))]
        cut = max(1, math.ceil(len(order) * fraction))
        test.extend(order[:cut])
        train.extend(order[cut:])
    return sorted(train), sorted(test)


def evaluate(truth: Sequence[str], predicted: Sequence[str]) -> tuple[float, dict[str, Any]]:
    """Accuracy, and precision / recall / support per label."""
    scores: dict[str, Any] = {}
    for label in sorted(set(truth) | set(predicted)):
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p == label)
        said = sum(1 for p in predicted if p == label)
        real = sum(1 for t in truth if t == label)
        scores[label] = {
            "precision": round(tp / said, 3) if said else 0.0,
            "recall": round(tp / real, 3) if real else 0.0,
            "support": real,
        }
    correct = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p)
    return (correct / len(truth) if truth else 0.0), scores


@dataclass(frozen=True)
class Trained:
    head: Head
    examples: int
    held_out: int
    accuracy: float
    scores: dict[str, Any]
    baseline_accuracy: float
    baseline: str

    @property
    def better(self) -> bool:
        return self.accuracy > self.baseline_accuracy


def trainable(labels: Sequence[str]) -> bool:
    """Enough examples, of at least two labels, each seen often enough."""
    counts = Counter(labels)
    return (
        len(labels) >= MIN_EXAMPLES and len(counts) >= 2 and min(counts.values()) >= MIN_PER_LABEL
    )


def shipped_predictions(task: str, texts: Sequence[str], vectors: Vectors) -> list[str] | None:
    """What the configured (shipped) model says for `texts`, or None if none does `task`. The
    languages are detected as on arrival, so the shipped model votes as it does in the inbox
    (its English-only voter included): the comparison is not tilted towards the new head."""
    languages = detect_languages(texts)
    batch = Batch(texts=texts, languages=languages, _vectors=vectors)
    answer: list[Prediction] | None = None
    for classifier in classifiers():
        try:
            batch.predictions[classifier.task] = classifier.classify(batch)
        except LookupError:
            continue
        if classifier.task == task:
            answer = batch.predictions[task]
    if answer is None:
        return None
    if task == "needs_reply":
        return [YES if p.label == YES else NO for p in answer]
    return [p.label for p in answer]


def train(
    task: str, texts: Sequence[str], vectors: Vectors, labels: Sequence[str], embedder_version: str
) -> Trained:
    """Fit a head for `task` on the train split and measure it and its baseline on the held-out."""
    train_idx, test_idx = split(labels)
    classes = sorted(set(labels))
    index = {label: i for i, label in enumerate(classes)}
    x = np.asarray(vectors, dtype=np.float32)
    y = np.array([index[labels[i]] for i in train_idx], dtype=np.int64)
    weights, bias = fit_softmax(x[train_idx], y, len(classes), seed=SEED)
    head = Head(
        layers=((weights, bias),),
        labels=tuple(classes),
        embedder=embedder_version,
        version=f"workspace-{task}",
    )
    probabilities = head.probabilities(x[test_idx])
    predicted = [classes[int(i)] for i in probabilities.argmax(axis=1)]
    truth = [labels[i] for i in test_idx]
    accuracy, scores = evaluate(truth, predicted)
    shipped = (
        None
        if is_custom(task)
        else shipped_predictions(task, [texts[i] for i in test_idx], x[test_idx])
    )
    if shipped is not None:
        baseline_accuracy, _ = evaluate(truth, shipped)
        baseline = "shipped model"
    else:
        commonest = Counter(labels[i] for i in train_idx).most_common(1)[0][0]
        baseline_accuracy, _ = evaluate(truth, [commonest] * len(truth))
        baseline = f"always “{commonest}”"
    return Trained(
        head=head,
        examples=len(labels),
        held_out=len(test_idx),
        accuracy=round(accuracy, 3),
        scores=scores,
        baseline_accuracy=round(baseline_accuracy, 3),
        baseline=baseline,
    )


def predict(head: Head, vectors: Vectors, model: str) -> list[Prediction]:
    probabilities = head.probabilities(vectors)
    return [
        Prediction(head.labels[int(i)], float(row[int(i)]), model)
        for row, i in zip(probabilities, probabilities.argmax(axis=1), strict=True)
    ]


def apply_heads(
    batch: Batch, workspace_ids: Sequence[int], heads: dict[int, dict[str, tuple[Head, str]]]
) -> dict[int, dict[str, Prediction]]:
    """Let each workspace's active heads answer for its texts of `batch`.

    Standard tasks replace the batch's predictions in place (`needs_reply` as
    yes / no); custom labels and "should hide" (`HIDE`) are returned as
    {text index: {task: prediction}}.
    `heads` is {workspace id: {task: (head, model name)}}.
    """
    custom: dict[int, dict[str, Prediction]] = {}
    rows_of: dict[int, list[int]] = {}
    for i, workspace_id in enumerate(workspace_ids):
        if workspace_id in heads:
            rows_of.setdefault(workspace_id, []).append(i)
    if not rows_of:
        return custom
    vectors = batch.vectors()
    for workspace_id, rows in rows_of.items():
        for task, (head, model) in heads[workspace_id].items():
            predictions = predict(head, vectors[rows], model)
            for row, prediction in zip(rows, predictions, strict=True):
                if is_custom(task) or task == HIDE:
                    custom.setdefault(row, {})[task] = prediction
                elif task in batch.predictions:
                    batch.predictions[task][row] = prediction
    return custom
