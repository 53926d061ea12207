"""The drain over the Activity log: who is notified, preferences, isolation, idempotence, gaps."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cercle.core import clock
from cercle.inbox.actions import do_add_note, do_assign_conversation
from cercle.notifications.actions import (
    CURSOR,
    do_drain_activity_log,
    do_mark_all_notifications_read,
    has_work,
)
from cercle.notifications.choices import EmailState, NotificationKind
from cercle.notifications.models import LogCursor, Notification
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.actors import actor_fields
from cercle.workspaces.choices import Availability, Role, Verb
from cercle.workspaces.models import Activity, Member


def _kinds(member: Member) -> list[str]:
    return list(
        Notification.objects.filter(member=member).order_by("id").values_list("kind", flat=True)
    )


def _prefs(member: Member, event: str, *, in_app: bool, email: bool) -> None:
    prefs = dict(member.notifications)
    prefs[event] = {"in_app": in_app, "email": email}
    Member.objects.filter(pk=member.pk).update(notifications=prefs)


def test_a_mention_notifies_the_member_and_every_member_of_the_team_but_not_the_writer(
    owner, agent, nora, support, conversation
):
    do_add_note(owner, conversation, "@support-fr et @sam, regardez")
    do_add_note(agent, conversation, "@sam je me note ça")  # mentioning oneself notifies nobody
    do_drain_activity_log()
    assert _kinds(agent) == [NotificationKind.MENTION]
    assert _kinds(nora) == [NotificationKind.MENTION]
    assert _kinds(owner) == []


def test_an_assignment_notifies_the_assignee_not_the_member_who_took_it(owner, agent, conversation):
    do_assign_conversation(owner, conversation, agent)
    do_assign_conversation(owner, conversation, owner)
    do_drain_activity_log()
    assert _kinds(agent) == [NotificationKind.ASSIGNMENT]
    assert _kinds(owner) == []


def test_sla_warnings_notify_whoever_holds_the_conversation(owner, agent, conversation):
    from cercle.workspaces.actors import system

    do_assign_conversation(owner, conversation, agent)
    Activity.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        verb=Verb.SLA_BREACHED,
        data={"due_at": clock.now().isoformat()},
        **actor_fields(system(conversation.workspace_id)),
    )
    do_drain_activity_log()
    assert _kinds(agent) == [NotificationKind.ASSIGNMENT, NotificationKind.SLA_BREACHED]


def test_an_approval_activity_notifies_the_member_who_asked(owner, agent, conversation):
    Activity.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        verb="reply_rejected",
        data={"requested_by_id": agent.pk},
        **actor_fields(owner),
    )
    do_drain_activity_log()
    assert _kinds(agent) == [NotificationKind.REPLY_REJECTED]


def test_a_reply_awaiting_approval_notifies_the_members_who_may_approve(
    monkeypatch, owner, agent, nora, conversation
):
    from cercle.workspaces.choices import ROLE_PERMISSIONS

    monkeypatch.setitem(
        ROLE_PERMISSIONS, Role.OWNER, ROLE_PERMISSIONS[Role.OWNER] | {"approve_replies"}
    )
    Activity.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        verb="reply_submitted",
        data={"pending": 1},
        **actor_fields(agent),
    )
    Activity.objects.create(  # the shape the replies app writes: `notify` lists who to tell
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        verb="reply_approved",
        data={"notify": [agent.pk], "author_id": agent.pk},
        **actor_fields(owner),
    )
    do_drain_activity_log()
    assert _kinds(owner) == [NotificationKind.APPROVAL_REQUESTED]
    assert _kinds(agent) == [NotificationKind.REPLY_APPROVED]
    assert _kinds(nora) == []


def test_preferences_are_respected(owner, agent, conversation):
    _prefs(agent, "assignment", in_app=False, email=False)
    do_assign_conversation(owner, conversation, agent)
    do_drain_activity_log()
    assert _kinds(agent) == []


def test_email_is_asked_only_while_the_member_is_away(owner, agent, nora, conversation):
    Member.objects.filter(pk=nora.pk).update(availability=Availability.AWAY)
    do_add_note(owner, conversation, "@sam @nora-benali")
    do_drain_activity_log()
    states = dict(Notification.objects.values_list("member_id", "email_state"))
    # Sam is online: the bell only. Nora is away and has an address: mailed too.
    assert states == {agent.pk: EmailState.NONE, nora.pk: EmailState.PENDING}


def test_hostile_ids_of_another_workspace_reach_nobody(owner, agent, conversation):
    elsewhere = do_create_workspace("Autre", timezone="UTC")
    stranger = do_add_member(elsewhere, do_create_user("zoe", "pw"), Role.AGENT)
    Activity.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        verb=Verb.ASSIGNED,
        data={"assignee_id": stranger.pk},
        **actor_fields(owner),
    )
    do_drain_activity_log()
    assert not Notification.objects.filter(member=stranger).exists()


def test_the_drain_run_twice_makes_no_duplicate(owner, agent, conversation):
    do_assign_conversation(owner, conversation, agent)
    first = do_drain_activity_log()
    # Replaying the same batch (a worker that died before saving the cursor) is harmless.
    first_id = Activity.objects.order_by("id").values_list("id", flat=True)[0]
    LogCursor.objects.filter(name=CURSOR).update(last_id=first_id - 1)
    do_drain_activity_log()
    second = do_drain_activity_log()
    assert first.notifications == 1 and second.activities == 0
    assert Notification.objects.filter(member=agent).count() == 1
    assert not has_work()


def test_an_id_committed_late_is_not_lost(owner, agent, conversation):
    """A row whose id is below the cursor when it becomes visible is read through the gap list."""
    do_assign_conversation(owner, conversation, agent)
    assigned = Activity.objects.get(verb=Verb.ASSIGNED)
    do_drain_activity_log()
    # Simulate an insert that took an id and committed after later ids were read: remove the
    # row, read past it, then put it back.
    data = {f.attname: getattr(assigned, f.attname) for f in Activity._meta.concrete_fields}
    Notification.objects.all().delete()
    LogCursor.objects.filter(name=CURSOR).update(last_id=assigned.pk - 1, gaps=[])
    Activity.objects.filter(pk=assigned.pk).delete()
    Activity.objects.create(
        workspace_id=owner.workspace_id, verb=Verb.WORKSPACE_CHANGED, **actor_fields(owner)
    )
    do_drain_activity_log()
    assert LogCursor.objects.get(name=CURSOR).gaps[0][0] == assigned.pk
    Activity(**data).save(force_insert=True)
    do_drain_activity_log()
    assert _kinds(agent) == [NotificationKind.ASSIGNMENT]
    assert LogCursor.objects.get(name=CURSOR).gaps == []


def test_old_history_notifies_nobody(owner, agent, conversation):
    with clock.at(clock.now() - timedelta(days=3)):
        do_assign_conversation(owner, conversation, agent)
    do_drain_activity_log()
    assert _kinds(agent) == []


def test_mark_all_read_is_the_members_own(owner, agent, nora, support, conversation):
    do_add_note(owner, conversation, "@support-fr")
    do_drain_activity_log()
    assert do_mark_all_notifications_read(agent) == 1
    assert Notification.objects.get(member=nora).read_at is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_drains_make_each_notification_once(owner, agent, conversation):
    """Workers draining at the same time (threads, own connections) queue on the cursor."""
    from tests.inbox.test_concurrency import _in_parallel

    for i in range(30):
        do_add_note(owner, conversation, f"@sam note {i}")

    def drain() -> int:
        made = 0
        while (report := do_drain_activity_log(batch=4)).activities:
            made += report.notifications
        return made

    made = _in_parallel(drain, drain, drain)
    assert Notification.objects.filter(member=agent).count() == 30
    assert sum(made) == 30  # each batch read by one worker only
