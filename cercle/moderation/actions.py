"""Writes of the moderation app: rules, house rules, suggestions, undoing automated actions, and
the labels of the classifiers (with the priority they set)."""

from __future__ import annotations

import functools
import logging
import math
from collections import defaultdict
from datetime import datetime
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from cercle.connectors.base import ActionKind, Capability
from cercle.connectors.models import Channel
from cercle.connectors.registry import UnknownPlatform, connector_class
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
from cercle.workspaces.models import Activity, Member, Workspace

from . import crisis, learning
from .choices import (
    ConditionField,
    Intent,
    RuleAction,
    RuleMode,
    Sentiment,
    SuggestionState,
)
from .classifiers.base import Batch, Prediction
from .classifiers.heads import Head
from .classifiers.registry import embedder
from .classify import Labels, classify_texts, labels_of, with_language_model
from .models import (
    CrisisAlert,
    CustomLabel,
    HouseRule,
    LabelExample,
    MessageLabel,
    MessageVector,
    Pulse,
    PulseCursor,
    Rule,
    Suggestion,
    WorkspaceHead,
)
from .priority import next_priority, suggested_priority
from .rules import (
    log_fired,
    perform,
    rule_channels,
    run_rules,
    unavailable_actions,
    validate_pattern,
)


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
        _check_number(condition)
        _check_score(condition)
    for action in actions:
        if action.get("type") not in RuleAction.values:
            raise ValidationError(_("Unknown action."))


# The conditions compared with a number, and the numbers they take.
_NUMBER_FIELDS = {
    ConditionField.TOXICITY_AT_LEAST: (0.0, 1.0),
    ConditionField.AUTHOR_HIDDEN_AT_LEAST: (0.0, 1_000_000.0),
    ConditionField.AUTHOR_FOLLOWERS_AT_LEAST: (0.0, 1_000_000_000.0),
}
# The conditions on one label's score: {"label": one of these, "at_least": 0–1}.
_SCORE_LABELS = {
    ConditionField.SENTIMENT_SCORE: Sentiment.values,
    ConditionField.INTENT_SCORE: Intent.values,
}


_WHOLE_NUMBERS = {ConditionField.AUTHOR_HIDDEN_AT_LEAST, ConditionField.AUTHOR_FOLLOWERS_AT_LEAST}


def _check_score(condition: dict[str, Any]) -> None:
    """A score condition names a label of its field and a score from 0 to 1."""
    labels = _SCORE_LABELS.get(condition["field"])
    if labels is None:
        return
    value = condition.get("value")
    wanted = value if isinstance(value, dict) else {}
    least = wanted.get("at_least")
    number = float(least) if isinstance(least, int | float) and not isinstance(least, bool) else -1
    if wanted.get("label") not in labels or not (math.isfinite(number) and 0 <= number <= 1):
        raise ValidationError(
            _(
                "“%(field)s” takes a label (%(labels)s) and a score from 0 to 1, e.g. “%(example)s”."
            ),
            params={
                "field": ConditionField(condition["field"]).label,
                "labels": ", ".join(labels),
                "example": f"{labels[0]} 0.8",
            },
        )


