"""Writes of the workflow app: business hours, SLA policies and escalation, routing and hand-out.

Escalation acts on conversations through the inbox's actions with an
`Automation(kind=SLA_POLICY)` actor, so a breach leaves the same audit trail as
a person raising a priority or reassigning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cercle.connectors.models import Channel
from cercle.core import clock
from cercle.core.db_bulk import insert_values, update_rows
from cercle.inbox.actions import do_assign_conversation, do_set_priority
from cercle.inbox.choices import ACTIVE_STATUSES, ConversationKind, Priority
from cercle.inbox.models import Conversation
from cercle.workspaces.actions import ActionRefused
from cercle.workspaces.actors import Actor, Automation, actor_fields, require
from cercle.workspaces.choices import AutomationKind, Availability, Permission, Verb
from cercle.workspaces.models import Activity, Member, Team, Workspace

from .assign import PERSONA_KEY, PICK_FIELDS, backlog, load_routing, record_picks
from .models import (
    DEFAULT_OFF_GRACE_MINUTES,
    BusinessHours,
    ChannelRouting,
    Holiday,
    RoutingSettings,
    SlaPolicy,
)
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
    team: Team | None = None,
) -> BusinessHours:
    """Create or change a schedule and replace its holidays (validated before anything is written).

    With a `team`, these are that team's hours (one schedule per team).
    """
    require(actor, Permission.MANAGE_WORKFLOW, workspace.pk)
    if hours is not None and hours.workspace_id != workspace.pk:
        raise BusinessHours.DoesNotExist
    if team is not None and team.workspace_id != workspace.pk:
        raise Team.DoesNotExist
    schedule = hours or BusinessHours(workspace=workspace)
    if (
        team is not None
        and BusinessHours.objects.filter(team=team).exclude(pk=schedule.pk).exists()
    ):
        raise ValidationError(_("This team already has its own business hours."))
    schedule.name, schedule.time_zone, schedule.weekly = name[:120], time_zone, weekly
    schedule.team = team
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


# --- routing: settings, the hand-out drain, handing back the work of members who are off ----------

# How many backlog conversations one hand-out pass looks at per workspace (the next pass goes on).
HAND_OUT_BATCH = 500
# The largest capacity a member or a workspace default may be given.
MAX_CAPACITY = 500
# The name the timeline shows when an "off" member's work goes back to the team.
OFF_HANDBACK_NAME = "Member off"


def routing_settings_of(workspace_id: int) -> RoutingSettings:
    """The workspace's routing settings (unsaved defaults when it never set any)."""
    found = RoutingSettings.objects.filter(workspace_id=workspace_id).first()
    return found or RoutingSettings(workspace_id=workspace_id)


def _clean_skills(values: list[str]) -> list[str]:
    cleaned: list[str] = []
    for value in values:
        skill = " ".join(str(value).replace("\x00", "").split())[:40]
        if skill and skill.casefold() not in {s.casefold() for s in cleaned}:
            cleaned.append(skill)
    return cleaned[:30]


def do_save_routing_settings(
    actor: Actor,
    workspace: Workspace,
    *,
    auto_assign: bool,
    default_capacity: int,
    off_grace_minutes: int,
    kind_skills: dict[str, list[str]],
) -> RoutingSettings:
    """Turn automatic assignment on or off and set its defaults (managers, admins, owners)."""
    require(actor, Permission.MANAGE_WORKFLOW, workspace.pk)
    if not 0 <= default_capacity <= MAX_CAPACITY:
        raise ActionRefused(_("A capacity is between 0 and %(max)d.") % {"max": MAX_CAPACITY})
    if not 0 <= off_grace_minutes <= 24 * 60:
        raise ActionRefused(_("The grace period is between 0 and 1440 minutes."))
    skills = {
        kind: cleaned
        for kind, values in kind_skills.items()
        if (kind in ConversationKind.values or kind.startswith(PERSONA_KEY))
        and (cleaned := _clean_skills(values))
    }
    with transaction.atomic():
        routing, _created = RoutingSettings.objects.select_for_update().get_or_create(
            workspace=workspace
        )
        before = (
            routing.auto_assign,
            routing.default_capacity,
            routing.off_grace_minutes,
            routing.kind_skills,
        )
        after = (auto_assign, default_capacity, off_grace_minutes, skills)
        if before == after and not _created:
            return routing
        (
            routing.auto_assign,
            routing.default_capacity,
            routing.off_grace_minutes,
            routing.kind_skills,
        ) = after
        routing.changed_at = clock.now()
        routing.save()
        _log_settings(
            workspace,
            actor,
            "routing",
            auto_assign=auto_assign,
            default_capacity=default_capacity,
            off_grace_minutes=off_grace_minutes,
            kind_skills=skills,
        )
    return routing


