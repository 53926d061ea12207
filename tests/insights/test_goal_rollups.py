"""Goals read the rollups for whole days and agree with the raw computation on a crafted history."""

from datetime import date, timedelta
from unittest import mock

import pytest

from cercle.core import clock
from cercle.inbox.models import Message
from cercle.insights import queries
from cercle.insights.actions import do_prioritise_for_goals, do_save_goal
from cercle.insights.goals import goal_status, in_time, kpi_value
from cercle.insights.models import Goal
from cercle.insights.rollup import rollups_usable
from cercle.workflow.actions import do_save_business_hours
from tests.insights.test_rollup import NOW, at, drain, history_  # noqa: F401

GOALS = [
    {"kpi": "answered_within", "minutes": 30},
    {"kpi": "answered_within", "minutes": 600},
    {"kpi": "answered_within", "minutes": 60, "business_hours": True},
    {"kpi": "questions_within", "minutes": 45},
    {"kpi": "questions_within", "minutes": 2000, "business_hours": True},
    {"kpi": "answer_rate"},
    {"kpi": "median_first_response", "target": 30, "comparison": "lte"},
    {"kpi": "median_first_response", "target": 30, "comparison": "lte", "business_hours": True},
    {"kpi": "negative_share", "target": 10, "comparison": "lte"},
]


def periods():
    """Whole days with today so far; a partial first day; a day just ended; one local day."""
    return [
        (at(-1), NOW),
        (at(0, 500), NOW),
        (at(1, -540), at(5, -540)),  # midnight to midnight in Paris (08:00 UTC is 09:00 there)
        (at(3, -540), at(3, 960)),
    ]


def label(workspace):
    """What the classifiers said (crafted before the rollups are built, so both read it)."""
    inbound = Message.objects.filter(workspace=workspace, direction="inbound")
    for n, message in enumerate(inbound.order_by("id")):
        message.intent = "question" if n % 3 == 0 else "feedback"
        message.sentiment = ("negative", "neutral", "positive", "")[n % 4]
        message.save(update_fields=["intent", "sentiment"])


def goal(owner, fields):
    values = {"name": fields["kpi"], "target": 80, "period": "week", "owner": owner, **fields}
    with clock.at(NOW):
        return do_save_goal(owner, owner.workspace, Goal(**values))


@pytest.mark.parametrize("business", [False, True])
def test_every_kpi_from_the_rollups_equals_the_raw_one(history_, owner, business):  # noqa: F811
    workspace = history_
    workspace.timezone = "Europe/Paris"
    workspace.save()
    if business:
        do_save_business_hours(
            owner,
            workspace,
            name="Office",
            time_zone="Europe/Paris",
            weekly={str(d): [["09:00", "18:00"]] for d in range(5)},
            holidays=[(date(2026, 11, 4), "Holiday")],
        )
    label(workspace)
    drain()
    clock_, _name = queries.workspace_clock(workspace)
    assert rollups_usable(workspace, clock_)
    seen = set()
    for fields in GOALS:
        the_goal = goal(owner, fields)
        for start, end in periods():
            with clock.at(NOW):
                rolled = kpi_value(the_goal, workspace, start, end)
                raw = kpi_value(the_goal, workspace, start, end, use_rollups=False)
            assert rolled == pytest.approx(raw), (fields, start, end)
            seen.add(raw)
    assert len(seen) > 6  # the crafted history gives different figures, not all None


def test_whole_days_are_not_read_from_the_log(history_, owner):  # noqa: F811
    label(history_)
    drain()
    the_goal = goal(owner, {"kpi": "answered_within", "minutes": 30})
    start, end = at(1, -540), at(5, -540)  # whole days only
    with clock.at(NOW), mock.patch.object(queries, "history", side_effect=AssertionError):
        rolled = kpi_value(the_goal, history_, start, end)
    assert rolled == kpi_value(the_goal, history_, start, end, use_rollups=False)
    assert rolled is not None


def test_the_status_and_the_priority_drain_read_the_rollups(history_, owner):  # noqa: F811
    label(history_)
    drain()
    the_goal = goal(owner, {"kpi": "answered_within", "minutes": 30, "target": 95})
    calls = []
    real = queries.history

    def spy(workspace, period):  # type: ignore[no-untyped-def]
        calls.append(period)
        return real(workspace, period)

    with clock.at(NOW), mock.patch.object(queries, "history", side_effect=spy):
        status = goal_status(the_goal, NOW)
        do_prioritise_for_goals(history_, NOW)
    assert status.value is not None
    # Only the edges read the log: none of them is longer than a day.
    assert calls and all(p.end - p.start <= timedelta(days=1) for p in calls)


def test_in_time_counts_to_the_bucket_of_the_delay():
    assert in_time(3600, timedelta(minutes=60)) and in_time(3659, timedelta(minutes=60))
    assert not in_time(3660, timedelta(minutes=60))
    assert in_time(59.5, timedelta(minutes=1)) and not in_time(120, timedelta(minutes=1))
