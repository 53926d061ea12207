"""Writes of the moderation app: rules, house rules, suggestions, undoing automated actions, and
the labels of the classifiers (with the priority they set)."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from cercle.connectors.base import ActionKind
from cercle.core import clock
from cercle.core.db_bulk import insert_values, update_rows
from cercle.inbox.actions import (
    ActionRefused,
    do_assign_conversation,
    do_change_status,
    do_moderate_message,
    do_set_priority,
    do_untag_conversation,
)
from cercle.inbox.choices import Direction, Priority
from cercle.inbox.models import Conversation, Message, Tag
from cercle.replies.queries import saved_reply_by_reference
from cercle.workspaces.actors import Actor, Automation, actor_fields, require
from cercle.workspaces.choices import AutomationKind, Permission, Verb
from cercle.workspaces.models import Activity, Workspace

from .choices import ConditionField, RuleAction, RuleMode, SuggestionState
from .classify import Labels, label_texts
from .models import HouseRule, Rule, Suggestion
from .priority import next_priority, suggested_priority
from .rules import log_fired, perform, run_rules, validate_pattern


def _check(conditions: list[dict[str, Any]], actions: list[dict[str, Any]]) -> None:
    if not conditions:
        raise ValidationError(_("A rule needs at least one condition."))
    if not actions:
        raise ValidationError(_("A rule needs at least one action."))
    for condition in conditions:
        if condition.get("field") not in ConditionField.values:
            raise ValidationError(_("Unknown condition."))
        if condition["field"] == ConditionField.TEXT_MATCHES:
            error = validate_pattern(str(condition.get("value", "")))
            if error:
                raise ValidationError(
                    _("The regular expression is not valid: %(error)s"), params={"error": error}
                )
    for action in actions:
        if action.get("type") not in RuleAction.values:
            raise ValidationError(_("Unknown action."))


def do_save_rule(
    actor: Actor,
    workspace: Workspace,
    *,
    name: str,
    conditions: list[dict[str, Any]],
    actions: list[dict[str, Any]],
    mode: str = RuleMode.OFF,
    position: int = 0,
    stop: bool = False,
    house_rule: HouseRule | None = None,
    rule: Rule | None = None,
) -> Rule:
    """Create or change a rule (validated: conditions, actions, regular expressions)."""
    require(actor, Permission.MANAGE_WORKFLOW, workspace.pk)
    if mode not in RuleMode.values:
        raise ValidationError(_("Unknown mode."))
    _check(conditions, actions)
    for action in actions:
        if action.get("type") == RuleAction.SAVED_REPLY and (
            saved_reply_by_reference(workspace.pk, str(action.get("value", ""))) is None
        ):
            raise ValidationError(
                _("No saved reply has the shortcut or number “%(value)s”."),
                params={"value": str(action.get("value", ""))[:60]},
            )
    if house_rule is not None and house_rule.workspace_id != workspace.pk:
        raise HouseRule.DoesNotExist
    if rule is not None and rule.workspace_id != workspace.pk:
        raise Rule.DoesNotExist
    rule = rule or Rule(workspace=workspace)
    rule.name, rule.conditions, rule.actions = name[:120], conditions, actions
    rule.mode, rule.position, rule.stop, rule.house_rule = mode, position, stop, house_rule
    with transaction.atomic():
        rule.save()
        Activity.objects.create(
            workspace=workspace,
            verb=Verb.WORKSPACE_CHANGED,
            data={"setting": "rule", "id": rule.pk, "name": rule.name, "mode": mode},
            created_at=clock.now(),
            **actor_fields(actor),
        )
    return rule


def do_save_house_rule(
    actor: Actor, workspace: Workspace, *, number: int, text_fr: str, text_en: str
) -> HouseRule:
    require(actor, Permission.MANAGE_WORKFLOW, workspace.pk)
    with transaction.atomic():
        house_rule, _created = HouseRule.objects.update_or_create(
            workspace=workspace, number=number, defaults={"text_fr": text_fr, "text_en": text_en}
        )
        Activity.objects.create(
            workspace=workspace,
            verb=Verb.WORKSPACE_CHANGED,
            data={"setting": "house_rule", "number": number},
            created_at=clock.now(),
            **actor_fields(actor),
        )
    return house_rule


def do_decide_suggestion(actor: Actor, suggestion: Suggestion, accept: bool) -> list[str]:
    """A person confirms (the rule's actions are done, in the rule's name) or dismisses a suggestion."""
    require(actor, Permission.MODERATE, suggestion.workspace_id)
    with transaction.atomic():
        locked = (
            Suggestion.objects.select_for_update()
            .select_related("rule", "message")
            .get(pk=suggestion.pk)
        )
        if locked.state != SuggestionState.PENDING:
            raise ActionRefused(_("This suggestion was already decided."))
        locked.state = SuggestionState.ACCEPTED if accept else SuggestionState.DISMISSED
        locked.decided_at = clock.now()
        locked.save(update_fields=["state", "decided_at"])
        done = perform(locked.rule, locked.message) if accept else []
        log_fired(locked.rule, locked.message, done, "accepted" if accept else "dismissed")
    return done


# What undoing an automated activity does, by verb.
UNDOABLE = {
    Verb.TAGGED,
    Verb.ASSIGNED,
    Verb.STATUS_CHANGED,
    Verb.PRIORITY_CHANGED,
    Verb.MODERATION_REQUESTED,
}


def do_undo_activity(actor: Actor, activity: Activity) -> None:
    """Undo what an activity did (untag, unassign, previous status or priority, unhide)."""
    require(actor, Permission.ASSIGN, activity.workspace_id)
    if activity.verb not in UNDOABLE or activity.conversation_id is None:
        raise ActionRefused(_("This cannot be undone."))
    conversation = Conversation.objects.get(pk=activity.conversation_id)
    data = activity.data or {}
    if activity.verb == Verb.TAGGED:
        tag = Tag.objects.filter(workspace_id=activity.workspace_id, name=data.get("tag")).first()
        if tag is not None:
            do_untag_conversation(actor, conversation, tag)
    elif activity.verb == Verb.ASSIGNED:
        do_assign_conversation(actor, conversation, None)
    elif activity.verb == Verb.STATUS_CHANGED:
        do_change_status(actor, conversation, str(data.get("old", "open")))
    elif activity.verb == Verb.PRIORITY_CHANGED:
        do_set_priority(actor, conversation, int(data.get("old", 1)), reason="undo")
    elif activity.verb == Verb.MODERATION_REQUESTED:
        if data.get("action") != ActionKind.HIDE or activity.message_id is None:
            raise ActionRefused(_("Only a hide can be undone on the platform (unhide)."))
        do_moderate_message(actor, Message.objects.get(pk=activity.message_id), ActionKind.UNHIDE)


logger = logging.getLogger(__name__)

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
    _run_rules_on_labels([m.pk for m, labels in done if labels is not NOTHING_TO_READ])
    return len(done)


def _run_rules_on_labels(message_ids: list[int]) -> None:
    """Rules on sentiment, intent or toxicity can only fire now that the labels exist.

    The labels are committed first: a rule that fails (a platform down) is logged
    and does not take the labels with it; rules that already fired on a message
    in the pipeline's pass do not fire twice (the rule engine checks).
    """
    if not message_ids:
        return
    try:
        run_rules(list(Message.objects.filter(pk__in=message_ids).order_by("pk")))
    except Exception:
        logger.exception("rules after classification failed for %d messages", len(message_ids))


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


__all__ = [
    "do_classify_pending",
    "do_decide_suggestion",
    "do_save_house_rule",
    "do_save_rule",
    "do_undo_activity",
    "pending_messages",
]