def _check_number(condition: dict[str, Any]) -> None:
    """A condition compared with a number holds a finite number in its range (else 422 / form error)."""
    bounds = _NUMBER_FIELDS.get(condition["field"])
    if bounds is None:
        return
    value = condition.get("value")
    try:
        number = float(value) if isinstance(value, int | float | str) else math.nan
    except ValueError:
        number = math.nan
    low, high = bounds
    if not (math.isfinite(number) and low <= number <= high):
        raise ValidationError(
            _("“%(field)s” takes a number from %(low)s to %(high)s."),
            params={"field": ConditionField(condition["field"]).label, "low": low, "high": high},
        )
    if condition["field"] in _WHOLE_NUMBERS and not number.is_integer():
        raise ValidationError(
            _("“%(field)s” takes a whole number."),
            params={"field": ConditionField(condition["field"]).label},
        )


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
    unavailable = unavailable_actions(rule_channels(workspace.pk, conditions))
    refused = [str(a.get("type")) for a in actions if a.get("type") in unavailable]
    if refused:
        raise ValidationError(
            _("Not possible on the channels this rule applies to: %(actions)s."),
            params={"actions": ", ".join(str(RuleAction(kind).label) for kind in refused)},
        )
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
            # Only the suggestion's row: its rule is an outer join now that it may be empty.
            Suggestion.objects.select_for_update(of=("self",))
            .select_related("rule", "message")
            .get(pk=suggestion.pk)
        )
        if locked.state != SuggestionState.PENDING:
            raise ActionRefused(_("This suggestion was already decided."))
        locked.state = SuggestionState.ACCEPTED if accept else SuggestionState.DISMISSED
        locked.decided_at = clock.now()
        locked.save(update_fields=["state", "decided_at"])
        if locked.rule is None:
            return _decide_learnt_hide(actor, locked, accept)
        performed = perform(locked.rule, locked.message) if accept else None
        log_fired(locked.rule, locked.message, performed, "accepted" if accept else "dismissed")
    return performed.done if performed else []


def _decide_learnt_hide(actor: Actor, suggestion: Suggestion, accept: bool) -> list[str]:
    """The "should hide" head's suggestion: the person hides the message, or says it stays.

    Accepted, the hide is the person's (the outbox makes it a "should hide: yes"
    example once the platform confirms); dismissed, it is a "should hide: no" example.
    """
    message = suggestion.message
    if accept:
        do_moderate_message(actor, message, ActionKind.HIDE)
        return [str(RuleAction.HIDE)]
    now = clock.now()
    _remember(actor, message, learning.HIDE, learning.NO, now)
    Activity.objects.create(
        workspace_id=message.workspace_id,
        conversation_id=message.conversation_id,
        message=message,
        channel_id=message.channel_id,
        verb=Verb.LABEL_CORRECTED,
        data={"task": learning.HIDE, "label": learning.NO},
        created_at=now,
        **actor_fields(actor),
    )
    return []


# What undoing an automated activity does, by verb.
UNDOABLE = {
    Verb.TAGGED,
    Verb.ASSIGNED,
    Verb.STATUS_CHANGED,
    Verb.PRIORITY_CHANGED,
    Verb.MODERATION_REQUESTED,
}
# The platform action that takes back each undoable moderation.
UNDO_MODERATION = {ActionKind.HIDE: ActionKind.UNHIDE, ActionKind.BAN: ActionKind.UNBAN}


def undone_ids(activity_ids: list[int]) -> set[int]:
    """Those of `activity_ids` already undone (one `undone` activity names each)."""
    if not activity_ids:
        return set()
    return {
        int(pk)
        for pk in Activity.objects.filter(
            verb=Verb.UNDONE, data__undoes__in=activity_ids
        ).values_list("data__undoes", flat=True)
    }


def can_undo(activity: Activity) -> bool:
    """Whether the timeline offers an Undo for this activity (an automation's, undoable verb)."""
    if not activity.automation or activity.verb not in UNDOABLE:
        return False
    if activity.verb == Verb.MODERATION_REQUESTED:
        data = activity.data if isinstance(activity.data, dict) else {}
        return data.get("action") in UNDO_MODERATION
    return True


