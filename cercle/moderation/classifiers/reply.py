"""Needs a reply, yes or no: from the intent (and toxicity) predicted earlier in the same batch.

Questions, requests and complaints wait for an answer; praise, spam and chatter
do not (a "thank you" or a like is welcome, not owed). A threat or hate speech
is for the moderators, not for a reply. The score is the intent's own score.
This is the default; learning from the team's "no reply needed" refines it per
workspace later.
"""

from __future__ import annotations

from typing import ClassVar

from .base import Batch, Classifier, Prediction

NEEDS_REPLY = frozenset({"question", "request", "complaint"})
NOT_FOR_A_REPLY = frozenset({"threat", "hate"})
VERSION = "cercle-reply-rules-1"


class NeedsReply(Classifier):
    task: ClassVar[str] = "needs_reply"
    labels: ClassVar[tuple[str, ...]] = ("yes", "no")

    @property
    def version(self) -> str:
        return VERSION

    def classify(self, batch: Batch) -> list[Prediction]:
        intents = batch.predictions.get("intent")
        if intents is None:
            raise LookupError("needs_reply runs after an intent classifier (CERCLE_CLASSIFIERS)")
        toxic = [p.label in NOT_FOR_A_REPLY for p in batch.predictions.get("toxicity", [])]
        toxic += [False] * (len(batch) - len(toxic))
        out = []
        for intent, for_moderators in zip(intents, toxic, strict=True):
            answer = intent.label in NEEDS_REPLY and not for_moderators
            out.append(Prediction("yes" if answer else "no", intent.score, VERSION))
        return out
