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
from datetime import datetime, timedelta
from typing import Any

import regex
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils.translation import gettext_lazy as _

from cercle.connectors.base import ActionKind, Capability
from cercle.connectors.models import Channel
from cercle.connectors.registry import UnknownPlatform, connector_class
from cercle.core import clock
from cercle.inbox.actions import (
    ActionRefused,
    do_assign_conversation,
    do_assign_team,
    do_change_status,
    do_moderate_message,
    do_reply,
    do_set_priority,
    do_tag_conversation,
)
from cercle.inbox.choices import Direction, Status
from cercle.inbox.models import Conversation, Identity, Message
from cercle.inbox.segments import persona_ids, personas_of
from cercle.replies.actions import do_submit_reply
from cercle.replies.queries import fill, saved_reply_by_reference
from cercle.workspaces.actors import Automation, actor_fields
from cercle.workspaces.choices import AutomationKind, Role, Verb
from cercle.workspaces.models import Activity, Member, Team

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
    RuleAction.UNHIDE: ActionKind.UNHIDE,
}
# What a channel's connector must be able to do for each action (any one of them);
# actions not listed need nothing of the platform.
NEEDS: dict[str, frozenset[Capability]] = {
    RuleAction.HIDE: frozenset({Capability.HIDE}),
    RuleAction.UNHIDE: frozenset({Capability.UNHIDE}),
    RuleAction.DELETE: frozenset({Capability.DELETE}),
    RuleAction.BAN: frozenset({Capability.BAN}),
    RuleAction.REPLY: frozenset({Capability.REPLY, Capability.PRIVATE_REPLY}),
    RuleAction.SAVED_REPLY: frozenset({Capability.REPLY, Capability.PRIVATE_REPLY}),
}


class Skip:
    """Why an action of a rule that fired was not done (kept in the rule's Activity)."""

    NOT_ON_CHANNEL = "not_on_channel"  # the channel's connector cannot do it
    HOURLY_LIMIT = "hourly_limit"  # the channel took its automated platform actions this hour
    NOT_FOUND = "not_found"  # the member, team or saved reply named is gone
    REFUSED = "refused"  # the action refused it (e.g. the message is not on the platform)
    EMPTY = "empty"  # the action has no value to act with


SKIP_LABELS = {
    Skip.NOT_ON_CHANNEL: _("the channel's platform does not allow it"),
    Skip.HOURLY_LIMIT: _("the channel's hourly limit of automated actions was reached"),
    Skip.NOT_FOUND: _("what it names no longer exists"),
    Skip.REFUSED: _("refused for this message"),
    Skip.EMPTY: _("nothing to do it with"),
}


def describe_skipped(skipped: Any) -> str:
    """The actions of a rule's Activity that were not done, and why, in the team's words."""
    if not isinstance(skipped, list):
        return ""
    parts = []
    for entry in skipped:
        if not isinstance(entry, dict):
            continue
        action, reason = str(entry.get("action", "")), str(entry.get("reason", ""))
        label = RuleAction(action).label if action in RuleAction.values else action
        parts.append(f"{label} ({SKIP_LABELS.get(reason, reason)})")
    return "; ".join(parts)


@dataclass
class Performed:
    """What `perform` did: the actions done, and the ones skipped with the reason."""

    done: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    # Told through the rule's Activity: the notifications app's fan-out reads `notify`
    # (member ids) and its webhook drain `webhooks` (endpoint ids).
    notify: set[int] = field(default_factory=set)
    webhooks: set[int] = field(default_factory=set)


# Whether a workspace's business hours are open at an (aware) time.
OpenAt = Callable[[datetime], bool]
# The workspace's business hours live in the workflow app, which this one may not import:
# the pipeline wires its reader in (cercle/pipeline/apps.py). workspace id → OpenAt or None.
_business_hours: Callable[[int], OpenAt | None] | None = None


def set_business_hours(reader: Callable[[int], OpenAt | None]) -> None:
    global _business_hours  # set once, when the apps are ready
    _business_hours = reader


# The workspace's active outgoing webhooks (notifications app, wired in by the pipeline too):
# workspace id → {endpoint id: name}.
_webhook_endpoints: Callable[[int], dict[int, str]] | None = None


def set_webhook_endpoints(reader: Callable[[int], dict[int, str]]) -> None:
    global _webhook_endpoints  # set once, when the apps are ready
    _webhook_endpoints = reader