def do_undo_activity(actor: Actor, activity: Activity) -> Activity:
    """Undo what an automation did: untag, unassign, previous status or priority, unhide, unban.

    Only an automation's activity (a rule, a policy, the pipeline) is undone here: a
    person takes back their own action where they did it. Each is undone once: the
    `undone` activity names the one it undoes, and a second undo is refused.
    """
    require(actor, Permission.ASSIGN, activity.workspace_id)
    if not can_undo(activity) or activity.conversation_id is None:
        raise ActionRefused(_("This cannot be undone."))
    data = activity.data if isinstance(activity.data, dict) else {}
    with transaction.atomic():
        # The conversation's row serialises two undos of the same activity.
        conversation = Conversation.objects.select_for_update().get(pk=activity.conversation_id)
        if undone_ids([activity.pk]):
            raise ActionRefused(_("This was already undone."))
        if activity.verb == Verb.TAGGED:
            tag = Tag.objects.filter(
                workspace_id=activity.workspace_id, name=data.get("tag")
            ).first()
            if tag is not None:
                do_untag_conversation(actor, conversation, tag)
        elif activity.verb == Verb.ASSIGNED:
            do_assign_conversation(actor, conversation, None)
        elif activity.verb == Verb.STATUS_CHANGED:
            do_change_status(actor, conversation, str(data.get("old", "open")))
        elif activity.verb == Verb.PRIORITY_CHANGED:
            do_set_priority(actor, conversation, int(data.get("old", 1)), reason="undo")
        else:
            message = (
                Message.objects.filter(pk=activity.message_id).first()
                if activity.message_id is not None
                else None
            )
            if message is None:
                raise ActionRefused(_("This message is no longer here."))
            undo = UNDO_MODERATION[ActionKind(str(data["action"]))]
            do_moderate_message(actor, message, undo)
        return Activity.objects.create(
            workspace_id=activity.workspace_id,
            conversation_id=activity.conversation_id,
            message_id=activity.message_id,
            channel_id=activity.channel_id,
            verb=Verb.UNDONE,
            data={
                "undoes": activity.pk,
                "verb": activity.verb,
                "by": activity.automation_name,
                **({"action": data["action"]} if "action" in data else {}),
            },
            created_at=clock.now(),
            **actor_fields(actor),
        )


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
        .only(
            "id",
            "workspace_id",
            "channel_id",
            "conversation_id",
            "text",
            "language",
            "classified_by",
        )[:limit]
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
    batch = classify_texts([m.text for m in readable], [m.language for m in readable])
    learnt = learning.apply_heads(
        batch, [m.workspace_id for m in readable], _active_heads({m.workspace_id for m in readable})
    )
    custom = {
        i: {task: p for task, p in predictions.items() if learning.is_custom(task)}
        for i, predictions in learnt.items()
    }
    hide = {
        readable[i].pk: predictions[learning.HIDE]
        for i, predictions in learnt.items()
        if learning.HIDE in predictions and predictions[learning.HIDE].label == learning.YES
    }
    labelled = dict(zip((m.pk for m in readable), labels_of(batch), strict=True))
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
            language_by = message.classified_by
            for name in LABEL_FIELDS[:-1]:
                setattr(message, name, getattr(labels, name))
            # The language was detected at ingest: its model stays named.
            message.classified_by = with_language_model(language_by, labels.classified_by)
            message.classified_at = now
            done.append((message, labels))
        update_rows(Message, [m for m, _ in done], LABEL_FIELDS)
        _store_vectors(readable, batch, {m.pk for m, _ in done})
        _store_custom_labels(
            [(readable[i], predictions) for i, predictions in custom.items() if predictions],
            {m.pk for m, _ in done},
        )
        flagged = _suggest_hides([m for m, _ in done if m.pk in hide], hide)
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
                    "data": _activity_data(labels, changed.get(message.pk))
                    | ({"suggested": learning.HIDE} if message.pk in flagged else {}),
                    "created_at": now,
                    **actor_fields(_classifiers(message.workspace_id)),
                }
                for message, labels in done
                if labels is not NOTHING_TO_READ
            ],
        )
    _run_rules_on_labels([m.pk for m, labels in done if labels is not NOTHING_TO_READ])
    return len(done)


