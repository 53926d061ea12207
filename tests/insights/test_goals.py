"""Goals: the period's bounds, each KPI against hand-computed values, the status, the pages."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.inbox.actions import do_change_status, do_receive, do_reply
from cercle.inbox.models import Conversation, Message
from cercle.insights.actions import do_delete_goal, do_save_goal
from cercle.insights.goals import Status, goal_status, period_bounds
from cercle.insights.models import Goal
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from cercle.workspaces.models import Activity
from tests.conftest import sim_body, sim_event

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday
HOSTILE = "<img src=x onerror=alert(1)>"


def test_period_bounds_follow_the_workspace_time_zone():
    week = period_bounds("week", NOW, PARIS)
    month = period_bounds("month", NOW, PARIS)
    quarter = period_bounds("quarter", NOW, PARIS)
    assert week == (datetime(2026, 11, 16, tzinfo=PARIS), datetime(2026, 11, 23, tzinfo=PARIS))
    assert month == (datetime(2026, 11, 1, tzinfo=PARIS), datetime(2026, 12, 1, tzinfo=PARIS))
    assert quarter == (datetime(2026, 10, 1, tzinfo=PARIS), datetime(2027, 1, 1, tzinfo=PARIS))
    # Midnight in Paris is 23:00 UTC in winter, 22:00 UTC in summer.
    assert quarter[0].astimezone(UTC) == datetime(2026, 9, 30, 22, 0, tzinfo=UTC)
    assert period_bounds("month", datetime(2026, 12, 31, 23, 30, tzinfo=UTC), PARIS)[0] == (
        datetime(2027, 1, 1, tzinfo=PARIS)
    )


def receive_at(channel, event_id, when, author):
    event = sim_event(event_id, text="Une question ?", author={"id": author, "name": author})
    event["created_at"] = when.isoformat()
    with clock.at(when):
        do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(event))))
    return Conversation.objects.get(channel=channel, contact__identities__external_id=author)


@pytest.fixture
def history(owner, workspace, sim_channel):
    """November (the current month): A answered in 10 min, B in 90 min, C closed without a reply,
    D waiting for an hour at NOW. October: E answered in 20 min."""
    a = receive_at(sim_channel, "a", datetime(2026, 11, 3, 9, tzinfo=UTC), "ua")
    with clock.at(datetime(2026, 11, 3, 9, 10, tzinfo=UTC)):
        do_reply(owner, a, "Voilà")
    b = receive_at(sim_channel, "b", datetime(2026, 11, 4, 9, tzinfo=UTC), "ub")
    with clock.at(datetime(2026, 11, 4, 10, 30, tzinfo=UTC)):
        do_reply(owner, b, "Voilà")
    c = receive_at(sim_channel, "c", datetime(2026, 11, 5, 9, tzinfo=UTC), "uc")
    with clock.at(datetime(2026, 11, 5, 9, 5, tzinfo=UTC)):
        do_change_status(owner, c, "closed")
    receive_at(sim_channel, "d", NOW - timedelta(hours=1), "ud")
    e = receive_at(sim_channel, "e", datetime(2026, 10, 10, 9, tzinfo=UTC), "ue")
    with clock.at(datetime(2026, 10, 10, 9, 20, tzinfo=UTC)):
        do_reply(owner, e, "Voilà")
    # What the classifiers would have said (crafted, so the figures are known).
    inbound = Message.objects.filter(workspace=workspace, direction="inbound")
    inbound.filter(conversation__in=[a, b]).update(intent="question")
    inbound.filter(conversation__in=[a, b, c]).update(sentiment="neutral")
    inbound.filter(conversation=c).update(sentiment="negative")
    return workspace


def make_goal(owner, **fields):
    defaults = {"name": "Goal", "comparison": "gte", "period": "month", "owner": owner}
    with clock.at(NOW):
        return do_save_goal(owner, owner.workspace, Goal(**{**defaults, **fields}))


def test_answered_within_counts_a_late_open_wait_as_missed(history, owner):
    goal = make_goal(owner, kpi="answered_within", minutes=30, target=90)
    status = goal_status(goal, NOW)
    # A in time; B late (90 min); D open for 60 min > 30; C needed no reply: 1 of 3.
    assert status.value == pytest.approx(100 / 3)
    assert (status.previous, status.status, status.previous_status) == (
        100.0,
        Status.AT_RISK,
        Status.MET,
    )
    assert status.trend == pytest.approx(100 / 3 - 100)


def test_an_open_wait_still_in_time_is_not_counted_yet(history, owner):
    goal = make_goal(owner, kpi="answered_within", minutes=120, target=90)
    assert goal_status(goal, NOW).value == 100.0  # A and B; D is 60 min into 120


def test_questions_only_and_median_first_response(history, owner):
    questions = make_goal(owner, kpi="questions_within", minutes=30, target=50)
    median = make_goal(owner, kpi="median_first_response", target=30, comparison="lte")
    assert goal_status(questions, NOW).value == 50.0  # A in time, B late
    status = goal_status(median, NOW)
    # Nearest-rank median of 10 and 90 minutes; the recent days have no answer: no projection change.
    assert (status.value, status.projected, status.status) == (10.0, 10.0, Status.ON_TRACK)
    assert status.previous == 20.0 and status.trend_is_better is True


def test_the_projection_at_the_recent_pace_puts_a_met_target_at_risk(history, owner):
    goal = make_goal(owner, kpi="answer_rate", target=50)
    status = goal_status(goal, NOW)
    # So far: A and B answered among the 3 waits that needed an answer.
    assert status.value == pytest.approx(200 / 3)
    # 421 of 720 hours elapsed; the recent quarter (D alone, unanswered) answered 0 %.
    assert status.elapsed_share == pytest.approx(421 / 720)
    assert status.projected == pytest.approx(200 / 3 * 421 / 720)
    assert status.status == Status.AT_RISK


def test_negative_share_of_messages(history, owner):
    goal = make_goal(owner, kpi="negative_share", target=10, comparison="lte")
    status = goal_status(goal, NOW)
    assert status.value == pytest.approx(100 / 3)  # C among the three judged messages
    assert status.previous is None and status.previous_status == Status.NO_DATA


def test_a_goal_needs_its_minutes_and_a_share_within_bounds(owner):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        make_goal(owner, kpi="answered_within", target=90)
    with pytest.raises(ValidationError):
        make_goal(owner, kpi="answer_rate", target=120)


def test_saving_and_deleting_are_logged_and_for_managers_only(owner, agent, workspace):
    goal = make_goal(owner, kpi="answer_rate", target=95)
    with pytest.raises(PermissionDenied):
        do_save_goal(agent, workspace, Goal(name="x", kpi="answer_rate", target=1))
    with pytest.raises(PermissionDenied):
        do_delete_goal(agent, goal)
    do_delete_goal(owner, goal)
    settings = list(
        Activity.objects.filter(workspace=workspace, verb="workspace_changed").values_list(
            "data__setting", flat=True
        )
    )
    assert settings[-2:] == ["goal", "goal_deleted"] and not Goal.objects.exists()


# --- the page ---------------------------------------------------------------------------


@pytest.fixture
def lea(client, owner):
    assert client.login(username="lea", password="correct horse battery")
    return client


def test_the_goals_page_shows_live_status_and_escapes_names(lea, owner):
    make_goal(owner, name=HOSTILE, kpi="answer_rate", target=95)
    content = lea.get(reverse("insights:goals")).content.decode()
    assert "&lt;img src=x" in content and HOSTILE not in content and "No data yet" in content
    assert reverse("insights:goals") in lea.get(reverse("insights:dashboard")).content.decode()


def test_a_manager_creates_a_goal_through_the_form(lea, owner):
    response = lea.post(
        reverse("insights:goal_new"),
        {
            "name": "Questions in an hour",
            "kpi": "questions_within",
            "minutes": "60",
            "business_hours": "on",
            "comparison": "gte",
            "target": "90",
            "period": "week",
            "owner": str(owner.pk),
        },
    )
    assert response.status_code == 302
    goal = Goal.objects.get()
    assert (goal.minutes, goal.business_hours, goal.owner, goal.workspace) == (
        60,
        True,
        owner,
        owner.workspace,
    )


def test_a_viewer_reads_goals_but_cannot_save(client, owner, workspace):
    user = do_create_user("vic", "correct horse battery")
    do_add_member(workspace, user, Role.VIEWER)
    goal = make_goal(owner, kpi="answer_rate", target=95)
    assert client.login(username="vic", password="correct horse battery")
    assert client.get(reverse("insights:goals")).status_code == 200
    assert client.post(reverse("insights:goal_new"), {"name": "x"}).status_code == 403
    assert client.post(reverse("insights:goal_delete", args=[goal.pk])).status_code == 403
    assert Goal.objects.count() == 1


def test_another_workspaces_goal_is_a_404(lea, db):
    other = do_create_workspace("Other")
    boss = do_add_member(other, do_create_user("boss", "correct horse battery"), Role.OWNER)
    theirs = make_goal(boss, name="Their secret goal", kpi="answer_rate", target=95)
    assert lea.get(reverse("insights:goal_edit", args=[theirs.pk])).status_code == 404
    assert lea.post(reverse("insights:goal_delete", args=[theirs.pk])).status_code == 404
    assert "Their secret goal" not in lea.get(reverse("insights:goals")).content.decode()
    assert Goal.objects.filter(pk=theirs.pk).exists()


def test_returning_contributors_growth_against_the_same_length_of_time_before(owner, sim_channel):
    from tests.insights.test_metrics import receive_at

    def wrote(author: str, *days: tuple[int, int]) -> None:
        for index, (day, hour) in enumerate(days):
            when = datetime(2026, 11, day, hour, 0, tzinfo=UTC)
            receive_at(sim_channel, f"{author}-{index}", when, author)

    # The week so far is Monday 16 Nov 00:00 Paris (15 Nov 23:00 UTC) to now (18 Nov 12:00):
    # 2 days 13 h; the same length before it starts 13 Nov 10:00 UTC.
    wrote("u1", (1, 9), (14, 12), (17, 9))  # returning before, returning now
    wrote("u2", (2, 9), (17, 10))  # returning now only
    wrote("u3", (3, 9), (14, 13))  # returning before only
    wrote("u4", (17, 11))  # a first-timer now
    wrote("u5", (14, 14), (17, 12))  # a first-timer before, returning now
    goal = make_goal(owner, kpi="returning_growth", target=20, period="week")
    status = goal_status(goal, NOW)
    # Before: u1, u3 = 2; now: u1, u2, u5 = 3: +50 %. The last day alone (u5 against u1 and u2
    # the day before: -50 %) projects 50 × 0.36 - 50 × 0.64 ≈ -14 % at the week's end: at risk.
    # The previous week (u1, u3) has nobody returning in the week before it: no figure.
    assert (status.value, goal.is_share, status.previous, status.status) == (
        50.0,
        True,
        None,
        Status.AT_RISK,
    )


def test_a_growth_target_may_be_negative_but_not_a_share(owner):
    from django.core.exceptions import ValidationError

    assert make_goal(owner, kpi="returning_growth", target=-10, period="quarter").target == -10
    with pytest.raises(ValidationError):
        make_goal(owner, kpi="answer_rate", target=-10)
