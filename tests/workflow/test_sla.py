"""SLA due times across business hours, holidays and time zones; at-risk warnings and breach escalation."""

from datetime import UTC, date, datetime, timedelta

import pytest

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.inbox.actions import do_receive, do_reply
from cercle.inbox.choices import Priority
from cercle.inbox.models import Conversation
from cercle.workflow.actions import do_escalate_due, do_save_business_hours, do_save_sla_policy
from cercle.workflow.models import SlaPolicy
from cercle.workflow.sla import Clock
from cercle.workspaces.actions import do_deactivate_member
from cercle.workspaces.models import Activity
from tests.conftest import sim_body, sim_event

WEEKDAYS_9_TO_18 = {str(d): [["09:00", "18:00"]] for d in range(5)}


def paris(*args: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo("Europe/Paris"))


def montreal(*args: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo("America/Montreal"))


def office(time_zone: str, holidays: frozenset[date] = frozenset()) -> Clock:
    return Clock.from_schedule(time_zone, WEEKDAYS_9_TO_18, holidays)


# --- the clock ------------------------------------------------------------------------


def test_around_the_clock_adds_plain_minutes():
    start = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)  # a Saturday night
    assert Clock.around_the_clock().add(start, 60) == datetime(2026, 11, 29, 0, 30, tzinfo=UTC)


def test_a_message_during_hours_is_due_within_the_same_day():
    due = office("Europe/Paris").add(paris(2026, 11, 30, 10, 0), 60)  # Monday 10:00
    assert due == paris(2026, 11, 30, 11, 0)


def test_the_clock_stops_at_closing_and_resumes_next_morning():
    due = office("Europe/Paris").add(paris(2026, 11, 30, 17, 30), 60)  # Monday 17:30
    assert due == paris(2026, 12, 1, 9, 30)


def test_a_message_on_friday_evening_is_due_on_monday():
    due = office("Europe/Paris").add(paris(2026, 12, 4, 19, 0), 60)  # Friday 19:00
    assert due == paris(2026, 12, 7, 10, 0)


def test_holidays_are_skipped():
    christmas = frozenset({date(2026, 12, 25)})
    due = office("Europe/Paris", christmas).add(paris(2026, 12, 24, 17, 0), 120)  # Thursday
    assert due == paris(2026, 12, 28, 10, 0)  # Friday 25 off, weekend, Monday


def test_the_same_instant_is_due_differently_in_two_time_zones():
    instant = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 17:30 in Paris, 11:30 in Montreal
    in_paris = office("Europe/Paris").add(instant, 60)
    in_montreal = office("America/Montreal").add(instant, 60)
    assert (in_paris, in_montreal) == (paris(2026, 12, 1, 9, 30), montreal(2026, 11, 30, 12, 30))


def test_working_hours_follow_the_daylight_saving_change():
    # Paris leaves summer time on Sunday 25 October 2026: opening is then 08:00 UTC, not 07:00.
    due = office("Europe/Paris").add(paris(2026, 10, 23, 17, 30), 60)  # Friday
    assert due.astimezone(UTC) == datetime(2026, 10, 26, 8, 30, tzinfo=UTC)


def test_working_time_between_counts_only_open_hours():
    elapsed = office("Europe/Paris").working_time_between(
        paris(2026, 12, 4, 17, 0), paris(2026, 12, 7, 10, 0)
    )
    assert elapsed == timedelta(hours=2)


# --- policies in the pipeline --------------------------------------------------------


def receive(channel, *events):
    items = connector_for(channel).parse(RawEventData(body=sim_body(*events)))
    return do_receive(channel, items)


@pytest.fixture
def office_hours(owner, workspace):
    return do_save_business_hours(
        owner,
        workspace,
        name="Office",
        time_zone="Europe/Paris",
        weekly=WEEKDAYS_9_TO_18,
        holidays=[(date(2026, 12, 25), "Noël")],
    )


def policy(owner, workspace, **fields):
    return do_save_sla_policy(owner, workspace, SlaPolicy(name=fields.pop("name", "P"), **fields))


def test_a_policy_in_business_hours_sets_the_due_time(owner, workspace, sim_channel, office_hours):
    policy(owner, workspace, first_response_minutes=60, business_hours=office_hours)
    # sim_event's item was written on Friday 20 November 2026 at 09:30 UTC (10:30 in Paris).
    receive(sim_channel, sim_event("c1"))
    conversation = Conversation.objects.get()
    assert conversation.sla_due_at == paris(2026, 11, 20, 11, 30)


def test_the_first_matching_policy_wins(owner, workspace, sim_channel, office_hours):
    policy(
        owner,
        workspace,
        name="Reviews",
        position=0,
        first_response_minutes=5,
        conversation_kind="review",
    )
    policy(owner, workspace, name="All", position=1, first_response_minutes=240)
    receive(sim_channel, sim_event("c1"))
    conversation = Conversation.objects.get()
    assert conversation.sla_due_at == datetime(2026, 11, 20, 13, 30, tzinfo=UTC)


def test_a_policy_of_another_workspace_cannot_be_given_its_schedule(owner, workspace, db):
    from cercle.workspaces.actions import do_add_member, do_create_workspace

    other = do_create_workspace("Other")
    their_owner = do_add_member(other, owner.user, "owner")
    foreign = do_save_business_hours(
        their_owner,
        other,
        name="Theirs",
        time_zone="UTC",
        weekly={},
        holidays=[],
    )
    with pytest.raises(SlaPolicy.DoesNotExist):
        policy(owner, workspace, first_response_minutes=5, business_hours=foreign)