def _suggest_hides(messages: list[Message], predictions: dict[int, Prediction]) -> set[int]:
    """Queue the messages the workspace's "should hide" head flagged; the ids queued.

    Never hidden here: a person decides in the moderation queue. Left out: a message
    already hidden, one whose channel cannot hide, one already suggested.
    """
    if not messages:
        return set()
    visible = set(
        Message.objects.filter(pk__in=[m.pk for m in messages], is_hidden=False).values_list(
            "pk", flat=True
        )
    )
    platforms = dict(
        Channel.objects.filter(pk__in={m.channel_id for m in messages}).values_list(
            "pk", "platform"
        )
    )
    can_hide = {
        pk for pk, platform in platforms.items() if Capability.HIDE in _capabilities(platform)
    }
    already = set(
        Suggestion.objects.filter(
            message_id__in=[m.pk for m in messages], rule__isnull=True
        ).values_list("message_id", flat=True)
    )
    queued = [
        m for m in messages if m.pk in visible and m.channel_id in can_hide and m.pk not in already
    ]
    Suggestion.objects.bulk_create(
        [
            Suggestion(
                workspace_id=m.workspace_id,
                message_id=m.pk,
                conversation_id=m.conversation_id,
                score=round(predictions[m.pk].score, 3),
                model=predictions[m.pk].model[:128],
            )
            for m in queued
        ],
        ignore_conflicts=True,
    )
    return {m.pk for m in queued}


def _capabilities(platform: str) -> frozenset[Capability]:
    try:
        return connector_class(platform).capabilities
    except UnknownPlatform:
        return frozenset()


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
    "can_undo",
    "do_classify_pending",
    "do_decide_suggestion",
    "do_save_house_rule",
    "do_save_rule",
    "do_undo_activity",
    "pending_messages",
    "undone_ids",
]


# --- the crisis alert (see crisis.py) -------------------------------------------------------

PULSE_BATCH = 5000


def _crisis_watch(workspace_id: int) -> Automation:
    return Automation(workspace_id=workspace_id, kind=AutomationKind.PIPELINE, name="Crisis watch")


def do_aggregate_pulses(limit: int = PULSE_BATCH) -> int:
    """Count the next inbound messages into their quarter-hour `Pulse` rows, once each.

    Messages are read in id order from a cursor, locked for the whole batch, so two
    workers never count a message twice. A message counts in the quarter hour it was
    said (`sent_at`). The batch stops at the first message still waiting for its
    labels (arrived less than `crisis.CLASSIFY_GRACE` ago), so the negative share is
    counted on labelled messages. Returns how many messages were counted.
    """
    arrived_before = timezone.now() - crisis.CLASSIFY_GRACE
    PulseCursor.objects.get_or_create(name="pulse")
    with transaction.atomic():
        cursor = PulseCursor.objects.select_for_update().get(name="pulse")
        rows = list(
            Message.objects.filter(pk__gt=cursor.last_message_id, direction=Direction.INBOUND)
            .order_by("pk")
            .values_list(
                "pk",
                "workspace_id",
                "channel_id",
                "conversation__post_id",
                "sent_at",
                "created_at",
                "sentiment",
                "classified_at",
            )[:limit]
        )
        counts: dict[tuple[int, int, int | None, datetime], crisis.Counts] = defaultdict(
            crisis.Counts
        )
        last = cursor.last_message_id
        for (
            pk,
            workspace_id,
            channel_id,
            post_id,
            sent_at,
            created_at,
            sentiment,
            labelled_at,
        ) in rows:
            # Arrival is wall-clock time (created_at); the pulse is the time it was said.
            if labelled_at is None and created_at > arrived_before:
                break
            start = crisis.quarter_of(sent_at or created_at)
            labelled, negative = int(bool(sentiment)), int(sentiment == Sentiment.NEGATIVE)
            counts[workspace_id, channel_id, None, start].add(1, labelled, negative)
            if post_id is not None:
                counts[workspace_id, channel_id, post_id, start].add(1, labelled, negative)
            last = int(pk)
        if last == cursor.last_message_id:
            return 0
        existing = {
            (p.channel_id, p.post_id, p.start): p
            for p in Pulse.objects.filter(
                channel_id__in={key[1] for key in counts}, start__in={key[3] for key in counts}
            )
        }
        changed: list[Pulse] = []
        created: list[Pulse] = []
        for key, count in counts.items():
            pulse = existing.get(key[1:])
            if pulse is None:
                pulse = Pulse(workspace_id=key[0], channel_id=key[1], post_id=key[2], start=key[3])
                created.append(pulse)
            else:
                changed.append(pulse)
            pulse.messages += count.messages
            pulse.classified += count.classified
            pulse.negative += count.negative
        Pulse.objects.bulk_create(created)
        Pulse.objects.bulk_update(changed, ["messages", "classified", "negative"])
        counted = sum(1 for pk, *_ in rows if cursor.last_message_id < pk <= last)
        cursor.last_message_id = last
        cursor.save(update_fields=["last_message_id"])
    return counted


