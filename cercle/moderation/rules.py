"""The rule engine: conditions on a new inbound message → actions, live, suggested, or off.

Runs as the `rules` stage of the inbound pipeline (registered in `apps.py`,
called by `inbox.receive` once a batch is written) and again by whoever adds
labels later (the classifiers), so rules on sentiment or intent fire when the
labels arrive. A rule fires at most once per message: the Activity log
(`rule_fired`) and the suggestions' unique key say which already did.

Conditions are evaluated in memory with a few queries per batch (`Facts`),
never one per message. Actions go through the inbox's actions with an
`Automation(kind=RULE)` actor, so they are checked, logged and undoable like a
person's; platform actions (hide, delete, ban, reply) are offered only where
the channel's connector can do them, and limited per channel and hour.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import regex
from django.db import transaction
from django.db.models import Count, Min

from cercle.connectors.base import ActionKind, Capability
from cercle.connectors.models import Channel
from cercle.connectors.registry import UnknownPlatform, connector_class
from cercle.core import clock
from cercle.inbox.actions import (
    ActionRefused,
    do_assign_conversation,
    do_change_status,
    do_moderate_message,
    do_reply,
    do_set_priority,
    do_tag_conversation,
)
from cercle.inbox.choices import Direction, Status
from cercle.inbox.models import Conversation, Message
from cercle.inbox.segments import persona_ids, personas_of
from cercle.replies.actions import do_submit_reply
from cercle.replies.queries import fill, saved_reply_by_reference
from cercle.workspaces.actors import Automation, actor_fields
from cercle.workspaces.choices import AutomationKind, Verb
from cercle.workspaces.models import Activity, Member

from .choices import ConditionField, RuleAction, RuleMode
from .models import Rule, Suggestion

logger = logging.getLogger(__name__)

# A user's regular expression gets this long on one message, then counts as no match.
REGEX_TIMEOUT = 0.05
# Rules read at most this much of a message.
MAX_TEXT = 5000
PLATFORM_ACTIONS = {
    RuleAction.HIDE: ActionKind.HIDE,
    RuleAction.DELETE: ActionKind.DELETE,
    RuleAction.BAN: ActionKind.BAN,
}


@dataclass
class Facts:
    """What the conditions need beyond a message, loaded once per batch."""

    platform_of: dict[int, str] = field(default_factory=dict)
    first_time: set[int] = field(default_factory=set)  # message ids
    hidden_count: Counter[int] = field(default_factory=Counter)  # identity id → hidden messages
    status_of: dict[int, str] = field(default_factory=dict)
    contact_of: dict[int, int] = field(default_factory=dict)  # conversation id → contact id
    # The personas of the batch's contacts, read on the first persona condition (inbox.segments).
    personas: dict[int, frozenset[int]] | None = None
    persona_refs: dict[tuple[str, ...], frozenset[int]] = field(default_factory=dict)

    def personas_of(self, message: Message) -> frozenset[int]:
        if self.personas is None:
            self.personas = personas_of(message.workspace_id, set(self.contact_of.values()))
        return self.personas.get(self.contact_of.get(message.conversation_id, 0), frozenset())


def load_facts(messages: Sequence[Message]) -> Facts:
    facts = Facts()
    facts.platform_of = dict(
        Channel.objects.filter(pk__in={m.channel_id for m in messages}).values_list(
            "pk", "platform"
        )
    )
    identities = {m.author_identity_id for m in messages if m.author_identity_id}
    if identities:
        earliest = dict(
            Message.objects.filter(author_identity_id__in=identities, direction=Direction.INBOUND)
            .values("author_identity_id")
            .annotate(first=Min("id"))
            .values_list("author_identity_id", "first")
        )
        facts.first_time = {
            m.pk
            for m in messages
            if m.author_identity_id and earliest.get(m.author_identity_id) == 1
        }
        facts.hidden_count.update(
            dict(
                Message.objects.filter(author_identity_id__in=identities, is_hidden=True)
                .values("author_identity_id")
                .annotate(n=Count("id"))
                .values_list("author_identity_id", "n")
            )
        )
    for pk, status, contact_id in Conversation.objects.filter(
        pk__in={m.conversation_id for m in messages}
    ).values_list("pk", "status", "contact_id"):
        facts.status_of[pk] = status
        if contact_id is not None:
            facts.contact_of[pk] = contact_id
    return facts


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if value not in (None, "") else []


def _text_contains(value: Any, message: Message, facts: Facts) -> bool:
    folded = (message.text or "")[:MAX_TEXT].casefold()
    return any(word.casefold() in folded for word in _as_list(value) if word)


def _text_matches(value: Any, message: Message, facts: Facts) -> bool:
    text = (message.text or "")[:MAX_TEXT]
    try:
        found = regex.search(str(value), text, flags=regex.IGNORECASE, timeout=REGEX_TIMEOUT)
    except (regex.error, TimeoutError):
        return False
    return found is not None


def _number(value: Any) -> float | None:
    """A condition's number; None for what is not one (a rule saved before the check)."""
    try:
        number = float(value or 0) if isinstance(value, int | float | str | None) else math.nan
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _author_hidden_at_least(value: Any, message: Message, facts: Facts) -> bool:
    identity, least = message.author_identity_id, _number(value)
    return identity is not None and least is not None and facts.hidden_count[identity] >= least


