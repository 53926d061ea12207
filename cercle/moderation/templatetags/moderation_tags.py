"""Template helpers of moderation: the label chips of a message, the crisis banner."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from cercle.inbox.models import Message
from cercle.moderation.actions import can_undo, undone_ids
from cercle.moderation.choices import (
    INTENT_COLOURS,
    SENTIMENT_COLOURS,
    Intent,
    RuleAction,
    Sentiment,
    Toxicity,
)
from cercle.moderation.citation import CITING, house_rules
from cercle.moderation.classify import language_model
from cercle.moderation.crisis import active_alerts
from cercle.moderation.models import CustomLabel, HouseRule, MessageLabel
from cercle.notifications.templatetags.notification_tags import header_facts
from cercle.workspaces.models import Activity, Member

register = template.Library()


def _chip(kind: str, value: str, label: object, colour: str, score: float | None) -> dict[str, Any]:
    certainty = f" — {round(score * 100)} %" if score is not None else ""
    return {"kind": kind, "value": value, "label": label, "colour": colour, "title": certainty}


@register.simple_tag
def language_title(message: Message) -> str:
    """The tooltip of a message's language: "Language — 97 % — model: lid.176-ftz@…".

    The certainty is the language model's probability of the language; the model is
    the one named at ingest (older messages kept neither).
    """
    parts = [str(_("Language"))]
    if message.language and message.language_score is not None:
        parts.append(f"{round(message.language_score * 100)} %")
    if model := language_model(message.classified_by):
        parts.append(_("model: %(model)s") % {"model": model})
    return " — ".join(parts)


@register.inclusion_tag("moderation/_labels.html", takes_context=True)
def message_labels(context: template.Context, message: Message) -> dict[str, Any]:
    """Chips for what the classifiers (or a member) said about an inbound message, and the
    one-click correction of each (nothing until the classifiers spoke).

    In a timeline, the custom labels of all its messages are read at the first call
    (one query for the page, not one per message).
    """
    cache = context.render_context
    _prefetch_applied(cache, message, context.get("timeline"))
    return labels_context(message, cache)


def _custom_labels(cache: Any, workspace_id: int) -> list[CustomLabel]:
    key = ("custom_labels", workspace_id)
    if key not in cache:
        cache[key] = list(CustomLabel.objects.filter(workspace_id=workspace_id))
    found: list[CustomLabel] = cache[key]
    return found


def _prefetch_applied(cache: Any, message: Message, timeline: Any) -> None:
    """Read the applied custom labels of every message of `timeline` at once, into `cache`."""
    if ("applied_labels", message.pk) in cache or not _custom_labels(cache, message.workspace_id):
        return
    messages = (getattr(item, "message", None) for item in timeline or ())
    ids = {m.pk for m in messages if isinstance(m, Message) and m.classified_at is not None}
    ids.add(message.pk)
    applied: dict[int, dict[int, MessageLabel]] = {pk: {} for pk in ids}
    for row in MessageLabel.objects.filter(
        workspace_id=message.workspace_id, message_id__in=sorted(ids), applies=True
    ):
        applied[row.message_id][row.label_id] = row
    for pk, rows in applied.items():
        cache[("applied_labels", pk)] = rows


def labels_context(message: Message, cache: Any = None) -> dict[str, Any]:
    """The context of `_labels.html` (also rendered alone after a correction)."""
    chips = []
    if message.toxicity_category in Toxicity.values:
        label = Toxicity(message.toxicity_category).label
        chips.append(_chip("toxicity", message.toxicity_category, label, "red", message.toxicity))
    if message.intent in Intent.values:
        intent = Intent(message.intent)
        chips.append(
            _chip("intent", intent, intent.label, INTENT_COLOURS[intent], message.intent_score)
        )
    if message.sentiment in Sentiment.values:
        sentiment = Sentiment(message.sentiment)
        chips.append(
            _chip(
                "sentiment",
                sentiment,
                sentiment.label,
                SENTIMENT_COLOURS[sentiment],
                message.sentiment_score,
            )
        )
    cache = cache if cache is not None else {}
    custom = _custom_labels(cache, message.workspace_id)
    applied: dict[int, MessageLabel] = {}
    if custom:
        key = ("applied_labels", message.pk)
        applied = (
            cache[key]
            if key in cache
            else {
                row.label_id: row
                for row in MessageLabel.objects.filter(message_id=message.pk, applies=True)
            }
        )
    for custom_label in custom:
        if custom_label.pk in applied:
            row = applied[custom_label.pk]
            chips.append(
                _chip("custom", str(custom_label.pk), custom_label.name, "violet", row.score)
            )
    return {
        "message": message,
        "chips": chips,
        "needs_reply": message.needs_reply,
        "model": message.classified_by,
        "legend": _("Labels set by Cercle's classifiers (certainty in the tooltip)"),
        "sentiments": Sentiment.choices,
        "intents": Intent.choices,
        "custom_labels": [(label, label.pk in applied) for label in custom],
    }


@register.inclusion_tag("moderation/_crisis_banner.html")
def crisis_banner(workspace_id: int | None, member: Member | None = None) -> dict[str, Any]:
    """The running crisis alerts of the workspace, on top of every page (one indexed query;
    none when `member`'s header facts, read with the bell's counts, say no alert runs)."""
    if workspace_id is None:
        return {"alerts": []}
    if (
        isinstance(member, Member)
        and member.workspace_id == workspace_id
        and not header_facts(member).crisis_running
    ):
        return {"alerts": []}
    return {"alerts": list(active_alerts(workspace_id)[:3])}


# Actions whose value reads as words (an assignee is an id: its label says enough).
_SHOWN_VALUES = {
    RuleAction.TAG,
    RuleAction.PRIORITY,
    RuleAction.STATUS,
    RuleAction.SAVED_REPLY,
    RuleAction.REPLY,
}


@register.filter
def rule_actions(actions: Any) -> list[str]:
    """What a rule's actions do, in words: "Hide on the platform", "Tag: delivery"."""
    described = []
    for action in actions if isinstance(actions, list) else []:
        if not isinstance(action, dict) or action.get("type") not in RuleAction.values:
            continue
        kind = RuleAction(action["type"])
        value = str(action.get("value") or "").strip()
        if kind in _SHOWN_VALUES and value:
            described.append(f"{kind.label}: {value[:80]}")
        else:
            described.append(str(kind.label))
    return described


@register.inclusion_tag("moderation/_undo.html", takes_context=True)
def undo_button(context: template.Context, activity: Activity) -> dict[str, Any]:
    """An Undo button after an automation's undoable activity (or "undone" once it was).

    The undone ones of the whole timeline are read at the first call (one query a page).
    """
    if not can_undo(activity):
        return {"activity": None}
    cache = context.render_context
    if "undone_activities" not in cache:
        ids = [
            item.activity.pk
            for item in context.get("timeline") or ()
            if getattr(item, "activity", None) is not None
        ]
        cache["undone_activities"] = undone_ids(sorted({*ids, activity.pk}))
    undone: set[int] = cache["undone_activities"]
    return {
        "activity": activity,
        "undone": activity.pk in undone,
        "can_undo": bool(context.get("can_assign")),
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag
def workspace_house_rules(workspace_id: int) -> list[HouseRule]:
    """The workspace's numbered house rules, for the citation a hide, delete or ban asks for."""
    return house_rules(workspace_id)


@register.filter
def cites_house_rule(action: str) -> bool:
    """Whether a moderation action cites a house rule (hide, delete, ban)."""
    return action in CITING