def do_watch_crises(now: datetime | None = None) -> list[CrisisAlert]:
    """Raise an alert for every signal above its baseline, keep the running ones, end the quiet.

    Returns the alerts raised by this check. Each start and end is in the Activity log,
    by the "Crisis watch" automation (the notifications turn it into alerts for managers).
    """
    now = now or clock.now()
    raised: list[CrisisAlert] = []
    with transaction.atomic():
        for reading in crisis.readings_at(now):
            scope = reading.scope
            running = (
                CrisisAlert.objects.select_for_update()
                .filter(
                    channel_id=scope.channel_id,
                    signal=reading.signal,
                    **crisis.post_lookup(scope.post_id),
                    ended_at__isnull=True,
                )
                .first()
            )
            if running is not None:
                running.last_seen_at = now
                running.observed = reading.observed
                running.peak = max(running.peak, reading.observed)
                running.save(update_fields=["last_seen_at", "observed", "peak"])
                continue
            alert = CrisisAlert.objects.create(
                workspace_id=scope.workspace_id,
                channel_id=scope.channel_id,
                post_id=scope.post_id,
                signal=reading.signal,
                started_at=now,
                last_seen_at=now,
                observed=reading.observed,
                baseline=reading.baseline,
                peak=reading.observed,
                history_hours=reading.history_hours,
            )
            _log_crisis(_crisis_watch(scope.workspace_id), alert, Verb.CRISIS_STARTED, now)
            raised.append(alert)
        for alert in CrisisAlert.objects.select_for_update().filter(
            ended_at__isnull=True, last_seen_at__lt=now - crisis.QUIET_AFTER
        ):
            alert.ended_at = now
            alert.save(update_fields=["ended_at"])
            _log_crisis(_crisis_watch(alert.workspace_id), alert, Verb.CRISIS_ENDED, now)
    return raised


def do_acknowledge_crisis(actor: Actor, alert: CrisisAlert) -> None:
    """A member says the team is on it: the banner stops calling for attention."""
    require(actor, Permission.MODERATE, alert.workspace_id)
    if alert.acknowledged_at is not None:
        return
    now = clock.now()
    with transaction.atomic():
        alert.acknowledged_by = actor if isinstance(actor, Member) else None
        alert.acknowledged_at = now
        alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
        _log_crisis(actor, alert, Verb.CRISIS_ACKNOWLEDGED, now)


def _log_crisis(actor: Actor, alert: CrisisAlert, verb: str, now: datetime) -> None:
    Activity.objects.create(
        workspace_id=alert.workspace_id,
        channel_id=alert.channel_id,
        verb=verb,
        data={
            "alert": alert.pk,
            "signal": alert.signal,
            "post": alert.post_id,
            "observed": alert.observed,
            "baseline": alert.baseline,
        },
        created_at=now,
        **actor_fields(actor),
    )