def _toxicity_at_least(value: Any, message: Message, facts: Facts) -> bool:
    least = _number(value)
    return message.toxicity is not None and least is not None and message.toxicity >= least


def _in_persona(value: Any, message: Message, facts: Facts) -> bool:
    references = tuple(_as_list(value))
    if references not in facts.persona_refs:
        facts.persona_refs[references] = persona_ids(message.workspace_id, references)
    wanted = facts.persona_refs[references]
    return bool(wanted) and bool(wanted & facts.personas_of(message))


Check = Callable[[Any, Message, Facts], bool]
# One check per condition field: (the condition's value, the message, the batch's facts) → holds.
CHECKS: dict[str, Check] = {
    ConditionField.CHANNEL: lambda v, m, f: str(m.channel_id) in _as_list(v),
    ConditionField.PLATFORM: lambda v, m, f: f.platform_of.get(m.channel_id, "") in _as_list(v),
    ConditionField.KIND: lambda v, m, f: m.kind in _as_list(v),
    ConditionField.LANGUAGE: lambda v, m, f: m.language in _as_list(v),
    ConditionField.TEXT_CONTAINS: _text_contains,
    ConditionField.TEXT_MATCHES: _text_matches,
    ConditionField.SENTIMENT: lambda v, m, f: m.sentiment in _as_list(v),
    ConditionField.INTENT: lambda v, m, f: m.intent in _as_list(v),
    ConditionField.TOXICITY_AT_LEAST: _toxicity_at_least,
    ConditionField.FIRST_TIME_AUTHOR: lambda v, m, f: (m.pk in f.first_time) == bool(v),
    ConditionField.AUTHOR_HIDDEN_AT_LEAST: _author_hidden_at_least,
    ConditionField.CONVERSATION_STATUS: lambda v, m, f: (
        f.status_of.get(m.conversation_id, "") in _as_list(v)
    ),
    ConditionField.PERSONA: _in_persona,
}


def holds(condition: dict[str, Any], message: Message, facts: Facts) -> bool:
    """Whether one condition holds for `message` (unknown fields never hold)."""
    check = CHECKS.get(str(condition.get("field")))
    return check is not None and check(condition.get("value"), message, facts)


def fires(rule: Rule, message: Message, facts: Facts) -> bool:
    """All conditions hold (a rule without conditions never fires: it would act on everything)."""
    return bool(rule.conditions) and all(holds(c, message, facts) for c in rule.conditions)


def validate_pattern(pattern: str) -> str | None:
    """The error of a regular expression, or None when it compiles."""
    try:
        regex.compile(pattern)
    except regex.error as exc:
        return str(exc)
    return None


# --- acting -----------------------------------------------------------------------------


def rule_actor(rule: Rule) -> Automation:
    return Automation(
        workspace_id=rule.workspace_id, kind=AutomationKind.RULE, name=rule.name, object_id=rule.pk
    )


def _capabilities(channel: Channel) -> frozenset[Capability]:
    try:
        return connector_class(channel.platform).capabilities
    except UnknownPlatform:
        return frozenset()


def _over_limit(rule: Rule, channel_id: int) -> bool:
    """The channel already took `hourly_limit` automated platform actions of rules this hour."""
    since = clock.now() - timedelta(hours=1)
    done = Activity.objects.filter(
        channel_id=channel_id,
        automation=AutomationKind.RULE,
        verb__in=[Verb.MODERATION_REQUESTED, Verb.REPLIED],
        created_at__gte=since,
    ).count()
    return done >= rule.hourly_limit


def _platform_action(
    rule: Rule, actor: Automation, conversation: Conversation, message: Message, kind: str
) -> bool:
    platform_kind = PLATFORM_ACTIONS[RuleAction(kind)]
    if Capability(str(platform_kind)) not in _capabilities(conversation.channel):
        return False
    if _over_limit(rule, conversation.channel_id):
        logger.info("rule %s: hourly limit reached on channel %s", rule.pk, conversation.channel_id)
        return False
    do_moderate_message(actor, message, platform_kind)
    return True


def _assign(rule: Rule, actor: Automation, conversation: Conversation, value: Any) -> bool:
    member = Member.objects.filter(pk=value, workspace_id=rule.workspace_id, is_active=True).first()
    if member is None:
        return False
    do_assign_conversation(actor, conversation, member)
    return True


def _reply(
    rule: Rule, actor: Automation, conversation: Conversation, action: dict[str, Any]
) -> bool:
    if not action.get("value") or _over_limit(rule, conversation.channel_id):
        return False
    do_reply(actor, conversation, str(action["value"]), private=bool(action.get("private")))
    return True


