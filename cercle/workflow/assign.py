"""Automatic assignment: who gets a conversation that waits, unassigned.

Used by the `route` stage of the inbound pipeline (a conversation arriving) and
by the hand-out drain (the backlog, when someone becomes available). Both load
a workspace's routing once (`load_routing`: settings, channel rules, the online
members and their open counts, a fixed number of queries whatever the batch
size), then pick from memory:

- only ONLINE, active members whose role may reply (away and off members get
  nothing new), under their capacity (their own, or the workspace's default);
- whose languages include the conversation's language when it is known (a
  member who lists no language takes any);
- whose skills cover what the channel and the kind of conversation need;
- who may work the channel (a channel may name its members; none: everyone);
- who belong to the conversation's team, when it was given to one (the team's backlog);
- least recently assigned first, ties by member id: a fair, deterministic
  round-robin. Each pick stamps the member strictly later than any stamp of the
  workspace (`Member.last_assigned_at`), so the order survives restarts and
  batches made at the same instant.

What cannot be placed stays unassigned: the backlog (`backlog()`), handed out
oldest waiting first by `actions.do_hand_out`, and before any newer arrival.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet

from cercle.core import clock
from cercle.core.db_bulk import insert_values, update_rows
from cercle.inbox.choices import ACTIVE_STATUSES, Status
from cercle.inbox.models import Conversation
from cercle.inbox.segments import persona_ids, personas_of
from cercle.workspaces.actors import Automation, actor_fields
from cercle.workspaces.choices import (
    ROLE_PERMISSIONS,
    AutomationKind,
    Availability,
    Permission,
    Verb,
)
from cercle.workspaces.models import Activity, Member, Team

from .models import ChannelRouting, RoutingSettings

# The name the timeline shows for automatic assignment.
ROUTING_NAME = "Automatic assignment"
# Roles that may be given work (a viewer cannot reply).
ASSIGNABLE_ROLES = tuple(
    role for role, permissions in ROLE_PERMISSIONS.items() if Permission.REPLY in permissions
)
# The round-robin stamp of a member never assigned: before everyone else.
NEVER = datetime(1970, 1, 1, tzinfo=UTC)
# Each pick is stamped this much after the previous one (strict order within a batch).
STEP = timedelta(microseconds=1)
# How many of the backlog's oldest conversations an arriving batch lets go first.
BACKLOG_FIRST = 200
# What picking reads of a conversation (the drains load only these).
PICK_FIELDS = (
    "id",
    "workspace_id",
    "channel_id",
    "team_id",
    "kind",
    "language",
    "status",
    "assignee_id",
    "waiting_since",
)


# The skills map's keys for a persona instead of a kind of conversation.
PERSONA_KEY = "persona:"


def routing_actor(workspace_id: int) -> Automation:
    return Automation(workspace_id=workspace_id, kind=AutomationKind.ROUTING, name=ROUTING_NAME)


def normalise_skills(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.strip().casefold() for v in values if v and v.strip())


def base_language(code: str) -> str:
    """ "fr-FR" → "fr"."""
    return code.split("-")[0].split("_")[0].strip().lower()


@dataclass(slots=True)
class Candidate:
    """A member who may be given work now, with what routing needs to know, in memory."""

    member_id: int
    name: str
    languages: frozenset[str]
    skills: frozenset[str]
    capacity: int
    open_count: int
    stamp: datetime
    teams: frozenset[int] = frozenset()

    @property
    def has_room(self) -> bool:
        return self.open_count < self.capacity


@dataclass(frozen=True, slots=True)
class ChannelRule:
    auto_assign: bool | None
    skills: frozenset[str]
    members: frozenset[int]


@dataclass
class Routing:
    """One workspace's routing, loaded once per batch."""

    workspace_id: int
    auto_assign: bool
    kind_skills: dict[str, frozenset[str]]
    channels: dict[int, ChannelRule]
    candidates: list[Candidate]
    stamp: datetime
    # Each pick: the conversation, who got it, and why ("arrival" or "backlog").
    picks: list[tuple[Conversation, Candidate, str]] = field(default_factory=list)
    # Personas read for the skills map's "persona:<name or number>" keys (inbox.segments), once
    # per contact and per key, and only when the map has such keys.
    persona_cache: dict[int, frozenset[int]] = field(default_factory=dict)
    persona_refs: dict[str, frozenset[int]] = field(default_factory=dict)

    def enabled_for(self, conversation: Conversation) -> bool:
        rule = self.channels.get(conversation.channel_id)
        if rule is not None and rule.auto_assign is not None:
            return rule.auto_assign
        return self.auto_assign

    def has_room(self) -> bool:
        return any(c.has_room for c in self.candidates)

    def needs(self, conversation: Conversation) -> frozenset[str]:
        """The skills the conversation needs: its channel's and its kind's."""
        rule = self.channels.get(conversation.channel_id)
        channel_skills = rule.skills if rule is not None else frozenset()
        return (
            channel_skills
            | self.kind_skills.get(conversation.kind, frozenset())
            | self.persona_needs(conversation)
        )

    def persona_needs(self, conversation: Conversation) -> frozenset[str]:
        """The skills the personas of the conversation's contact need (a routing preference:
        keys "persona:<name or number>" of the skills map)."""
        keys = {
            k[len(PERSONA_KEY) :]: v
            for k, v in self.kind_skills.items()
            if k.startswith(PERSONA_KEY)
        }
        contact = conversation.contact_id
        if not keys or contact is None:
            return frozenset()
        if contact not in self.persona_cache:
            found = personas_of(self.workspace_id, [contact])
            self.persona_cache[contact] = found.get(contact, frozenset())
        held = self.persona_cache[contact]
        needs: frozenset[str] = frozenset()
        for reference, skills in keys.items():
            if reference not in self.persona_refs:
                self.persona_refs[reference] = persona_ids(self.workspace_id, [reference])
            if self.persona_refs[reference] & held:
                needs |= skills
        return needs

    def eligible(self, conversation: Conversation) -> list[Candidate]:
        """The members who could take the conversation now, in round-robin order."""
        needs = self.needs(conversation)
        language = base_language(conversation.language or "")
        rule = self.channels.get(conversation.channel_id)
        allowed = rule.members if rule is not None and rule.members else None
        found = [
            c
            for c in self.candidates
            if c.has_room
            and needs <= c.skills
            and (not language or not c.languages or language in c.languages)
            and (allowed is None or c.member_id in allowed)
            and (conversation.team_id is None or conversation.team_id in c.teams)
        ]
        return sorted(found, key=lambda c: (c.stamp, c.member_id))

    def pick(self, conversation: Conversation, reason: str = "backlog") -> Candidate | None:
        """Give the conversation to the next eligible member (in place, counted), or None."""
        found = self.eligible(conversation)
        if not found:
            return None
        chosen = found[0]
        self.stamp += STEP
        chosen.stamp = self.stamp
        chosen.open_count += 1
        conversation.assignee_id = chosen.member_id
        if conversation.status == Status.NEW:
            conversation.status = Status.OPEN
        self.picks.append((conversation, chosen, reason))
        return chosen


