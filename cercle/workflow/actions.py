"""Writes of the workflow app: business hours, holidays, SLA policies, and SLA escalation.

Escalation acts on conversations through the inbox's actions with an
`Automation(kind=SLA_POLICY)` actor, so a breach leaves the same audit trail as
a person raising a priority or reassigning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction

from cercle.core import clock
from cercle.inbox.actions import do_assign_conversation, do_set_priority
from cercle.inbox.choices import ACTIVE_STATUSES, Priority
from cercle.inbox.models import Conversation
from cercle.workspaces.actors import Actor, Automation, actor_fields, require
from cercle.workspaces.choices import AutomationKind, Permission, Verb
from cercle.workspaces.models import Activity, Workspace

from .models import BusinessHours, Holiday, SlaPolicy
from .routing import DEFAULT_TARGET, Target, active_policies, target_for

# How many conversations one escalation pass looks at (the next pass takes the rest).
ESCALATION_BATCH = 500
DEFAULT_AT_RISK_MINUTES = 15


def _log_settings(workspace: Workspace, actor: Actor, what: str, **data: Any) -> None:
    Activity.objects.create(
        workspace=workspace,
        verb=Verb.WORKSPACE_CHANGED,
        data={"setting": what, **data},
        created_at=clock.now(),
        **actor_fields(actor),
    )


def do_save_business_hours(
    actor: Actor,
    workspace: Workspace,
    *,
    name: str,
    time_zone: str,
    weekly: dict[str, list[list[str]]],
    holidays: list[tuple[date, str]],
    hours: BusinessHours | None = None,
) -> BusinessHours:
    """Create or change a schedule and replace its holidays (validated before anything is written)."""
    require(actor, Permission.MANAGE_WORKFLOW, workspace.pk)
    if hours is not None and hours.workspace_id != workspace.pk:
        raise BusinessHours.DoesNotExist
    schedule = hours or BusinessHours(workspace=workspace)
    schedule.name, schedule.time_zone, schedule.weekly = name[:120], time_zone, weekly
    schedule.full_clean(exclude=["workspace"])
    with transaction.atomic():
        schedule.save()
        schedule.holidays.all().delete()
        Holiday.objects.bulk_create(
            [
                Holiday(business_hours=schedule, day=day, name=label[:120])
                for day, label in holidays
            ],
            ignore_conflicts=True,
        )
        _log_settings(workspace, actor, "business_hours", id=schedule.pk, name=schedule.name)
    return schedule


def do_save_sla_policy(actor: Actor, workspace: Workspace, policy: SlaPolicy) -> SlaPolicy:
    """Create or change an SLA policy (built by a form); its references must be of the workspace."""
    require(actor, Permission.MANAGE_WORKFLOW, workspace.pk)
    policy.workspace = workspace
    for related in (policy.channel, policy.business_hours, policy.reassign_to):
        if related is not None and related.workspace_id != workspace.pk:
            raise SlaPolicy.DoesNotExist
    policy.full_clean()
    with transaction.atomic():
        policy.save()
        _log_settings(workspace, actor, "sla_policy", id=policy.pk, name=policy.name)
    return policy


def do_delete_sla_policy(actor: Actor, policy: SlaPolicy) -> None:
    require(actor, Permission.MANAGE_WORKFLOW, policy.workspace_id)
    with transaction.atomic():
        _log_settings(policy.workspace, actor, "sla_policy_deleted", id=policy.pk, name=policy.name)
        policy.delete()


@dataclass
class EscalationReport:
    """What one pass did."""

    at_risk: int = 0
    breached: int = 0


def _sla_actor(conversation: Conversation, target: Target, name: str) -> Automation:
    return Automation(
        workspace_id=conversation.workspace_id,
        kind=AutomationKind.SLA_POLICY,
        name=name,
        object_id=target.policy_id,
    )


def do_escalate_due(now: datetime | None = None) -> EscalationReport:
    """Warn about conversations whose response is due soon, and escalate the overdue ones.

    Each due time is warned about and escalated once (the Activity log says
    which were); timers live in the database, so they survive restarts.
    """
    now = now or clock.now()
    report = EscalationReport()
    lead = timedelta(minutes=max(DEFAULT_AT_RISK_MINUTES, _longest_lead()))
    candidates = list(
        Conversation.objects.filter(
            status__in=ACTIVE_STATUSES,
            waiting_since__isnull=False,
            sla_due_at__lte=now + lead,
        )
        .order_by("sla_due_at")
        .select_related("workspace")[:ESCALATION_BATCH]
    )
    if not candidates:
        return report
    done = set(
        (conversation_id, verb, str(data.get("due_at")))
        for conversation_id, verb, data in Activity.objects.filter(
            conversation_id__in=[c.pk for c in candidates],
            verb__in=[Verb.SLA_AT_RISK, Verb.SLA_BREACHED],
        ).values_list("conversation_id", "verb", "data")
    )
    policies = active_policies(c.workspace_id for c in candidates)
    names = {p.pk: p.name for ps in policies.values() for p in ps}
    for conversation in candidates:
        assert conversation.sla_due_at is not None
        workspace_policies = policies.get(conversation.workspace_id)
        target = (
            target_for(workspace_policies, conversation) if workspace_policies else DEFAULT_TARGET
        )
        target = target or DEFAULT_TARGET
        policy = next((p for p in workspace_policies or [] if p.pk == target.policy_id), None)
        due = conversation.sla_due_at.isoformat()
        actor = _sla_actor(conversation, target, names.get(target.policy_id or 0, ""))
        if conversation.sla_due_at <= now:
            if (conversation.pk, Verb.SLA_BREACHED, due) in done:
                continue
            _breach(conversation, policy, actor, due)
            report.breached += 1
            continue
        at_risk = timedelta(minutes=policy.at_risk_minutes if policy else DEFAULT_AT_RISK_MINUTES)
        if conversation.sla_due_at - at_risk <= now and (
            (conversation.pk, Verb.SLA_AT_RISK, due) not in done
        ):
            _log_sla(conversation, Verb.SLA_AT_RISK, actor, due)
            report.at_risk += 1
    return report


def _longest_lead() -> int:
    leads = SlaPolicy.objects.filter(is_active=True).values_list("at_risk_minutes", flat=True)
    return max(leads, default=0)


def _log_sla(conversation: Conversation, verb: str, actor: Automation, due: str) -> None:
    Activity.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        channel_id=conversation.channel_id,
        verb=verb,
        data={"due_at": due},
        created_at=clock.now(),
        **actor_fields(actor),
    )


def _breach(
    conversation: Conversation, policy: SlaPolicy | None, actor: Automation, due: str
) -> None:
    """Log the breach, then raise the priority and reassign as the policy says."""
    with transaction.atomic():
        _log_sla(conversation, Verb.SLA_BREACHED, actor, due)
        if (policy is None or policy.raise_priority) and conversation.priority < Priority.URGENT:
            do_set_priority(actor, conversation, conversation.priority + 1, reason="sla_breached")
        if (
            policy is not None
            and policy.reassign_to is not None
            and policy.reassign_to.is_active  # a deactivated member receives nothing new
            and policy.reassign_to_id != conversation.assignee_id
        ):
            do_assign_conversation(actor, conversation, policy.reassign_to)
