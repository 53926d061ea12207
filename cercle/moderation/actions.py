"""Every write of moderation: one function per verb, one transaction each, Activity rows included."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cercle.core.db_bulk import insert_values, update_rows
from cercle.inbox.choices import Direction, Priority
from cercle.inbox.models import Conversation, Message
from cercle.workspaces.actors import Automation, actor_fields
from cercle.workspaces.choices import AutomationKind, Verb
from cercle.workspaces.models import Activity

from .classify import Labels, label_texts
from .priority import next_priority, suggested_priority

# Messages per classification batch: the embedder's cost is per text, so larger
# batches only amortise the per-batch queries; 64 keeps one batch around a second
# or two of work, so newer messages never wait long behind a backlog.
BATCH_SIZE = 64
LABEL_FIELDS = (
    "sentiment",
    "sentiment_score",
    "intent",
    "intent_score",
    "toxicity",
    "toxicity_category",
    "needs_reply",
    "needs_reply_score",
    "classified_by",
    "classified_at",
)
# Labels of a message with no text (a bare share, a rating without words).
NOTHING_TO_READ = Labels(classified_by="no-text")


def pending_messages(limit: int = BATCH_SIZE) -> list[Message]:
    """Inbound messages whose labels are missing, newest first (the inbox shows those first)."""
    return list(
        Message.objects.filter(classified_at__isnull=True, direction=Direction.INBOUND)
        .order_by("-id")
        .only("id", "workspace_id", "channel_id", "conversation_id", "text", "language")[:limit]
    )


def do_classify_pending(limit: int = BATCH_SIZE) -> int:
    """Label one batch of unlabelled inbound messages and re-prioritise their conversations.

    The models run outside the transaction (nothing is locked while they think);
    the write then keeps only the messages still unlabelled and unchanged, so an
    edit that arrived meanwhile is labelled again by the next pass, and two
    workers that took the same batch write the same labels. Returns how many
    messages were labelled.
    """
    messages = pending_messages(limit)
    if not messages:
        return 0
    readable = [m for m in messages if m.text.strip()]
    labelled = dict(
        zip(
            (m.pk for m in readable),
            label_texts([m.text for m in readable], [m.language for m in readable]),
            strict=True,
        )
    )
    now = timezone.now()
    with transaction.atomic():
        still = dict(
            Message.objects.filter(
                pk__in=[m.pk for m in messages], classified_at__isnull=True
            ).values_list("pk", "text")
        )
        done: list[tuple[Message, Labels]] = []
        for message in messages:
            if still.get(message.pk) != message.text:
                continue
            labels = labelled.get(message.pk, NOTHING_TO_READ)
            for name in LABEL_FIELDS[:-1]:
                setattr(message, name, getattr(labels, name))
            message.classified_at = now
            done.append((message, labels))
        update_rows(Message, [m for m, _ in done], LABEL_FIELDS)
        changed = _reprioritise(done)
        insert_values(
            Activity,
            [
                {
                    "workspace_id": message.workspace_id,
                    "conversation_id": message.conversation_id,
                    "message_id": message.pk,
                    "channel_id": message.channel_id,
                    "verb": Verb.CLASSIFIED,
                    "data": _activity_data(labels, changed.get(message.pk)),
                    "created_at": now,
                    **actor_fields(_classifiers(message.workspace_id)),
                }
                for message, labels in done
                if labels is not NOTHING_TO_READ
            ],
        )
    return len(done)


def _classifiers(workspace_id: int) -> Automation:
    """The actor of labels and the priority changes they cause (the inbound pipeline's classifiers)."""
    return Automation(workspace_id=workspace_id, kind=AutomationKind.PIPELINE, name="Classifiers")


def _reprioritise(done: list[tuple[Message, Labels]]) -> dict[int, tuple[int, int]]:
    """Apply `suggested_priority` to the conversations of `done`; {message pk: (old, new)}."""
    by_conversation: dict[int, list[tuple[Message, Labels]]] = defaultdict(list)
    for message, labels in done:
        if labels is not NOTHING_TO_READ:
            by_conversation[message.conversation_id].append((message, labels))
    if not by_conversation:
        return {}
    conversations = list(
        Conversation.objects.select_for_update()
        .filter(pk__in=list(by_conversation))
        .order_by("pk")
        .only("id", "priority", "waiting_since")
    )
    batch_ids = [m.pk for m, _ in done]
    # Conversations where an earlier message, since the team last answered, still waits for a reply.
    waiting = set(
        Message.objects.filter(
            conversation_id__in=list(by_conversation),
            direction=Direction.INBOUND,
            needs_reply=True,
            sent_at__gte=F("conversation__waiting_since"),
        )
        .exclude(pk__in=batch_ids)
        .values_list("conversation_id", flat=True)
    )
    changed: dict[int, tuple[int, int]] = {}
    to_write = []
    for conversation in conversations:
        items = by_conversation[conversation.pk]
        suggested = max(suggested_priority(labels) for _, labels in items)
        another = conversation.pk in waiting or (
            len(items) > 1 and any(labels.needs_reply for _, labels in items)
        )
        new = next_priority(conversation.priority, Priority(suggested), another_needs_reply=another)
        if new != conversation.priority:
            # The Activity of the newest message carries the change.
            newest = max(items, key=lambda item: item[0].pk)[0]
            changed[newest.pk] = (conversation.priority, new)
            conversation.priority = new
            to_write.append(conversation)
    update_rows(Conversation, to_write, ["priority"])
    return changed


def _activity_data(labels: Labels, priority: tuple[int, int] | None) -> dict[str, object]:
    data: dict[str, object] = {
        "sentiment": labels.sentiment,
        "intent": labels.intent,
        "toxicity": labels.toxicity_category,
        "needs_reply": labels.needs_reply,
        "model": labels.classified_by,
    }
    if priority:
        data["priority"] = {"old": priority[0], "new": priority[1]}
    return data
