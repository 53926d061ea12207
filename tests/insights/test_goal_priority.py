"""Conversations that endanger an at-risk goal get a higher priority, by a Cercle automation."""

from datetime import UTC, datetime, timedelta

from cercle.core import clock
from cercle.inbox.actions import do_reply, do_set_priority
from cercle.inbox.choices import Priority
from cercle.inbox.models import Conversation
from cercle.insights.actions import do_prioritise_for_goals, do_save_goal, goals_to_watch
from cercle.insights.models import Goal
from cercle.workspaces.choices import Verb
from cercle.workspaces.models import Activity
from tests.insights.test_metrics import receive_at

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # a Thursday


def minutes_ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def test_waits_about_to_break_an_at_risk_goal_are_raised(owner, workspace, sim_channel):
    do_save_goal(
        owner,
        workspace,
        Goal(name="Within 1 h", kpi="answered_within", minutes=60, target=90, period="week"),
    )
    # This week the team answered late twice: the goal is at risk.
    for n in range(2):
        late = receive_at(sim_channel, f"late{n}", minutes_ago(2000 + n), f"late{n}")
        with clock.at(minutes_ago(1800)):
            do_reply(owner, late, "Pardon pour l'attente.")
    soon = receive_at(sim_channel, "soon", minutes_ago(40), "soon")  # 40 of 60 minutes gone
    fresh = receive_at(sim_channel, "fresh", minutes_ago(10), "fresh")  # not yet in danger
    broken = receive_at(sim_channel, "broken", minutes_ago(90), "broken")  # already missed
    with clock.at(NOW):
        assert goals_to_watch(NOW) == [workspace]
        assert do_prioritise_for_goals(workspace, NOW) == 1
        assert goals_to_watch(NOW) == []  # checked a moment ago
    priorities = dict(
        Conversation.objects.filter(pk__in=[soon.pk, fresh.pk, broken.pk]).values_list(
            "pk", "priority"
        )
    )
    assert priorities[soon.pk] == Priority.HIGH
    assert priorities[fresh.pk] < Priority.HIGH and priorities[broken.pk] < Priority.HIGH
    change = Activity.objects.get(conversation=soon, verb=Verb.PRIORITY_CHANGED)
    assert change.actor_id is None and change.automation == "system"
    assert "Within 1 h" in change.automation_name


def test_a_goal_on_track_raises_nothing(owner, workspace, sim_channel):
    do_save_goal(
        owner,
        workspace,
        Goal(name="Within 1 h", kpi="answered_within", minutes=60, target=90, period="week"),
    )
    quick = receive_at(sim_channel, "quick", minutes_ago(300), "quick")
    with clock.at(minutes_ago(290)):
        do_reply(owner, quick, "Voilà.")
    soon = receive_at(sim_channel, "soon", minutes_ago(40), "soon")
    with clock.at(NOW):
        assert do_prioritise_for_goals(workspace, NOW) == 0
    soon.refresh_from_db()
    assert soon.priority < Priority.HIGH


def test_a_raised_wait_gets_its_priority_back_once_it_no_longer_endangers_the_goal(
    owner, workspace, sim_channel
):
    do_save_goal(
        owner,
        workspace,
        Goal(name="Within 1 h", kpi="answered_within", minutes=60, target=90, period="week"),
    )
    for n in range(2):
        late = receive_at(sim_channel, f"late{n}", minutes_ago(2000 + n), f"late{n}")
        with clock.at(minutes_ago(1800)):
            do_reply(owner, late, "Pardon pour l'attente.")
    soon = receive_at(sim_channel, "soon", minutes_ago(40), "soon")
    other = receive_at(sim_channel, "other", minutes_ago(35), "other")
    with clock.at(NOW):
        assert do_prioritise_for_goals(workspace, NOW) == 2
    # A person sets `other` to urgent: the goal leaves it alone afterwards.
    with clock.at(NOW + timedelta(minutes=1)):
        do_set_priority(owner, other, Priority.URGENT)
    later = NOW + timedelta(minutes=30)  # `soon` has waited 70 minutes: missed, not savable
    with clock.at(later):
        do_prioritise_for_goals(workspace, later)
    soon.refresh_from_db()
    other.refresh_from_db()
    assert soon.priority == Priority.NORMAL and other.priority == Priority.URGENT
    back = Activity.objects.filter(conversation=soon, verb=Verb.PRIORITY_CHANGED).latest("id")
    assert back.data["reason"] == "goal:over" and back.actor_id is None
    # Not raised again: it is past the delay.
    with clock.at(later + timedelta(minutes=10)):
        assert do_prioritise_for_goals(workspace, later + timedelta(minutes=10)) == 0