def load_routing(
    workspace_ids: Iterable[int], *, lock: bool = False, skip_locked: bool = False
) -> dict[int, Routing]:
    """The routing of the workspaces that assign automatically (anywhere), with their candidates.

    `lock` takes the workspace's routing row FOR UPDATE until the transaction
    ends: whoever assigns in a workspace (an arrival, the hand-out drain) does
    it one at a time, so counts read here stay true. With `skip_locked`, a
    workspace another worker is routing is left out instead of waited for.
    """
    ids = sorted(set(workspace_ids))
    if not ids:
        return {}
    query = RoutingSettings.objects.filter(workspace_id__in=ids).order_by("workspace_id")
    if lock:
        query = query.select_for_update(skip_locked=skip_locked)
    settings = {s.workspace_id: s for s in query}
    if not settings:
        return {}
    channels: dict[int, dict[int, ChannelRule]] = defaultdict(dict)
    rules = list(ChannelRouting.objects.filter(workspace_id__in=list(settings)))
    channel_members: dict[int, set[int]] = defaultdict(set)
    for routing_id, member_id in ChannelRouting.members.through.objects.filter(
        channelrouting__workspace_id__in=list(settings)
    ).values_list("channelrouting_id", "member_id"):
        channel_members[routing_id].add(member_id)
    for rule in rules:
        channels[rule.workspace_id][rule.channel_id] = ChannelRule(
            auto_assign=rule.auto_assign,
            skills=normalise_skills(rule.skills),
            members=frozenset(channel_members[rule.pk]),
        )
    enabled = [
        ws
        for ws, s in settings.items()
        if s.auto_assign or any(r.auto_assign for r in channels[ws].values())
    ]
    members = list(
        Member.objects.filter(
            workspace_id__in=enabled,
            is_active=True,
            availability=Availability.ONLINE,
            role__in=ASSIGNABLE_ROLES,
        )
        .select_related("user")
        .order_by("id")
    )
    teams: dict[int, set[int]] = defaultdict(set)
    for member_id, team_id in Team.members.through.objects.filter(
        member_id__in=[m.pk for m in members]
    ).values_list("member_id", "team_id"):
        teams[member_id].add(team_id)
    open_counts = dict(
        Conversation.objects.filter(
            assignee_id__in=[m.pk for m in members], status__in=ACTIVE_STATUSES
        )
        .values("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    candidates: dict[int, list[Candidate]] = defaultdict(list)
    for member in members:
        default = settings[member.workspace_id].default_capacity
        candidates[member.workspace_id].append(
            Candidate(
                member_id=member.pk,
                name=member.name,
                languages=frozenset(base_language(code) for code in member.languages),
                skills=normalise_skills(member.skills),
                capacity=member.capacity if member.capacity is not None else default,
                open_count=open_counts.get(member.pk, 0),
                stamp=member.last_assigned_at or NEVER,
                teams=frozenset(teams[member.pk]),
            )
        )
    now = clock.now()
    routings = {}
    for ws in enabled:
        s = settings[ws]
        kind_skills = {kind: normalise_skills(skills) for kind, skills in s.kind_skills.items()}
        stamps = [c.stamp for c in candidates[ws]]
        routings[ws] = Routing(
            workspace_id=ws,
            auto_assign=s.auto_assign,
            kind_skills=kind_skills,
            channels=channels[ws],
            candidates=candidates[ws],
            stamp=max([now, *stamps]),
        )
    return routings


def record_picks(routings: Iterable[Routing]) -> int:
    """Log every pick as ASSIGNED by the routing automation and store the round-robin stamps.

    The conversations themselves are written by the caller (the inbound upsert
    writes its batch; the drain writes its own). Returns how many were assigned.
    """
    rows: list[dict[str, Any]] = []
    stamped: dict[int, Member] = {}
    now = clock.now()
    for routing in routings:
        fields = actor_fields(routing_actor(routing.workspace_id))
        for conversation, chosen, reason in routing.picks:
            rows.append(
                {
                    "workspace_id": conversation.workspace_id,
                    "conversation_id": conversation.pk,
                    "channel_id": conversation.channel_id,
                    "verb": Verb.ASSIGNED,
                    "data": {
                        "assignee_id": chosen.member_id,
                        "assignee": chosen.name,
                        "reason": reason,
                    },
                    "created_at": now,
                    **fields,
                }
            )
            stamped[chosen.member_id] = Member(pk=chosen.member_id, last_assigned_at=chosen.stamp)
    insert_values(Activity, rows)
    update_rows(Member, list(stamped.values()), ["last_assigned_at"])
    return len(rows)


def assign_arrivals(conversations: Sequence[Conversation]) -> None:
    """The route stage's assignment: give every saved conversation that waits, unassigned, to someone.

    Runs in the upsert's transaction, on rows it will write (it writes the
    assignee and status); conversations not yet inserted are routed on the
    stage's second pass, once they have an id for the Activity log. The
    backlog's older conversations go first (strict first-in, first-out: an
    arrival never takes a place freed for one that waits longer); those are
    written here, taken with SKIP LOCKED under the routing lock.
    """
    todo = [
        c
        for c in conversations
        if c.pk is not None
        and c.assignee_id is None
        and c.waiting_since is not None
        and c.status in ACTIVE_STATUSES
    ]
    if not todo:
        return
    routings = load_routing({c.workspace_id for c in todo}, lock=True)
    if not routings:
        return
    with_room = [ws for ws, routing in routings.items() if routing.has_room()]
    older = (
        list(
            backlog(with_room)
            .exclude(pk__in=[c.pk for c in todo])
            .filter(waiting_since__lt=max(c.waiting_since or NEVER for c in todo))
            .select_for_update(skip_locked=True, of=("self",))
            .only(*PICK_FIELDS)[:BACKLOG_FIRST]
        )
        if with_room
        else []
    )
    arriving = {c.pk for c in todo}
    for conversation in sorted([*todo, *older], key=lambda c: (c.waiting_since or NEVER, c.pk)):
        routing = routings.get(conversation.workspace_id)
        if routing is not None and routing.enabled_for(conversation):
            routing.pick(conversation, "arrival" if conversation.pk in arriving else "backlog")
    update_rows(
        Conversation,
        [c for c in older if c.assignee_id is not None],
        ["assignee_id", "status"],
    )
    record_picks(routings.values())


def backlog(workspace_ids: Iterable[int] | None = None) -> QuerySet[Conversation]:
    """Conversations that wait, unassigned, where automatic assignment is on: oldest waiting first."""
    query = Conversation.objects.filter(
        assignee__isnull=True,
        waiting_since__isnull=False,
        status__in=ACTIVE_STATUSES,
    ).filter(
        Q(channel__routing__auto_assign=True)
        | Q(channel__routing__auto_assign__isnull=True, workspace__routing__auto_assign=True)
    )
    if workspace_ids is not None:
        query = query.filter(workspace_id__in=list(workspace_ids))
    return query.order_by("waiting_since", "id")
