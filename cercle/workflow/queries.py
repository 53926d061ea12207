"""Reads of the workflow app: routing settings for the pages, and whether the hand-out has work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce

from cercle.connectors.models import Channel
from cercle.inbox.choices import ACTIVE_STATUSES
from cercle.inbox.models import Conversation
from cercle.workspaces.choices import Availability
from cercle.workspaces.models import Member

from .assign import ASSIGNABLE_ROLES, backlog
from .models import DEFAULT_CAPACITY, DEFAULT_OFF_GRACE_MINUTES, ChannelRouting, RoutingSettings


def hand_out_due(now: datetime) -> bool:
    """Whether the hand-out drain has work (the scheduler asks every tick, in a few cheap queries).

    True when an "off" member's grace period is over and they still hold
    unanswered work, or when the backlog is not empty and someone online has
    room: a member who comes online, closes a conversation, gets a bigger
    capacity or joins makes it true, and the drain runs at the next tick.
    """
    return _off_members_due(now) or _backlog_with_room()


def _off_members_due(now: datetime) -> bool:
    held = list(
        Conversation.objects.filter(
            assignee__availability=Availability.OFF,
            waiting_since__isnull=False,
            status__in=ACTIVE_STATUSES,
        )
        .values_list("workspace_id", "assignee__availability_changed_at")
        .distinct()[:200]
    )
    if not held:
        return False
    grace = dict(
        RoutingSettings.objects.filter(workspace_id__in={ws for ws, _ in held}).values_list(
            "workspace_id", "off_grace_minutes"
        )
    )
    return any(
        since is None or since + timedelta(minutes=grace.get(ws, DEFAULT_OFF_GRACE_MINUTES)) <= now
        for ws, since in held
    )


def _backlog_with_room() -> bool:
    workspace_ids = list(
        backlog().order_by().values_list("workspace_id", flat=True).distinct()[:200]
    )
    if not workspace_ids:
        return False
    return (
        Member.objects.filter(
            workspace_id__in=workspace_ids,
            is_active=True,
            availability=Availability.ONLINE,
            role__in=ASSIGNABLE_ROLES,
        )
        .annotate(
            open_count=Count(
                "assigned_conversations",
                filter=Q(assigned_conversations__status__in=ACTIVE_STATUSES),
            ),
            room=Coalesce("capacity", F("workspace__routing__default_capacity")),
        )
        .filter(open_count__lt=F("room"))
        .exists()
    )


def channel_rules(workspace_id: int) -> list[tuple[Channel, ChannelRouting | None]]:
    """The workspace's active channels, each with its own routing when it has one."""
    rules = {
        r.channel_id: r
        for r in ChannelRouting.objects.filter(workspace_id=workspace_id).prefetch_related(
            "members"
        )
    }
    channels = Channel.objects.filter(workspace_id=workspace_id, is_active=True).order_by("name")
    return [(channel, rules.get(channel.pk)) for channel in channels]


def backlog_count(workspace_id: int) -> int:
    return backlog([workspace_id]).count()


@dataclass(frozen=True)
class TeamRow:
    """One active member as routing sees them (the routing page's table)."""

    member: Member
    capacity: int
    capacity_is_default: bool
    open_count: int
    takes_work: bool


def routing_team(workspace_id: int) -> list[TeamRow]:
    """The workspace's active members with their capacity and open conversations (two queries)."""
    default = routing_settings_default_capacity(workspace_id)
    members = list(
        Member.objects.filter(workspace_id=workspace_id, is_active=True)
        .select_related("user")
        .annotate(
            open_count=Count(
                "assigned_conversations",
                filter=Q(assigned_conversations__status__in=ACTIVE_STATUSES),
            )
        )
        .order_by("id")
    )
    return [
        TeamRow(
            member=m,
            capacity=m.capacity if m.capacity is not None else default,
            capacity_is_default=m.capacity is None,
            open_count=m.open_count,
            takes_work=m.availability == Availability.ONLINE and m.role in ASSIGNABLE_ROLES,
        )
        for m in members
    ]


def routing_settings_default_capacity(workspace_id: int) -> int:
    found = (
        RoutingSettings.objects.filter(workspace_id=workspace_id)
        .values_list("default_capacity", flat=True)
        .first()
    )
    return found if found is not None else DEFAULT_CAPACITY