# --- learning from the team (see learning.py) -----------------------------------------------

# The message fields a correction of a standard task changes.
CORRECTABLE = {"sentiment": Sentiment.values, "intent": Intent.values, "needs_reply": ["yes", "no"]}


def do_correct_label(actor: Actor, message: Message, task: str, label: str) -> None:
    """A member says what an inbound message really is; it becomes a labelled example.

    `task` is "sentiment", "intent" or "needs_reply" (label "yes" / "no"). The message
    shows the member's label at once (its score cleared: a person said it).
    """
    require(actor, Permission.ASSIGN, message.workspace_id)
    if message.direction != Direction.INBOUND or label not in CORRECTABLE.get(task, ()):
        raise ActionRefused(_("This label cannot be set here."))
    now = clock.now()
    with transaction.atomic():
        fields: dict[str, object]
        if task == "needs_reply":
            fields = {"needs_reply": label == "yes", "needs_reply_score": None}
        else:
            fields = {task: label, f"{task}_score": None}
        old = getattr(message, task)
        Message.objects.filter(pk=message.pk).update(**fields)
        for name, value in fields.items():
            setattr(message, name, value)
        _remember(actor, message, task, label, now)
        Activity.objects.create(
            workspace_id=message.workspace_id,
            conversation_id=message.conversation_id,
            message_id=message.pk,
            verb=Verb.LABEL_CORRECTED,
            data={"task": task, "label": label, "old": old},
            created_at=now,
            **actor_fields(actor),
        )


def do_save_custom_label(
    actor: Actor, workspace_id: int, name: str, description: str = ""
) -> CustomLabel:
    """Define a label of the workspace's own (managers)."""
    require(actor, Permission.MANAGE_WORKFLOW, workspace_id)
    name = " ".join(name.split())[:60]
    if not name:
        raise ValidationError(_("A label needs a name."))
    with transaction.atomic():
        label, _created = CustomLabel.objects.update_or_create(
            workspace_id=workspace_id, name=name, defaults={"description": description[:300]}
        )
        Activity.objects.create(
            workspace_id=workspace_id,
            verb=Verb.CUSTOM_LABEL_SAVED,
            data={"label": label.pk, "name": name},
            **actor_fields(actor),
        )
    return label


def do_set_custom_label(actor: Actor, message: Message, label: CustomLabel, applies: bool) -> None:
    """A member puts a custom label on a message, or says it does not apply: an example."""
    require(actor, Permission.ASSIGN, message.workspace_id)
    if label.workspace_id != message.workspace_id or message.direction != Direction.INBOUND:
        raise ActionRefused(_("This label cannot be set here."))
    now = clock.now()
    with transaction.atomic():
        MessageLabel.objects.update_or_create(
            message=message,
            label=label,
            defaults={
                "workspace_id": message.workspace_id,
                "applies": applies,
                "score": None,
                "by_member": True,
            },
        )
        _remember(actor, message, label.task, learning.YES if applies else learning.NO, now)
        Activity.objects.create(
            workspace_id=message.workspace_id,
            conversation_id=message.conversation_id,
            message_id=message.pk,
            verb=Verb.LABEL_CORRECTED,
            data={"task": label.task, "label": label.name, "applies": applies},
            created_at=now,
            **actor_fields(actor),
        )


