"""Classifiers that are a small numpy head over the batch's sentence embeddings."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .base import Batch, Classifier, Prediction
from .embedders import MAX_CHARS
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


# The sentiment of a text longer than the embedder's excerpt is the mean over its first
# READ_PIECES pieces of MAX_CHARS characters (the first piece is the shared excerpt; the
# others are embedded for sentiment only). 1 reads the excerpt only.
READ_PIECES = 4
# A shorter tail ("Bref.") says too little to be worth an embedding.
MIN_PIECE = 40


def later_pieces(text: str, count: int) -> list[str]:
    """Up to `count` pieces of MAX_CHARS characters after the excerpt, spaces collapsed."""
    flat = " ".join(text[: MAX_CHARS * (count + 1) * 2].split())
    pieces = []
    for start in range(MAX_CHARS, min(len(flat), MAX_CHARS * (count + 1)), MAX_CHARS):
        piece = flat[start : start + MAX_CHARS].strip()
        if len(piece) >= MIN_PIECE:
            pieces.append(piece)
    return pieces


# VADER reads English, and also the texts whose language is unknown (""): mostly very short
# ones — an emoticon, an emoji, "lol", "wow" — which its lexicon knows and the embedding heads
# read poorly. It has no word for the rest of them: its score is then 0, which weighs nothing.
LEXICON_LANGUAGES = ("en", "")

# A voter's probability is read as log-odds within these bounds: a voter that says 0.999
# does not get to outvote the others by itself.
VOTE_CLIP = 0.01


def vote_features(own: np.ndarray, positive: np.ndarray, compound: np.ndarray) -> np.ndarray:
    """[n, 3] float32: the log-odds of sentiment.ai's split and of the polarity head, and VADER's
    compound score — what the English vote (`vote.npz`) weighs."""
    clipped = np.clip(np.stack([own, positive], axis=1), VOTE_CLIP, 1.0 - VOTE_CLIP)
    odds = np.log(clipped / (1.0 - clipped))
    return np.concatenate([odds, compound[:, None]], axis=1).astype(np.float32)


class SentimentHead(HeadClassifier):
    """negative / neutral / positive: sentiment.ai's e5-small MLP head, with two more voters.

    sentiment.ai's head (see weights/README.md) says how polar a message is
    (neutral against the rest). Which way it leans — the split of that polar share
    between positive and negative — comes from independent voters:

    - sentiment.ai's own split, p(positive) / (p(positive) + p(negative));
    - Cercle's polarity head (`polarity.npz`: positive against negative, trained on
      German and Dutch book reviews, see weights/README.md), when present;
    - for English messages (and those of unknown language), VADER's lexicon score
      (compound, -1…1).

    Other languages: the mean of the first two, equal weights chosen before measuring.
    English: a weighted sum of the three voters' log-odds (`vote.npz`, a logistic
    regression with no intercept, so no prior leaning either way), fitted on
    development sets that no evaluation uses (see weights/README.md and
    `python -m cercle.moderation.training vote`). A voter with no evidence (VADER's 0
    on a text it has no word for, a split of 0.5) then weighs nothing, and a sure one
    weighs more, where the mean let an unsure 0.1 cancel a sure 0.9.

    Runs after the intent classifier when both are configured: a "neutral" on a
    message the intent head is sure is praise (or a complaint) becomes positive
    (negative), with the intent's score; the model name then ends in "+intent".
    """

    task: ClassVar[str] = "sentiment"
    labels: ClassVar[tuple[str, ...]] = ("negative", "neutral", "positive")
    head_name: ClassVar[str] = "sentiment"
    polarity_name: ClassVar[str] = "polarity"
    vote_name: ClassVar[str] = "vote"

    @cached_property
    def polarity(self) -> Head | None:
        """The positive-against-negative head (operator's override, else shipped), if any."""
        directory = model_dir()
        override = directory / f"{self.polarity_name}.npz" if directory else None
        path = override if override and override.exists() else shipped(self.polarity_name)
        return Head.load(path) if path.exists() else None

    @cached_property
    def vote(self) -> Head | None:
        """The English vote's weights (operator's override, else shipped), if any."""
        directory = model_dir()
        override = directory / f"{self.vote_name}.npz" if directory else None
        path = override if override and override.exists() else shipped(self.vote_name)
        return Head.load(path) if path.exists() else None

    @cached_property
    def _vader(self) -> Any:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        return SentimentIntensityAnalyzer()

    @property
    def version(self) -> str:
        parts = [self.head.version]
        if self.polarity is not None:
            parts.append(self.polarity.version)
        parts.append("vader-en")
        if self.polarity is not None and self.vote is not None:
            parts.append(self.vote.version)
        return f"{'+'.join(parts)}/{self.head.embedder}"

    def _rest(self, batch: Batch) -> tuple[list[int], np.ndarray | None]:
        """The rows of long texts and the vectors of their next pieces (READ_PIECES in all)."""
        if batch.embedder is None or READ_PIECES <= 1:
            return [], None
        owners: list[int] = []
        pieces: list[str] = []
        for i, text in enumerate(batch.texts):
            for piece in later_pieces(text, READ_PIECES - 1):
                owners.append(i)
                pieces.append(piece)
        if not pieces:
            return [], None
        return owners, batch.embedder().embed(pieces)

    def _positive(self, vectors: np.ndarray) -> np.ndarray | None:
        if self.polarity is None:
            return None
        return self.polarity.probabilities(vectors)[:, self.polarity.labels.index("positive")]

    def voters(self, batch: Batch) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """sentiment.ai's probabilities [n, 3], the polarity head's p(positive) [n] (None
        without one), each the mean over the text's pieces, and VADER's compound score
        [n] (NaN for a text in another language than LEXICON_LANGUAGES)."""
        p = super().probabilities(batch)
        if self.polarity is not None and batch.embedder is not None:
            self.polarity.check(batch.embedder().version)
        q = self._positive(batch.vectors())
        owners, rest = self._rest(batch)
        if rest is not None:
            # A long text (a review, an e-mail) is read piece by piece: the mean of its pieces.
            counts = np.ones(len(p), dtype=np.float32)
            np.add.at(counts, owners, 1.0)
            p = p.copy()
            np.add.at(p, owners, self.head.probabilities(rest))
            p /= counts[:, None]
            q_rest = self._positive(rest)
            if q is not None and q_rest is not None:
                q = q.copy()
                np.add.at(q, owners, q_rest)
                q /= counts
        compound = np.full(len(p), np.nan, dtype=np.float32)
        for i, language in enumerate(batch.languages):
            if language in LEXICON_LANGUAGES:
                compound[i] = self._vader.polarity_scores(batch.texts[i])["compound"]
        return p, q, compound

    def probabilities(self, batch: Batch) -> np.ndarray:
        if not len(batch):
            return super().probabilities(batch)
        p, q, compound = self.voters(batch)
        negative, positive = self.head.labels.index("negative"), self.head.labels.index("positive")
        polar = p[:, negative] + p[:, positive]
        own = p[:, positive] / np.maximum(polar, 1e-9)
        votes = own.copy()
        voters = np.ones(len(p), dtype=np.float32)
        if q is not None:
            votes += q
            voters += 1
        english = ~np.isnan(compound)
        if english.any() and q is not None and self.vote is not None:
            if batch.embedder is not None:
                self.vote.check(batch.embedder().version)
            features = vote_features(own[english], q[english], compound[english])
            split = votes / voters
            split[english] = self.vote.probabilities(features)[:, 0]
        else:
            # No vote weights (an operator removed them): VADER is one more equal voter.
            votes[english] += (compound[english] + 1.0) / 2.0
            voters[english] += 1
            split = votes / voters
        out = p.copy()
        out[:, positive] = polar * split
        out[:, negative] = polar * (1.0 - split)
        return out

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
