"""Classifiers that are a small numpy head over the batch's sentence embeddings."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import numpy as np

from .base import Batch, Classifier, Prediction
from .heads import Head, shipped
from .registry import model_dir


class HeadClassifier(Classifier):
    """argmax of a head's probabilities; the score is that probability.

    The head is read from `CERCLE_MODEL_DIR/<head_name>.npz` when the operator put
    one there (a head retrained on their own data, or for another embedder),
    otherwise from the heads shipped with Cercle.
    """

    head_name: ClassVar[str]

    def __init__(self, path: Path | None = None) -> None:
        self._path = path

    @cached_property
    def head(self) -> Head:
        path = self._path
        if path is None:
            directory = model_dir()
            override = directory / f"{self.head_name}.npz" if directory else None
            path = override if override and override.exists() else shipped(self.head_name)
        return Head.load(path)

    @property
    def version(self) -> str:
        return f"{self.head.version}/{self.head.embedder}"

    def probabilities(self, batch: Batch) -> np.ndarray:
        if batch.embedder is not None:
            self.head.check(batch.embedder().version)
        return self.head.probabilities(batch.vectors())

    def classify(self, batch: Batch) -> list[Prediction]:
        if not len(batch):
            return []
        probabilities = self.probabilities(batch)
        best = probabilities.argmax(axis=1)
        version = self.version
        return [
            Prediction(self.head.labels[int(i)], float(p[int(i)]), version)
            for i, p in zip(best, probabilities, strict=True)
        ]


# Praise is positive and a complaint negative, whatever the tone: when the sentiment head
# calls one of them neutral (it does for short, plain praise such as "Your staff are
# incredibly kind." read through the 4-bit model) and the intent head is sure, the intent wins.
_POLARITY_OF_INTENT = {"praise": "positive", "complaint": "negative"}
SURE_INTENT = 0.5


class SentimentHead(HeadClassifier):
    """negative / neutral / positive: sentiment.ai's e5-small MLP head (see weights/README.md).

    Runs after the intent classifier when both are configured: a "neutral" on a
    message the intent head is sure is praise (or a complaint) becomes positive
    (negative), with the intent's score; the model name then ends in "+intent".
    """

    task: ClassVar[str] = "sentiment"
    labels: ClassVar[tuple[str, ...]] = ("negative", "neutral", "positive")
    head_name: ClassVar[str] = "sentiment"

    def classify(self, batch: Batch) -> list[Prediction]:
        predictions = super().classify(batch)
        intents = batch.predictions.get("intent")
        if intents is None:
            return predictions
        out = []
        for prediction, intent in zip(predictions, intents, strict=True):
            polarity = _POLARITY_OF_INTENT.get(intent.label)
            if prediction.label == "neutral" and polarity and intent.score >= SURE_INTENT:
                prediction = Prediction(polarity, intent.score, prediction.model + "+intent")
            out.append(prediction)
        return out


# A question mark, or a French/English question opening, makes "question" the answer
# when the head hesitates between question and a non-actionable label.
_QUESTION = re.compile(
    r"\?|^\s*(est-ce que|est ce que|comment|pourquoi|quand|combien|où|quel(le)?s?|"
    r"how|why|when|where|what|which|who|is|are|do|does|did|can|could|will)\b",
    re.IGNORECASE,
)


class IntentHead(HeadClassifier):
    """question / complaint / praise / request / spam / other: a head Cercle trains (training/)."""

    task: ClassVar[str] = "intent"
    labels: ClassVar[tuple[str, ...]] = (
        "question",
        "complaint",
        "praise",
        "request",
        "spam",
        "other",
    )
    head_name: ClassVar[str] = "intent"

    def classify(self, batch: Batch) -> list[Prediction]:
        predictions = super().classify(batch)
        out = []
        for text, prediction in zip(batch.texts, predictions, strict=True):
            if prediction.label in ("other", "praise") and _QUESTION.search(text):
                prediction = Prediction("question", prediction.score, prediction.model + "+q")
            out.append(prediction)
        return out