def do_learn_from_moderation(message: Message, action: str) -> None:
    """A hide or unhide the platform confirmed: when a person asked for it, it is an example.

    A person's hide is "should hide: yes" (`learning.HIDE`). A person's unhide reverses
    their own hide (the example goes); unhiding what a rule or the platform hid says
    "should hide: no". Hides by rules are not examples: the team did not decide them.
    Called by the outbox (pipeline) once the platform did it, in its transaction.
    """
    if action not in (ActionKind.HIDE, ActionKind.UNHIDE) or message.direction != Direction.INBOUND:
        return
    request = (
        Activity.objects.filter(
            message_id=message.pk, verb=Verb.MODERATION_REQUESTED, data__action=str(action)
        )
        .order_by("-id")
        .first()
    )
    member = request.actor if request is not None and request.actor_id else None
    if member is None:
        return
    now = clock.now()
    if action == ActionKind.HIDE:
        _remember(member, message, learning.HIDE, learning.YES, now)
        return
    own_hide = LabelExample.objects.filter(
        message_id=message.pk, task=learning.HIDE, label=learning.YES, member__isnull=False
    )
    if not own_hide.delete()[0]:
        _remember(member, message, learning.HIDE, learning.NO, now)


def _remember(actor: Actor, message: Message, task: str, label: str, now: datetime) -> None:
    LabelExample.objects.update_or_create(
        message=message,
        task=task,
        defaults={
            "workspace_id": message.workspace_id,
            "label": label,
            "member": actor if isinstance(actor, Member) else None,
            "created_at": now,
        },
    )


def workspaces_to_train() -> list[int]:
    """The workspaces with an example newer than their newest head (or with no head yet)."""
    newest = dict(
        WorkspaceHead.objects.values("workspace_id")
        .annotate(at=Max("trained_at"))
        .values_list("workspace_id", "at")
    )
    # Only tasks with enough examples to train count (fewer would be retried for nothing).
    latest = (
        LabelExample.objects.values("workspace_id", "task")
        .annotate(at=Max("created_at"), n=Count("id"))
        .filter(n__gte=learning.MIN_EXAMPLES)
        .values_list("workspace_id", "at")
    )
    return sorted({ws for ws, at in latest if newest.get(ws) is None or at > newest[ws]})


def tasks_to_train(workspace_id: int) -> list[str]:
    """The tasks of a workspace with examples newer than their head (or no head yet)."""
    trained = dict(
        WorkspaceHead.objects.filter(workspace_id=workspace_id).values_list("task", "trained_at")
    )
    tasks = []
    for task in (
        LabelExample.objects.filter(workspace_id=workspace_id)
        .values_list("task", flat=True)
        .distinct()
    ):
        since = trained.get(task)
        examples = LabelExample.objects.filter(workspace_id=workspace_id, task=task)
        if since is None or examples.filter(created_at__gt=since).exists():
            tasks.append(task)
    return sorted(tasks)


def do_train_heads(workspace_id: int) -> list[WorkspaceHead]:
    """Train (again) the workspace's heads whose examples changed; keep each only if better.

    Runs in the worker (it embeds the examples not embedded yet). Each head is
    stored with its held-out precision and recall, whatever the outcome, so the
    team sees why a head is or is not in use.
    """
    model = embedder()
    stored: list[WorkspaceHead] = []
    for task in tasks_to_train(workspace_id):
        examples = list(
            LabelExample.objects.filter(workspace_id=workspace_id, task=task)
            .select_related("message")
            .order_by("-id")[: learning.MAX_EXAMPLES]
        )
        examples = [e for e in examples if e.message.text.strip()]
        labels = [e.label for e in examples]
        if not learning.trainable(labels):
            continue
        missing = [e for e in examples if not e.vector or e.vector_model != model.version]
        if missing:
            vectors = model.embed([e.message.text for e in missing])
            for example, vector in zip(missing, vectors, strict=True):
                example.vector = np.asarray(vector, dtype=np.float32).tobytes()
                example.vector_model = model.version
            LabelExample.objects.bulk_update(missing, ["vector", "vector_model"])
        matrix = np.stack(
            [np.frombuffer(bytes(e.vector or b""), dtype=np.float32) for e in examples]
        )
        trained = learning.train(
            task, [e.message.text for e in examples], matrix, labels, model.version
        )
        now = clock.now()
        with transaction.atomic():
            head, _created = WorkspaceHead.objects.update_or_create(
                workspace_id=workspace_id,
                task=task,
                defaults={
                    "weights": trained.head.to_bytes(),
                    "examples": trained.examples,
                    "held_out": trained.held_out,
                    "scores": trained.scores,
                    "accuracy": trained.accuracy,
                    "baseline_accuracy": trained.baseline_accuracy,
                    "baseline": trained.baseline,
                    "active": trained.better,
                    "trained_at": now,
                },
            )
            Activity.objects.create(
                workspace_id=workspace_id,
                verb=Verb.MODEL_TRAINED,
                data={
                    "task": task,
                    "accuracy": trained.accuracy,
                    "baseline_accuracy": trained.baseline_accuracy,
                    "active": trained.better,
                },
                created_at=now,
                **actor_fields(_classifiers(workspace_id)),
            )
        stored.append(head)
    return stored


