"""Response metrics checked against hand-computed values on a crafted history."""

from datetime import UTC, date, datetime, timedelta

import pytest

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.inbox.actions import do_change_status, do_receive, do_reply
from cercle.inbox.models import Conversation
from cercle.insights.metrics import Event, percentile, read_history, summarise
from cercle.insights.queries import Period, history
from cercle.insights.report import build_report
from cercle.workflow.sla import Clock
from cercle.workspaces.actors import Automation
from cercle.workspaces.choices import AutomationKind
from tests.conftest import sim_body, sim_event

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- the pure reading of a log ----------------------------------------------------------


def test_a_reopened_conversation_starts_a_new_wait_not_a_longer_one():
    events = [
        Event(1, "received", at(0)),
        Event(1, "replied", at(10), member_id=7),
        Event(1, "status_changed", at(11), new_status="closed"),
        Event(1, "received", at(600)),  # reopened ten hours later
        Event(1, "replied", at(630), member_id=7),
    ]
    waits = read_history(events).waits
    assert [(w.first, (w.ended_at - w.started_at).total_seconds() / 60) for w in waits] == [
        (True, 10.0),
        (False, 30.0),
    ]


def test_an_automated_reply_ends_the_wait_but_is_counted_apart():
    events = [
        Event(1, "received", at(0)),
        Event(1, "replied", at(1), automated=True),
        Event(2, "received", at(0)),
        Event(2, "replied", at(20), member_id=7),
    ]
    summary = summarise(read_history(events).waits, Clock.around_the_clock())
    assert (summary.answered, summary.automated, summary.median_seconds) == (2, 1, 1200.0)


def test_a_wait_closed_without_reply_is_not_an_answer_and_not_a_miss():
    events = [
        Event(1, "received", at(0)),
        Event(1, "status_changed", at(5), new_status="closed"),  # "thanks!": nothing to answer
        Event(2, "received", at(0)),
        Event(2, "replied", at(30), member_id=7),
        Event(3, "received", at(0)),  # still waiting
    ]
    summary = summarise(read_history(events).waits, Clock.around_the_clock())
    assert (summary.closed_unanswered, summary.answered, summary.answered_share) == (1, 1, 0.5)


def test_two_inbound_items_before_the_reply_are_one_wait_from_the_first():
    events = [
        Event(1, "received", at(0)),
        Event(1, "received", at(5)),
        Event(1, "replied", at(25), member_id=7),
    ]
    (wait,) = read_history(events).waits
    assert wait.ended_at - wait.started_at == timedelta(minutes=25)


def test_business_hours_count_across_a_weekend_and_a_holiday():
    office = Clock.from_schedule(
        "Europe/Paris",
        {str(d): [["09:00", "18:00"]] for d in range(5)},
        frozenset({date(2026, 12, 28)}),
    )
    friday_17h = datetime(2026, 12, 25, 16, 0, tzinfo=UTC)  # Friday 17:00 in Paris
    tuesday_10h = datetime(2026, 12, 29, 9, 0, tzinfo=UTC)  # Tuesday 10:00; Monday is off
    events = [Event(1, "received", friday_17h), Event(1, "replied", tuesday_10h, member_id=7)]
    summary = summarise(read_history(events).waits, office)
    assert (summary.median_seconds, summary.median_business_seconds) == (
        (tuesday_10h - friday_17h).total_seconds(),
        2 * 3600.0,
    )


def test_the_same_wait_counts_differently_in_two_time_zones():
    weekdays = {str(d): [["09:00", "18:00"]] for d in range(5)}
    paris = Clock.from_schedule("Europe/Paris", weekdays, frozenset())
    montreal = Clock.from_schedule("America/Montreal", weekdays, frozenset())
    start = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 17:00 Paris, 11:00 Montreal
    end = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)  # 20:00 Paris, 14:00 Montreal
    assert (paris.working_time_between(start, end), montreal.working_time_between(start, end)) == (
        timedelta(hours=1),
        timedelta(hours=3),
    )


def test_percentile_is_nearest_rank():
    assert (percentile([1, 2, 3, 4, 10], 0.5), percentile([1, 2, 3, 4, 10], 0.9)) == (3, 10)


# --- from the real Activity log ---------------------------------------------------------


def receive_at(channel, event_id, when, author="u1", text="Bonjour, une question ?"):
    event = sim_event(event_id, text=text, author={"id": author, "name": f"Person {author}"})
    event["created_at"] = when.isoformat()
    items = connector_for(channel).parse(RawEventData(body=sim_body(event)))
    with clock.at(when):
        do_receive(channel, items)
    return Conversation.objects.get(channel=channel, contact__identities__external_id=author)


@pytest.fixture
def crafted(owner, workspace, sim_channel):
    """Three conversations: answered in 10 min then reopened and answered in 30 min;
    auto-answered in 1 min; closed without reply."""
    first = receive_at(sim_channel, "a1", at(0), "u1")
    with clock.at(at(10)):
        do_reply(owner, first, "Voilà !")
    with clock.at(at(11)):
        do_change_status(owner, first, "closed")
    receive_at(sim_channel, "a2", at(600), "u1")
    with clock.at(at(630)):
        do_reply(owner, first, "Encore là !")
    auto = receive_at(sim_channel, "b1", at(0), "u2")
    rule = Automation(workspace_id=workspace.pk, kind=AutomationKind.RULE, name="Auto-reply")
    with clock.at(at(1)):
        do_reply(rule, auto, "Nous revenons vers vous.")
    thanks = receive_at(sim_channel, "c1", at(0), "u3", text="Merci !")
    with clock.at(at(5)):
        do_change_status(owner, thanks, "closed")
    return workspace


def test_the_log_of_a_crafted_history_gives_the_hand_computed_figures(crafted):
    waits = history(crafted, Period(T0 - timedelta(days=1), T0 + timedelta(days=1))).waits
    summary = summarise(waits, Clock.around_the_clock())
    # Team answers: 10 and 30 minutes (the automated 1 minute is apart); one closed unanswered.
    assert (summary.waits, summary.answered, summary.automated, summary.closed_unanswered) == (
        4,
        3,
        1,
        1,
    )
    assert (summary.median_seconds, summary.p90_seconds) == (600.0, 1800.0)


def test_the_report_splits_first_responses_and_members(crafted, owner):
    report = build_report(crafted, Period(T0 - timedelta(days=1), T0 + timedelta(days=1)))
    members = {row.label: row.summary.waits for row in report.breakdowns["member"]}
    assert (report.first.median_seconds, report.first.waits, members[owner.name]) == (600.0, 3, 2)
