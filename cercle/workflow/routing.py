"""Routing of conversations touched by the inbound pipeline: priority and SLA due time.

Assignment with capacity and skills, business hours and SLA policies come with
the team-workflow issue; this keeps the call shape and sets sensible defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from cercle.inbox.choices import ConversationKind, Priority
from cercle.inbox.models import Conversation

# Default first-response target until SLA policies exist.
DEFAULT_SLA = timedelta(hours=1)


def route_conversations(conversations: Sequence[Conversation]) -> None:
    """Set priority and SLA due time in place on conversations that now wait for an answer."""
    for conversation in conversations:
        if conversation.waiting_since and conversation.sla_due_at is None:
            conversation.sla_due_at = conversation.waiting_since + DEFAULT_SLA
        is_bad_review = (
            conversation.kind == ConversationKind.REVIEW
            and conversation.rating is not None
            and conversation.rating <= 2
        )
        if is_bad_review and conversation.priority < Priority.HIGH:
            conversation.priority = Priority.HIGH
