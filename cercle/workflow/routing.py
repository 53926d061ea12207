"""The route stage of the inbound pipeline: SLA due time and priority of conversations that wait.

Registered in `workflow/apps.py` and called by `inbox.receive` on every batch,
in place, before the batch is written: one query loads the active SLA policies
of the batch's workspaces (with their business hours and holidays), then every
conversation is computed from memory. Routing is idempotent: a conversation
that already has a due time keeps it.

Without any policy, a workspace gets the default target below (for the first
and every next answer), around the clock.
Assignment (capacity, languages, skills, the backlog) is the next route stage,
`workflow/assign.py`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F

from cercle.inbox.choices import ConversationKind, Priority
from cercle.inbox.models import Conversation

from .models import BusinessHours, SlaPolicy, holiday_days
from .sla import Clock

# The first-response target of a workspace that has no SLA policy yet (minutes, around the clock).
DEFAULT_FIRST_RESPONSE_MINUTES = 60


@dataclass(frozen=True, slots=True)
class Target:
    """What a policy asks of one conversation: minutes on a clock."""

    policy_id: int | None
    minutes: int
    clock: Clock
    # Counted in business hours: a conversation's team with hours of its own uses those.
    in_business_hours: bool = False


def open_at(workspace_id: int) -> Callable[[datetime], bool] | None:
    """Whether the workspace's business hours are open at a time (None: it has none).

    Its hours are those of no team (else the first by name); the rules' "inside
    business hours" condition reads them (wired in `pipeline/apps.py`).
    """
    hours = (
        BusinessHours.objects.filter(workspace_id=workspace_id)
        .prefetch_related("holidays")
        .order_by(F("team").asc(nulls_first=True), "name", "pk")
        .first()
    )
    if hours is None:
        return None
    clock = Clock.from_schedule(hours.time_zone, hours.weekly, holiday_days(hours))
    minute = timedelta(minutes=1)
    return lambda moment: clock.working_time_between(moment, moment + minute) > timedelta(0)


def clock_of(policy: SlaPolicy) -> Clock:
    hours = policy.business_hours
    if hours is None:
        return Clock.around_the_clock()
    return Clock.from_schedule(hours.time_zone, hours.weekly, holiday_days(hours))


def matches(policy: SlaPolicy, conversation: Conversation) -> bool:
    """Whether the policy's conditions (empty: any) hold for the conversation."""
    if policy.priority is not None and conversation.priority != policy.priority:
        return False
    if policy.channel_id is not None and conversation.channel_id != policy.channel_id:
        return False
    if policy.conversation_kind and conversation.kind != policy.conversation_kind:
        return False
    # The intent is the classifiers' (moderation issue); a conversation without one matches none.
    return not policy.intent or getattr(conversation, "intent", "") == policy.intent


def target_for(policies: Iterable[SlaPolicy], conversation: Conversation) -> Target | None:
    """The first matching policy's target for what the conversation waits for (first or next answer)."""
    for policy in policies:
        if not matches(policy, conversation):
            continue
        business = policy.business_hours_id is not None
        if conversation.first_response_at is None:
            return Target(policy.pk, policy.first_response_minutes, clock_of(policy), business)
        if policy.next_response_minutes is None:
            return None
        return Target(policy.pk, policy.next_response_minutes, clock_of(policy), business)
    return None


def active_policies(workspace_ids: Iterable[int]) -> dict[int, list[SlaPolicy]]:
    """The active policies of these workspaces, in order (one query, holidays prefetched)."""
    by_workspace: dict[int, list[SlaPolicy]] = defaultdict(list)
    query = (
        SlaPolicy.objects.filter(workspace_id__in=set(workspace_ids), is_active=True)
        .select_related("business_hours")
        .prefetch_related("business_hours__holidays")
        .order_by("position", "id")
    )
    for policy in query:
        by_workspace[policy.workspace_id].append(policy)
    return by_workspace


DEFAULT_TARGET = Target(None, DEFAULT_FIRST_RESPONSE_MINUTES, Clock.around_the_clock())


def team_clocks(workspace_ids: Iterable[int]) -> dict[int, Clock]:
    """The clocks of the teams that have business hours of their own (one query)."""
    return {
        hours.team_id: Clock.from_schedule(hours.time_zone, hours.weekly, holiday_days(hours))
        for hours in BusinessHours.objects.filter(
            workspace_id__in=set(workspace_ids), team__isnull=False
        ).prefetch_related("holidays")
        if hours.team_id is not None
    }


def route_conversations(conversations: Sequence[Conversation]) -> None:
    """Set SLA due time and priority in place on conversations that now wait for an answer."""
    waiting = [c for c in conversations if c.waiting_since and c.sla_due_at is None]
    policies = active_policies(c.workspace_id for c in waiting) if waiting else {}
    teams = team_clocks(c.workspace_id for c in waiting) if any(c.team_id for c in waiting) else {}
    for conversation in waiting:
        assert conversation.waiting_since is not None
        workspace_policies = policies.get(conversation.workspace_id)
        target = (
            target_for(workspace_policies, conversation) if workspace_policies else DEFAULT_TARGET
        )
        if target is not None:
            clock = target.clock
            if target.in_business_hours and conversation.team_id in teams:
                clock = teams[conversation.team_id]
            conversation.sla_due_at = clock.add(conversation.waiting_since, target.minutes)
    for conversation in conversations:
        is_bad_review = (
            conversation.kind == ConversationKind.REVIEW
            and conversation.rating is not None
            and conversation.rating <= 2
        )
        if is_bad_review and conversation.priority < Priority.HIGH:
            conversation.priority = Priority.HIGH
