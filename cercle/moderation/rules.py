"""Hook point of the rule engine in the inbound pipeline.

The rule engine (conditions → actions, live / suggest / off, dry runs) is its
own issue; the pipeline already calls `apply_rules` after classification with
the new messages of a batch, inside the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from cercle.inbox.models import Message


def apply_rules(messages: Sequence[Message]) -> None:
    """Run the workspace's live rules on new inbound messages. No rules exist yet."""
    return None