@dataclass
class Facts:
    """What the conditions need beyond a message, loaded once per batch."""

    platform_of: dict[int, str] = field(default_factory=dict)
    first_time: set[int] = field(default_factory=set)  # message ids
    hidden_count: Counter[int] = field(default_factory=Counter)  # identity id → hidden messages
    status_of: dict[int, str] = field(default_factory=dict)
    contact_of: dict[int, int] = field(default_factory=dict)  # conversation id → contact id
    # conversation id → (post id, its id on the platform, its link, its text)
    post_of: dict[int, tuple[int, str, str, str]] = field(default_factory=dict)
    followers: dict[int, int] = field(default_factory=dict)  # identity id → followers, where known
    # workspace id → whether its business hours are open at a time (None: it has none).
    open_at: dict[int, OpenAt | None] = field(default_factory=dict)
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
            if m.author_identity_id and earliest.get(m.author_identity_id) == m.pk
        }
        facts.hidden_count.update(
            dict(
                Message.objects.filter(author_identity_id__in=identities, is_hidden=True)
                .values("author_identity_id")
                .annotate(n=Count("id"))
                .values_list("author_identity_id", "n")
            )
        )
        facts.followers = {
            pk: count
            for pk, count in Identity.objects.filter(
                pk__in=identities, followers__isnull=False
            ).values_list("pk", "followers")
            if count is not None
        }
    rows = Conversation.objects.filter(pk__in={m.conversation_id for m in messages}).values_list(
        "pk", "status", "contact_id", "post_id", "post__external_id", "post__url", "post__text"
    )
    for pk, status, contact_id, post_id, post_external, post_url, post_text in rows:
        facts.status_of[pk] = status
        if contact_id is not None:
            facts.contact_of[pk] = contact_id
        if post_id is not None:
            facts.post_of[pk] = (post_id, post_external, post_url, (post_text or "")[:MAX_TEXT])
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


Check = Callable[[Any, Message, Facts], bool]


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


def _score_at_least(label_field: str, score_field: str) -> Check:
    """A check that the message's label is the one wanted, with at least the score wanted."""

    def check(value: Any, message: Message, facts: Facts) -> bool:
        wanted = value if isinstance(value, dict) else {}
        least = _number(wanted.get("at_least"))
        score = getattr(message, score_field)
        return (
            least is not None
            and score is not None
            and getattr(message, label_field) == str(wanted.get("label", ""))
            and score >= least
        )

    return check


def _same_link(a: str, b: str) -> bool:
    return bool(a) and bool(b) and a.rstrip("/").casefold() == b.rstrip("/").casefold()


def _under_post(value: Any, message: Message, facts: Facts) -> bool:
    post = facts.post_of.get(message.conversation_id)
    if post is None:
        return False
    post_id, external_id, url, _text = post
    return any(
        ref == str(post_id) or (external_id and ref == external_id) or _same_link(ref, url)
        for ref in _as_list(value)
    )


def _post_text_contains(value: Any, message: Message, facts: Facts) -> bool:
    post = facts.post_of.get(message.conversation_id)
    folded = post[3].casefold() if post else ""
    return bool(folded) and any(word.casefold() in folded for word in _as_list(value) if word)


def _author_followers_at_least(value: Any, message: Message, facts: Facts) -> bool:
    identity, least = message.author_identity_id, _number(value)
    if identity is None or least is None or identity not in facts.followers:
        return False  # an unknown count never matches
    return facts.followers[identity] >= least


def _in_business_hours(value: Any, message: Message, facts: Facts) -> bool:
    """Inside (value true) or outside (false) the workspace's business hours; none: never holds."""
    workspace = message.workspace_id
    if workspace not in facts.open_at:
        facts.open_at[workspace] = _business_hours(workspace) if _business_hours else None
    open_at = facts.open_at[workspace]
    if open_at is None:
        return False
    return open_at(message.sent_at or message.created_at or clock.now()) == _yes(value)


