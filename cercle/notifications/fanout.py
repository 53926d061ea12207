"""Who is told about an Activity, and why: one table, verb → (kind, recipients).

The notifications app reacts to data, not to calls: the inbox, the workflow
and the replies helper only write Activity rows; this table says which of them
concern which members. A verb missing from the table notifies nobody (it can
still go out by webhook). Recipients are member ids before filtering: the
drain keeps only active members of the activity's workspace and drops the actor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cercle.inbox.models import Conversation
from cercle.workspaces.choices import ROLE_PERMISSIONS, Verb
from cercle.workspaces.models import Activity, Member, Team

from .choices import NotificationKind


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _data(activity: Activity) -> dict[str, object]:
    return activity.data if isinstance(activity.data, dict) else {}


class Lookups:
    """What the rules read from the database, loaded once per batch of the drain."""

    def __init__(self) -> None:
        self._teams: dict[tuple[int, int], set[int]] = {}
        self._assignees: dict[int, int | None] = {}
        self._approvers: dict[int, set[int]] = {}
        self._managers: dict[int, set[int]] = {}

    def team_members(self, workspace_id: int, team_ids: set[int]) -> set[int]:
        missing = {t for t in team_ids if (workspace_id, t) not in self._teams}
        if missing:
            for team_id in missing:
                self._teams[(workspace_id, team_id)] = set()
            rows = Team.members.through.objects.filter(
                team_id__in=missing, team__workspace_id=workspace_id
            ).values_list("team_id", "member_id")
            for team_id, member_id in rows:
                self._teams[(workspace_id, team_id)].add(member_id)
        return set().union(*(self._teams[(workspace_id, t)] for t in team_ids))

    def approvers(self, workspace_id: int) -> set[int]:
        if workspace_id not in self._approvers:
            roles = [r for r, perms in ROLE_PERMISSIONS.items() if APPROVE_REPLIES in perms]
            self._approvers[workspace_id] = set(
                Member.objects.filter(
                    workspace_id=workspace_id, is_active=True, role__in=roles
                ).values_list("pk", flat=True)
            )
        return self._approvers[workspace_id]

    def managers(self, workspace_id: int) -> set[int]:
        """The active members whose role manages the workspace's workflow (and its listening)."""
        if workspace_id not in self._managers:
            roles = [r for r, perms in ROLE_PERMISSIONS.items() if MANAGE_WORKFLOW in perms]
            self._managers[workspace_id] = set(
                Member.objects.filter(
                    workspace_id=workspace_id, is_active=True, role__in=roles
                ).values_list("pk", flat=True)
            )
        return self._managers[workspace_id]

    def assignee(self, conversation_id: int) -> int | None:
        if conversation_id not in self._assignees:
            self._assignees[conversation_id] = (
                Conversation.objects.filter(pk=conversation_id)
                .values_list("assignee_id", flat=True)
                .first()
            )
        return self._assignees[conversation_id]


def mentioned(activity: Activity, lookups: Lookups) -> set[int]:
    """The members a note mentions, directly or through a team of its workspace."""
    mentions = _data(activity).get("mentions")
    if not isinstance(mentions, list):
        return set()
    members: set[int] = set()
    teams: set[int] = set()
    for mention in mentions:
        if not isinstance(mention, dict):
            continue
        if (member_id := _int(mention.get("member"))) is not None:
            members.add(member_id)
        if (team_id := _int(mention.get("team"))) is not None:
            teams.add(team_id)
    if teams:
        members.update(lookups.team_members(activity.workspace_id, teams))
    return members


def assignee_named(activity: Activity, lookups: Lookups) -> set[int]:
    """The member a conversation was given to (`data["assignee_id"]`)."""
    member_id = _int(_data(activity).get("assignee_id"))
    return {member_id} if member_id is not None else set()