def test_an_agent_cannot_change_sla_policies(agent, workspace):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        policy(agent, workspace, first_response_minutes=5)


# --- escalation -------------------------------------------------------------------------


@pytest.fixture
def waiting(owner, workspace, sim_channel):
    policy(owner, workspace, first_response_minutes=60, at_risk_minutes=15, reassign_to=owner)
    receive(sim_channel, sim_event("c1"))
    return Conversation.objects.get()


def sla_activities(conversation):
    return list(
        Activity.objects.filter(conversation=conversation, verb__startswith="sla_").values_list(
            "verb", flat=True
        )
    )


def test_nothing_happens_well_before_the_due_time(waiting):
    report = do_escalate_due(waiting.sla_due_at - timedelta(minutes=30))
    assert (report.at_risk, report.breached, sla_activities(waiting)) == (0, 0, [])


def test_at_risk_is_logged_once_within_the_lead_time(waiting):
    do_escalate_due(waiting.sla_due_at - timedelta(minutes=10))
    do_escalate_due(waiting.sla_due_at - timedelta(minutes=5))
    assert sla_activities(waiting) == ["sla_at_risk"]


def test_a_breach_raises_the_priority_and_reassigns_once(waiting, owner):
    after = waiting.sla_due_at + timedelta(minutes=1)
    do_escalate_due(after)
    do_escalate_due(after + timedelta(minutes=5))
    waiting.refresh_from_db()
    breach = Activity.objects.get(conversation=waiting, verb="sla_breached")
    assert (waiting.priority, waiting.assignee_id, breach.automation, sla_activities(waiting)) == (
        Priority.HIGH,
        owner.pk,
        "sla_policy",
        ["sla_breached"],
    )


def test_an_answered_conversation_is_not_escalated(waiting, owner):
    do_reply(owner, waiting, "Merci, on regarde !")
    report = do_escalate_due(datetime(2030, 1, 1, tzinfo=UTC))
    assert report.breached == 0


def test_the_escalation_is_dated_by_the_clock(waiting):
    after = waiting.sla_due_at + timedelta(minutes=1)
    with clock.at(after):
        do_escalate_due()
    assert Activity.objects.get(conversation=waiting, verb="sla_breached").created_at == after


def test_a_breach_does_not_hand_work_to_a_deactivated_member(owner, agent, workspace, sim_channel):
    policy(owner, workspace, first_response_minutes=60, reassign_to=agent)
    receive(sim_channel, sim_event("c1"))
    conversation = Conversation.objects.get()
    do_deactivate_member(owner, agent)
    do_escalate_due(conversation.sla_due_at + timedelta(minutes=1))
    conversation.refresh_from_db()
    assert (conversation.assignee_id, sla_activities(conversation)) == (None, ["sla_breached"])


def test_the_scheduler_wakes_the_escalation_when_a_response_is_due(waiting, monkeypatch):
    from django_tasks_db.models import DBTaskResult

    from cercle.pipeline import worker
    from cercle.workflow.tasks import escalate_due

    monkeypatch.setattr(worker, "POLL_EVERY", 0.0)
    # The test's database connection must stay open (the worker drops stale ones).
    monkeypatch.setattr(worker, "close_old_connections", lambda: None)
    worker.schedule_once(0.0)
    pending = DBTaskResult.objects.ready().filter(task_path=escalate_due.module_path)
    assert pending.count() == 1


# --- a team's own business hours ------------------------------------------------------


def test_a_team_with_its_own_hours_is_due_on_its_clock(owner, workspace, sim_channel, office_hours):
    from cercle.inbox.actions import do_assign_team
    from cercle.workspaces.actions import do_create_team

    team = do_create_team(owner, workspace, "Montréal")
    do_save_business_hours(
        owner,
        workspace,
        name="Montréal",
        time_zone="America/Montreal",
        weekly=WEEKDAYS_9_TO_18,
        holidays=[],
        team=team,
    )
    policy(
        owner,
        workspace,
        first_response_minutes=60,
        next_response_minutes=60,
        business_hours=office_hours,
    )
    receive(sim_channel, sim_event("c1"))
    conversation = Conversation.objects.get()
    # No team: the policy's own hours (Paris).
    assert conversation.sla_due_at == paris(2026, 11, 20, 11, 30)
    do_reply(owner, conversation, "On regarde")
    do_assign_team(owner, conversation, team)
    # Friday 18:30 UTC: Paris is closed (19:30), Montréal works (13:30).
    receive(
        sim_channel,
        sim_event("c2", created_at=datetime(2026, 11, 20, 18, 30, tzinfo=UTC).isoformat()),
    )
    conversation.refresh_from_db()
    assert conversation.sla_due_at == montreal(2026, 11, 20, 14, 30)


def test_a_team_has_one_schedule_and_another_workspace_team_is_refused(
    owner, workspace, office_hours
):
    from django.core.exceptions import ValidationError

    from cercle.workspaces.actions import do_create_team, do_create_workspace
    from cercle.workspaces.models import Team

    team = do_create_team(owner, workspace, "Support")
    kwargs = {"time_zone": "Europe/Paris", "weekly": WEEKDAYS_9_TO_18, "holidays": []}
    do_save_business_hours(owner, workspace, name="Support", team=team, **kwargs)
    with pytest.raises(ValidationError):
        do_save_business_hours(owner, workspace, name="Support 2", team=team, **kwargs)
    other = do_create_workspace("Autre")
    foreign = Team.objects.create(workspace=other, name="Leur équipe")
    with pytest.raises(Team.DoesNotExist):
        do_save_business_hours(owner, workspace, name="X", team=foreign, **kwargs)