def do_save_channel_routing(
    actor: Actor,
    channel: Channel,
    *,
    auto_assign: bool | None,
    skills: list[str],
    member_ids: list[int],
) -> ChannelRouting:
    """A channel's own routing: on, off or as the workspace; skills it needs; who may work it."""
    require(actor, Permission.MANAGE_WORKFLOW, channel.workspace_id)
    members = list(Member.objects.filter(workspace_id=channel.workspace_id, pk__in=set(member_ids)))
    if len(members) != len(set(member_ids)):
        raise PermissionDenied("member of another workspace")
    cleaned = _clean_skills(skills)
    with transaction.atomic():
        RoutingSettings.objects.get_or_create(workspace_id=channel.workspace_id)
        rule, _created = ChannelRouting.objects.select_for_update().get_or_create(
            channel=channel, defaults={"workspace_id": channel.workspace_id}
        )
        rule.auto_assign, rule.skills = auto_assign, cleaned
        rule.save()
        rule.members.set(members)
        _log_settings(
            channel.workspace,
            actor,
            "channel_routing",
            channel_id=channel.pk,
            auto_assign=auto_assign,
            skills=cleaned,
            members=sorted(m.pk for m in members),
        )
    return rule


@dataclass
class HandOutReport:
    """What one hand-out pass did."""

    handed_back: int = 0
    assigned: int = 0


def do_hand_out(now: datetime | None = None) -> HandOutReport:
    """The routing drain: hand back the unanswered work of members "off" past the grace period,
    then hand the backlog out, oldest waiting first, to whoever has room.

    Safe with several workers: each workspace is handed out under its routing
    row's lock (a workspace another worker holds is skipped, not waited for),
    and backlog rows are taken FOR UPDATE SKIP LOCKED, unassigned ones only, so
    no conversation is ever given twice.
    """
    now = now or clock.now()
    report = HandOutReport(handed_back=_hand_back_off_members(now))
    workspace_ids = sorted(
        set(backlog().order_by().values_list("workspace_id", flat=True).distinct())
    )
    for workspace_id in workspace_ids:
        report.assigned += _hand_out_workspace(workspace_id)
    return report


def _hand_out_workspace(workspace_id: int) -> int:
    with transaction.atomic():
        routing = load_routing([workspace_id], lock=True, skip_locked=True).get(workspace_id)
        if routing is None or not routing.has_room():
            return 0
        waiting = list(
            backlog([workspace_id])
            .select_for_update(skip_locked=True, of=("self",))
            .only(*PICK_FIELDS)[:HAND_OUT_BATCH]
        )
        for conversation in waiting:
            if not routing.has_room():
                break
            if routing.enabled_for(conversation):
                routing.pick(conversation)
        update_rows(Conversation, [c for c, _m, _r in routing.picks], ["assignee_id", "status"])
        return record_picks([routing])


def _hand_back_off_members(now: datetime) -> int:
    """Unassign the waiting conversations of members "off" for longer than their workspace's grace."""
    off = list(
        Member.objects.filter(
            availability=Availability.OFF,
            assigned_conversations__waiting_since__isnull=False,
            assigned_conversations__status__in=ACTIVE_STATUSES,
        )
        .select_related("user")
        .distinct()
        .order_by("id")
    )
    if not off:
        return 0
    grace = dict(
        RoutingSettings.objects.filter(workspace_id__in={m.workspace_id for m in off}).values_list(
            "workspace_id", "off_grace_minutes"
        )
    )
    handed_back = 0
    for member in off:
        minutes = grace.get(member.workspace_id, DEFAULT_OFF_GRACE_MINUTES)
        since = member.availability_changed_at
        if since is not None and since + timedelta(minutes=minutes) > now:
            continue
        handed_back += _hand_back(member)
    return handed_back


def _hand_back(member: Member) -> int:
    actor = Automation(
        workspace_id=member.workspace_id, kind=AutomationKind.ROUTING, name=OFF_HANDBACK_NAME
    )
    with transaction.atomic():
        conversations = list(
            Conversation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                workspace_id=member.workspace_id,
                assignee_id=member.pk,
                # Re-checked under the lock: a member back online keeps their work.
                assignee__availability=Availability.OFF,
                waiting_since__isnull=False,
                status__in=ACTIVE_STATUSES,
            )
            .only("id", "workspace_id", "channel_id", "assignee_id")
            .order_by("id")
        )
        for conversation in conversations:
            conversation.assignee_id = None
        update_rows(Conversation, conversations, ["assignee_id"])
        fields = actor_fields(actor)
        insert_values(
            Activity,
            [
                {
                    "workspace_id": c.workspace_id,
                    "conversation_id": c.pk,
                    "channel_id": c.channel_id,
                    "verb": Verb.UNASSIGNED,
                    "data": {"member_id": member.pk, "member": member.name, "reason": "off"},
                    "created_at": clock.now(),
                    **fields,
                }
                for c in conversations
            ],
        )
    return len(conversations)
