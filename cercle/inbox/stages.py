"""The stages the inbound upsert runs on each batch, registered by the layers above the inbox.

`inbox.receive` stores, dedupes and threads items; understanding them
(moderation: classify, then rules) and routing them (workflow) belong to apps
above it, which register their stage here from their `apps.py`. The upsert
calls the stages in the order of DESIGN.md §2 (classify → rules → route),
inside its transaction and before it writes, so they work on unsaved rows in
place and add no query per item.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Conversation, Message

MessageStage = Callable[[Sequence["Message"]], None]
ConversationStage = Callable[[Sequence["Conversation"]], None]

_classify: list[MessageStage] = []
_rules: list[MessageStage] = []
_route: list[ConversationStage] = []


def register_classifier(stage: MessageStage) -> None:
    """Fill classifier fields (language, …) of new or edited inbound messages, in place."""
    if stage not in _classify:
        _classify.append(stage)


def register_rules(stage: MessageStage) -> None:
    """Run automation on new inbound messages (after classification)."""
    if stage not in _rules:
        _rules.append(stage)


def register_router(stage: ConversationStage) -> None:
    """Set priority, SLA due time and assignment of conversations that now wait, in place."""
    if stage not in _route:
        _route.append(stage)


def classify(messages: Sequence[Message]) -> None:
    for stage in _classify:
        stage(messages)


def apply_rules(messages: Sequence[Message]) -> None:
    for stage in _rules:
        stage(messages)


def route(conversations: Sequence[Conversation]) -> None:
    for stage in _route:
        stage(conversations)