def _saved_reply(
    rule: Rule, actor: Automation, conversation: Conversation, action: dict[str, Any]
) -> bool:
    """Answer with a saved reply, filled for the conversation in its language.

    Public where the platform can, else privately where it can (a private
    reply to the comment); `"private": true` in the action asks for private.
    """
    saved = saved_reply_by_reference(rule.workspace_id, str(action.get("value", "")))
    if saved is None or _over_limit(rule, conversation.channel_id):
        return False
    filled = fill(saved, conversation, actor)
    if filled is None:
        return False
    capabilities = _capabilities(conversation.channel)
    private = bool(action.get("private")) and Capability.PRIVATE_REPLY in capabilities
    if Capability.REPLY not in capabilities and Capability.PRIVATE_REPLY in capabilities:
        private = True
    do_submit_reply(actor, conversation, filled.text, private=private, saved_reply_ids=[saved.pk])
    return True


def _act(
    rule: Rule,
    actor: Automation,
    conversation: Conversation,
    message: Message,
    action: dict[str, Any],
) -> bool:
    """Do one action; whether it was done."""
    kind, value = str(action.get("type")), action.get("value")
    if kind in PLATFORM_ACTIONS:
        return _platform_action(rule, actor, conversation, message, kind)
    if kind == RuleAction.ASSIGN:
        return _assign(rule, actor, conversation, value)
    if kind == RuleAction.REPLY:
        return _reply(rule, actor, conversation, action)
    if kind == RuleAction.SAVED_REPLY:
        return _saved_reply(rule, actor, conversation, action)
    if kind == RuleAction.TAG and value:
        do_tag_conversation(actor, conversation, str(value))
    elif kind == RuleAction.PRIORITY:
        do_set_priority(actor, conversation, int(value or 0), reason="rule")
    elif kind == RuleAction.STATUS and value:
        do_change_status(actor, conversation, str(value))
    elif kind == RuleAction.MARK_SPAM:
        do_tag_conversation(actor, conversation, "spam")
        do_change_status(actor, conversation, Status.CLOSED)
    else:
        return False
    return True


def perform(rule: Rule, message: Message) -> list[str]:
    """Do the rule's actions on `message`; the names of those done (refused ones are skipped)."""
    actor = rule_actor(rule)
    conversation = Conversation.objects.select_related("channel").get(pk=message.conversation_id)
    done: list[str] = []
    for action in rule.actions:
        try:
            if _act(rule, actor, conversation, message, action):
                done.append(str(action.get("type")))
        except ActionRefused:
            continue
    return done


def log_fired(rule: Rule, message: Message, done: list[str], mode: str) -> None:
    Activity.objects.create(
        workspace_id=rule.workspace_id,
        conversation_id=message.conversation_id,
        message=message,
        channel_id=message.channel_id,
        verb=Verb.RULE_FIRED,
        data={
            "rule": rule.pk,
            "rule_name": rule.name,
            "mode": mode,
            "actions": done,
            "house_rule": rule.house_rule.number if rule.house_rule else None,
        },
        created_at=clock.now(),
        **actor_fields(rule_actor(rule)),
    )


def _already(rules: Iterable[Rule], messages: Sequence[Message]) -> set[tuple[int, int]]:
    """(rule id, message id) pairs that already fired or were suggested."""
    ids = [m.pk for m in messages]
    fired = {
        (int(data.get("rule", 0)), message_id)
        for message_id, data in Activity.objects.filter(
            message_id__in=ids, verb=Verb.RULE_FIRED
        ).values_list("message_id", "data")
    }
    suggested = set(
        Suggestion.objects.filter(message_id__in=ids, rule__in=list(rules)).values_list(
            "rule_id", "message_id"
        )
    )
    return fired | suggested


def run_rules(messages: Sequence[Message]) -> int:
    """Evaluate the workspaces' live and suggest-only rules on inbound messages; how many fired."""
    inbound = [
        m for m in messages if m.direction == Direction.INBOUND and m.pk and not m.deleted_at
    ]
    if not inbound:
        return 0
    rules = list(
        Rule.objects.filter(
            workspace_id__in={m.workspace_id for m in inbound},
            mode__in=[RuleMode.LIVE, RuleMode.SUGGEST],
        ).select_related("house_rule")
    )
    if not rules:
        return 0
    facts = load_facts(inbound)
    done_before = _already(rules, inbound)
    fired = 0
    for message in inbound:
        for rule in rules:
            if rule.workspace_id != message.workspace_id or (rule.pk, message.pk) in done_before:
                continue
            if not fires(rule, message, facts):
                continue
            with transaction.atomic():
                if rule.mode == RuleMode.LIVE:
                    log_fired(rule, message, perform(rule, message), RuleMode.LIVE)
                else:
                    Suggestion.objects.get_or_create(
                        rule=rule,
                        message=message,
                        defaults={
                            "workspace_id": rule.workspace_id,
                            "conversation_id": message.conversation_id,
                        },
                    )
                    log_fired(rule, message, [], RuleMode.SUGGEST)
            fired += 1
            if rule.stop:
                break
    return fired


def apply_rules(messages: Sequence[Message]) -> None:
    """The pipeline's rules stage (see module docstring)."""
    run_rules(messages)