def _active_heads(workspace_ids: set[int]) -> dict[int, dict[str, tuple[Head, str]]]:
    """The active heads of these workspaces, loaded for the classify drain (one query)."""
    heads: dict[int, dict[str, tuple[Head, str]]] = {}
    if not workspace_ids:
        return heads
    model = None
    rows = WorkspaceHead.objects.filter(workspace_id__in=workspace_ids, active=True).only(
        "pk", "workspace_id", "task", "trained_at"
    )
    for row in rows:
        head = _decoded_head(row.pk, row.trained_at)
        model = model or embedder()
        if head.embedder != model.version:
            continue  # trained on another embedder's space: retrained on the next examples
        name = f"workspace-head:{row.pk}@{row.trained_at:%Y%m%d%H%M}"
        heads.setdefault(row.workspace_id, {})[row.task] = (head, name)
    return heads


@functools.lru_cache(maxsize=256)
def _decoded_head(pk: int, trained_at: datetime) -> Head:
    """A stored head, decoded once per process and training (not on every classify batch)."""
    weights = WorkspaceHead.objects.filter(pk=pk).values_list("weights", flat=True).get()
    return Head.from_bytes(bytes(weights))


def _store_vectors(readable: list[Message], batch: Batch, written: set[int]) -> None:
    """Keep the embeddings the batch computed, for reply suggestions (`suggestions.py`)."""
    if not readable or batch.embedder is None:
        return
    vectors = batch.vectors()
    model = batch.embedder().version
    MessageVector.objects.bulk_create(
        [
            MessageVector(
                message_id=message.pk,
                workspace_id=message.workspace_id,
                vector=np.asarray(vector, dtype=np.float32).tobytes(),
                model=model,
            )
            for message, vector in zip(readable, vectors, strict=True)
            if message.pk in written
        ],
        update_conflicts=True,
        unique_fields=["message"],
        update_fields=["vector", "model", "workspace"],
    )


def _store_custom_labels(
    predicted: list[tuple[Message, dict[str, Prediction]]], written: set[int]
) -> None:
    """The custom labels the workspace heads predicted, except where a member already said."""
    rows = []
    for message, predictions in predicted:
        if message.pk not in written:
            continue
        for task, prediction in predictions.items():
            rows.append((message, int(task.split(":", 1)[1]), prediction))
    if not rows:
        return
    said = set(
        MessageLabel.objects.filter(
            message_id__in={m.pk for m, _, _ in rows}, by_member=True
        ).values_list("message_id", "label_id")
    )
    MessageLabel.objects.filter(message_id__in={m.pk for m, _, _ in rows}, by_member=False).delete()
    MessageLabel.objects.bulk_create(
        [
            MessageLabel(
                workspace_id=message.workspace_id,
                message_id=message.pk,
                label_id=label_id,
                applies=prediction.label == learning.YES,
                score=prediction.score,
            )
            for message, label_id, prediction in rows
            if (message.pk, label_id) not in said
        ]
    )
