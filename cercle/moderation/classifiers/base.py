"""The classifier interface: a batch of texts in, one prediction per text out.

Every model Cercle uses to understand a message sits behind `Classifier`, so the
choice of model is a setting (`CERCLE_CLASSIFIERS`, dotted paths) and not code.
Classifiers that need sentence embeddings ask the batch for them: the batch
computes them once, with the configured `Embedder`, and shares them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Prediction:
    """One label for one text: the label, how sure the model is (0–1), and which model said it."""

    label: str
    score: float
    model: str


class Embedder(ABC):
    """Turns texts into L2-normalised sentence vectors (one row per text)."""

    #: Names the model and its version, e.g. "multilingual-e5-small-q4@cercle-e5-1"; heads trained on one
    #: embedder's space only work with that embedder, so heads check it.
    version: ClassVar[str]
    dim: ClassVar[int]

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> Vectors: ...


@dataclass
class Batch:
    """The texts to classify, their languages, and what earlier classifiers said about them.

    Classifiers run in settings order; a later one (needs-reply) may read the
    predictions of an earlier one (intent) from `predictions`.
    """

    texts: Sequence[str]
    languages: Sequence[str]
    embedder: Callable[[], Embedder] | None = None
    predictions: dict[str, list[Prediction]] = field(default_factory=dict)
    _vectors: Vectors | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def vectors(self) -> Vectors:
        """The texts' embeddings, computed once for all classifiers of the batch."""
        if self._vectors is None:
            if self.embedder is None:
                raise LookupError("this batch has no embedder")
            self._vectors = self.embedder().embed(self.texts)
        return self._vectors


class Classifier(ABC):
    """A model for one task (sentiment, intent, toxicity, needs_reply…)."""

    #: The Message field family it fills: "sentiment", "intent", "toxicity" or "needs_reply".
    task: ClassVar[str]
    #: The labels it can answer, in a stable order.
    labels: ClassVar[tuple[str, ...]]

    @property
    @abstractmethod
    def version(self) -> str:
        """Model and version, stored with every label it produces."""

    @abstractmethod
    def classify(self, batch: Batch) -> list[Prediction]:
        """One prediction per text of `batch`, in order. Pure: no database, no network."""
