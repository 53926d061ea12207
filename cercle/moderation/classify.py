"""The classification stage of the inbound pipeline.

Runs on every batch of new inbound messages before rules and routing. Today it
sets the language; sentiment, intent and toxicity plug in here (their issue)
behind the same call, so the pipeline does not change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from cercle.inbox.models import Message
from cercle.workspaces.models import Workspace

from .language import detect_languages


def classify_messages(messages: Sequence[Message]) -> None:
    """Fill the classifier fields of unsaved or saved `messages` in place (no DB writes).

    The language is chosen among the workspace's language and `CERCLE_LANGUAGES`.
    """
    pending: dict[int, list[Message]] = defaultdict(list)
    for m in messages:
        if m.text and not m.language:
            pending[m.workspace_id].append(m)
    if not pending:
        return
    spoken = dict(Workspace.objects.filter(pk__in=pending).values_list("pk", "language"))
    for workspace_id, batch in pending.items():
        own = [spoken[workspace_id]] if spoken.get(workspace_id) else []
        detected = detect_languages((m.text for m in batch), own)
        for message, language in zip(batch, detected, strict=True):
            message.language = language
