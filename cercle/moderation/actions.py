"""Writes of the moderation app: rules, house rules, suggestions, and undoing automated actions."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cercle.connectors.base import ActionKind
from cercle.core import clock
from cercle.inbox.actions import (
    ActionRefused,
    do_assign_conversation,
    do_change_status,
    do_moderate_message,
    do_set_priority,
    do_untag_conversation,
)
from cercle.inbox.models import Conversation, Message, Tag
from cercle.workspaces.actors import Actor, actor_fields, require
from cercle.workspaces.choices import Permission, Verb
from cercle.workspaces.models import Activity, Workspace

from .choices import ConditionField, RuleAction, RuleMode, SuggestionState
from .models import HouseRule, Rule, Suggestion
from .rules import log_fired, perform, validate_pattern


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


__all__ = ["do_decide_suggestion", "do_save_house_rule", "do_save_rule", "do_undo_activity"]