def _yes(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in {"", "no", "non", "false", "0", "outside", "dehors"}
    return bool(value)


def _in_persona(value: Any, message: Message, facts: Facts) -> bool:
    references = tuple(_as_list(value))
    if references not in facts.persona_refs:
        facts.persona_refs[references] = persona_ids(message.workspace_id, references)
    wanted = facts.persona_refs[references]
    return bool(wanted) and bool(wanted & facts.personas_of(message))


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
    ConditionField.SENTIMENT_SCORE: _score_at_least("sentiment", "sentiment_score"),
    ConditionField.INTENT_SCORE: _score_at_least("intent", "intent_score"),
    ConditionField.POST: _under_post,
    ConditionField.POST_TEXT_CONTAINS: _post_text_contains,
    ConditionField.AUTHOR_FOLLOWERS_AT_LEAST: _author_followers_at_least,
    ConditionField.IN_BUSINESS_HOURS: _in_business_hours,
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


def missing_capability(kind: str, capabilities: frozenset[Capability]) -> bool:
    """The action needs the platform and a connector with `capabilities` cannot do it."""
    needed = NEEDS.get(kind)
    return needed is not None and not (needed & capabilities)


def rule_channels(workspace_id: int, conditions: Iterable[dict[str, Any]]) -> list[Channel]:
    """The workspace's channels a rule can fire on, as its channel and platform conditions say."""
    channels = Channel.objects.filter(workspace_id=workspace_id)
    for condition in conditions:
        values = _as_list(condition.get("value"))
        if condition.get("field") == ConditionField.CHANNEL:
            channels = channels.filter(pk__in=[v for v in values if v.isdigit()])
        elif condition.get("field") == ConditionField.PLATFORM:
            channels = channels.filter(platform__in=values)
    return list(channels.order_by("pk"))


def unavailable_actions(channels: Sequence[Channel]) -> set[str]:
    """The actions none of `channels` can do (a rule on several: offered if one of them can).

    Without any channel (none connected yet) nothing is known, so nothing is refused:
    the actions are skipped at run time where the channel cannot do them.
    """
    if not channels:
        return set()
    capabilities = [_capabilities(channel) for channel in channels]
    return {
        kind
        for kind in NEEDS
        if not any(not missing_capability(kind, found) for found in capabilities)
    }


def _platform_action(
    rule: Rule, actor: Automation, conversation: Conversation, message: Message, kind: str
) -> str:
    if _over_limit(rule, conversation.channel_id):
        logger.info("rule %s: hourly limit reached on channel %s", rule.pk, conversation.channel_id)
        return Skip.HOURLY_LIMIT
    # The house rule the rule enforces is cited on the action too, so the contact's history
    # shows it whoever hid: a person or a rule.
    house_rule = rule.house_rule.number if rule.house_rule is not None else None
    do_moderate_message(actor, message, PLATFORM_ACTIONS[RuleAction(kind)], house_rule=house_rule)
    return ""


def _assign(rule: Rule, actor: Automation, conversation: Conversation, value: Any) -> str:
    member = Member.objects.filter(pk=value, workspace_id=rule.workspace_id, is_active=True).first()
    if member is None:
        return Skip.NOT_FOUND
    do_assign_conversation(actor, conversation, member)
    return ""


def team_by_reference(workspace_id: int, reference: str) -> Team | None:
    """The workspace's team of that number or name (None when there is none)."""
    reference = reference.strip()
    teams = Team.objects.filter(workspace_id=workspace_id)
    if reference.isdigit():
        found = teams.filter(pk=int(reference)).first()
        if found is not None:
            return found
    return teams.filter(name__iexact=reference).first() if reference else None


def _assign_team(rule: Rule, actor: Automation, conversation: Conversation, value: Any) -> str:
    team = team_by_reference(rule.workspace_id, str(value or ""))
    if team is None:
        return Skip.NOT_FOUND
    do_assign_team(actor, conversation, team)
    return ""


def members_to_notify(workspace_id: int, value: Any) -> set[int]:
    """The active members a notify action names: by number, username or role."""
    references = [v.strip() for v in _as_list(value) for v in v.split(",") if v.strip()]
    roles = [r.lower() for r in references if r.lower() in Role.values]
    numbers = [int(r) for r in references if r.isdigit()]
    names = [r for r in references if not r.isdigit() and r.lower() not in Role.values]
    members = Member.objects.filter(workspace_id=workspace_id, is_active=True)
    return set(
        members.filter(
            Q(role__in=roles) | Q(pk__in=numbers) | Q(user__username__in=names)
        ).values_list("pk", flat=True)
    )


def _notify(rule: Rule, performed: Performed, value: Any) -> str:
    members = members_to_notify(rule.workspace_id, value)
    if not members:
        return Skip.NOT_FOUND
    performed.notify |= members
    return ""


def webhook_by_reference(workspace_id: int, reference: str) -> int | None:
    """The workspace's active outgoing webhook of that number or name."""
    endpoints = _webhook_endpoints(workspace_id) if _webhook_endpoints else {}
    reference = reference.strip()
    if reference.isdigit() and int(reference) in endpoints:
        return int(reference)
    return next(
        (pk for pk, name in endpoints.items() if name.casefold() == reference.casefold()), None
    )


def _webhook(rule: Rule, performed: Performed, value: Any) -> str:
    endpoint = webhook_by_reference(rule.workspace_id, str(value or ""))
    if endpoint is None:
        return Skip.NOT_FOUND
    performed.webhooks.add(endpoint)
    return ""


def _reply(
    rule: Rule, actor: Automation, conversation: Conversation, action: dict[str, Any]
) -> str:
    if not action.get("value"):
        return Skip.EMPTY
    if _over_limit(rule, conversation.channel_id):
        return Skip.HOURLY_LIMIT
    do_reply(actor, conversation, str(action["value"]), private=bool(action.get("private")))
    return ""


def _saved_reply(
    rule: Rule, actor: Automation, conversation: Conversation, action: dict[str, Any]
) -> str:
    """Answer with a saved reply, filled for the conversation in its language.

    Public where the platform can, else privately where it can (a private
    reply to the comment); `"private": true` in the action asks for private.
    """
    saved = saved_reply_by_reference(rule.workspace_id, str(action.get("value", "")))
    if saved is None:
        return Skip.NOT_FOUND
    if _over_limit(rule, conversation.channel_id):
        return Skip.HOURLY_LIMIT
    filled = fill(saved, conversation, actor)
    if filled is None:
        return Skip.NOT_FOUND
    capabilities = _capabilities(conversation.channel)
    private = bool(action.get("private")) and Capability.PRIVATE_REPLY in capabilities
    if Capability.REPLY not in capabilities and Capability.PRIVATE_REPLY in capabilities:
        private = True
    do_submit_reply(actor, conversation, filled.text, private=private, saved_reply_ids=[saved.pk])
    return ""


def _act(
    rule: Rule,
    actor: Automation,
    conversation: Conversation,
    message: Message,
    action: dict[str, Any],
    performed: Performed,
) -> str:
    """Do one action: "" when done, else why it was skipped (a `Skip` value)."""
    kind, value = str(action.get("type")), action.get("value")
    if missing_capability(kind, _capabilities(conversation.channel)):
        return Skip.NOT_ON_CHANNEL
    if kind == RuleAction.NOTIFY:
        return _notify(rule, performed, value)
    if kind == RuleAction.WEBHOOK:
        return _webhook(rule, performed, value)
    if kind in PLATFORM_ACTIONS:
        return _platform_action(rule, actor, conversation, message, kind)
    if kind == RuleAction.ASSIGN:
        return _assign(rule, actor, conversation, value)
    if kind == RuleAction.ASSIGN_TEAM:
        return _assign_team(rule, actor, conversation, value)
    if kind == RuleAction.REPLY:
        return _reply(rule, actor, conversation, action)
    if kind == RuleAction.SAVED_REPLY:
        return _saved_reply(rule, actor, conversation, action)
    return _conversation_action(actor, conversation, kind, value)


def _conversation_action(
    actor: Automation, conversation: Conversation, kind: str, value: Any
) -> str:
    """The actions on the conversation alone (tag, priority, status, spam)."""
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
        return Skip.EMPTY
    return ""


def perform(rule: Rule, message: Message) -> Performed:
    """Do the rule's actions on `message`: those done, and those skipped with the reason."""
    actor = rule_actor(rule)
    conversation = Conversation.objects.select_related("channel").get(pk=message.conversation_id)
    performed = Performed()
    for action in rule.actions:
        kind = str(action.get("type"))
        try:
            reason = _act(rule, actor, conversation, message, action, performed)
        except ActionRefused:
            reason = Skip.REFUSED
        if reason:
            performed.skipped.append({"action": kind, "reason": reason})
        else:
            performed.done.append(kind)
    return performed


def log_fired(rule: Rule, message: Message, performed: Performed | None, mode: str) -> None:
    done = performed or Performed()
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
            "actions": done.done,
            "skipped": done.skipped,
            "notify": sorted(done.notify),
            "webhooks": sorted(done.webhooks),
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
                    log_fired(rule, message, None, RuleMode.SUGGEST)
            fired += 1
            if rule.stop:
                break
    return fired


def apply_rules(messages: Sequence[Message]) -> None:
    """The pipeline's rules stage (see module docstring)."""
    run_rules(messages)