def conversation_assignee(activity: Activity, lookups: Lookups) -> set[int]:
    """Whoever holds the conversation now (SLA warnings go to the person who must answer)."""
    if activity.conversation_id is None:
        return set()
    assignee = lookups.assignee(activity.conversation_id)
    return {assignee} if assignee is not None else set()


# The keys under which an approval activity names the member who asked (first found wins).
REQUESTER_KEYS = ("requested_by_id", "requester_id", "author_id", "member_id")
# The permission of the members who approve replies (the replies app's four eyes).
APPROVE_REPLIES = "approve_replies"
# The permission of the members told about listening alerts (the workspace's managers).
MANAGE_WORKFLOW = "manage_workflow"


def requester(activity: Activity, lookups: Lookups) -> set[int]:
    """The member whose reply was approved or sent back (`data["notify"]`, else its author)."""
    data = _data(activity)
    listed = data.get("notify")
    if isinstance(listed, list):
        return {i for i in (_int(v) for v in listed) if i is not None}
    for key in REQUESTER_KEYS:
        if (member_id := _int(data.get(key))) is not None:
            return {member_id}
    return set()


def approvers(activity: Activity, lookups: Lookups) -> set[int]:
    """The members whose role may approve replies (a reply waits for one of them)."""
    return lookups.approvers(activity.workspace_id)


def managers(activity: Activity, lookups: Lookups) -> set[int]:
    """The workspace's managers (a listening alert concerns the whole brand, not one conversation)."""
    return lookups.managers(activity.workspace_id)


def listed(activity: Activity, lookups: Lookups) -> set[int]:
    """The members an activity lists in `data["notify"]` (a moderation rule's notify action)."""
    listed_ids = _data(activity).get("notify")
    if not isinstance(listed_ids, list):
        return set()
    return {i for i in (_int(v) for v in listed_ids) if i is not None}


def crisis_managers(activity: Activity, lookups: Lookups) -> set[int]:
    """The managers, told once for a burst: a check that raises several alerts on a channel
    (its volume and negative share, for the channel and its post) notifies about the first."""
    if activity.channel_id is None:
        return lookups.managers(activity.workspace_id)
    earlier = Activity.objects.filter(
        workspace_id=activity.workspace_id,
        verb=Verb.CRISIS_STARTED,
        channel_id=activity.channel_id,
        created_at=activity.created_at,
        pk__lt=activity.pk,
    )
    if earlier.exists():
        return set()
    return lookups.managers(activity.workspace_id)


@dataclass(frozen=True, slots=True)
class Rule:
    kind: NotificationKind
    recipients: Callable[[Activity, Lookups], set[int]]


RULES: dict[str, Rule] = {
    Verb.NOTE_ADDED: Rule(NotificationKind.MENTION, mentioned),
    Verb.ASSIGNED: Rule(NotificationKind.ASSIGNMENT, assignee_named),
    Verb.SLA_AT_RISK: Rule(NotificationKind.SLA_AT_RISK, conversation_assignee),
    Verb.SLA_BREACHED: Rule(NotificationKind.SLA_BREACHED, conversation_assignee),
    # Written by the replies app's approvals (four eyes), when it is installed.
    "reply_submitted": Rule(NotificationKind.APPROVAL_REQUESTED, approvers),
    "reply_approved": Rule(NotificationKind.REPLY_APPROVED, requester),
    "reply_rejected": Rule(NotificationKind.REPLY_REJECTED, requester),
    # Written by listening when a search's volume or negative share jumps (once per episode).
    "listening_alert": Rule(NotificationKind.LISTENING_ALERT, managers),
    # A moderation rule that fired with a "notify" action (members and roles it names).
    Verb.RULE_FIRED: Rule(NotificationKind.RULE_ALERT, listed),
    # Written by the crisis watch when a channel's or post's volume or negative share rises
    # well above its baseline: once per burst (its end and acknowledgement notify nobody).
    Verb.CRISIS_STARTED: Rule(NotificationKind.CRISIS_ALERT, crisis_managers),
}
