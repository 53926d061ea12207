"""The classification stage of the inbound pipeline.

Runs on every batch of new inbound messages before rules and routing. Today it
sets the language; sentiment, intent and toxicity plug in here (their issue)
behind the same call, so the pipeline does not change.
"""

from __future__ import annotations

from collections.abc import Sequence

from cercle.inbox.models import Message

from .language import detect_languages


def classify_messages(messages: Sequence[Message]) -> None:
    """Fill the classifier fields of unsaved or saved `messages` in place (no DB writes)."""
    pending = [m for m in messages if m.text and not m.language]
    for message, language in zip(pending, detect_languages(m.text for m in pending), strict=True):
        message.language = language
