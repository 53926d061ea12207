"""Acceptance, "two time zones": the same UTC instants in a Paris workspace and a New York one,
each with business hours Monday to Friday 09:00–18:00 in its own zone, give different
business-hours response times and different daily, weekday and period buckets. Checked against
hand-computed values, from the raw rows and from the rollups alike.

In November 2026 both zones are on winter time: Paris is UTC+1, New York UTC−5.
"""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from cercle.core import clock
from cercle.inbox.actions import do_reply
from cercle.insights.actions import do_roll_up
from cercle.insights.queries import Period, workspace_clock
from cercle.insights.report import Report, build_report
from cercle.insights.rollup import rollups_usable
from cercle.pipeline.actions import do_create_channel
from cercle.workflow.actions import do_save_business_hours
from cercle.workflow.models import BusinessHours
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from cercle.workspaces.models import Member
from tests.insights.test_metrics import receive_at
from tests.insights.test_rollup import comparable

OFFICE = {str(d): [["09:00", "18:00"]] for d in range(5)}  # Monday to Friday
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # Friday 20 November

# The conversations, in UTC (Paris | New York local times):
# A received Mon 9 Nov 16:00 (Mon 17:00 | Mon 11:00), answered 19:00 (20:00 | 14:00).
A = (datetime(2026, 11, 9, 16, 0, tzinfo=UTC), datetime(2026, 11, 9, 19, 0, tzinfo=UTC))
# C received Tue 10 Nov 04:00 (Tue 05:00 | Mon 23:00), answered 14:30 (Tue 15:30 | Tue 09:30).
C = (datetime(2026, 11, 10, 4, 0, tzinfo=UTC), datetime(2026, 11, 10, 14, 30, tzinfo=UTC))
# B received Fri 13 Nov 23:30 (Sat 00:30 | Fri 18:30), answered Mon 16 Nov 15:00
# (Mon 16:00 | Mon 10:00).
B = (datetime(2026, 11, 13, 23, 30, tzinfo=UTC), datetime(2026, 11, 16, 15, 0, tzinfo=UTC))


def _workspace(name: str, zone: str, username: str):  # type: ignore[no-untyped-def]
    workspace = do_create_workspace(name, timezone=zone)
    owner = do_add_member(workspace, do_create_user(username, "correct horse battery"), Role.OWNER)
    do_save_business_hours(
        owner, workspace, name="Bureau", time_zone=zone, weekly=OFFICE, holidays=[]
    )
    channel = do_create_channel(
        workspace, "simulator", f"Forum {name}", config={"api_base": "https://sim.example"}
    )
    for label, (received, answered) in (("a", A), ("c", C), ("b", B)):
        conversation = receive_at(channel, f"{username}-{label}", received, f"{username}-{label}")
        with clock.at(answered):
            do_reply(owner, conversation, "Bonjour !")
    return workspace


@pytest.fixture
def two(db):  # type: ignore[no-untyped-def]
    return _workspace("Paris", "Europe/Paris", "paris"), _workspace(
        "New York", "America/New_York", "newyork"
    )


def _reports(workspace) -> tuple[Report, Report]:  # type: ignore[no-untyped-def]
    """The report of the 14 local days up to NOW, by day, from the rollups and from the raw rows
    (which must agree)."""
    with clock.at(NOW):
        while do_roll_up().worked:
            pass
        clock_, _name = workspace_clock(workspace)
        assert rollups_usable(workspace, clock_)
        period = Period.local_days(14, NOW, ZoneInfo(workspace.timezone))
        rolled = build_report(workspace, period, unit="day")
        raw = build_report(workspace, period, use_rollups=False, unit="day")
    assert rolled.every.conversation_ids == ()  # the rollups were read
    assert comparable(rolled) == comparable(raw)
    return rolled, raw


def test_the_same_instants_count_in_each_workspaces_time_zone(two):  # type: ignore[no-untyped-def]
    paris, new_york = (_reports(workspace)[1] for workspace in two)

    # Around the clock the waits are the same in both: A 3 h, C 10 h 30, B 63 h 30.
    # Bucketed (metrics.bucket): 10 800 s, 37 800 s, 228 600 s floored to the hour = 226 800 s.
    # Sorted [10 800, 37 800, 226 800]: median (rank 2) 37 800, p90 (rank 3) 226 800.
    for report in (paris, new_york):
        assert (report.first.waits, report.first.answered) == (3, 3)
        assert (report.first.median_seconds, report.first.p90_seconds) == (37_800, 226_800)

    # In business hours:
    # Paris:    A 17:00→18:00 = 1 h;  C Tue 09:00→15:30 = 6 h 30;  B Sat, Sun off, Mon 09:00→16:00
    #           = 7 h.  Sorted [3 600, 23 400, 25 200]: median 23 400, p90 25 200.
    # New York: A 11:00→14:00 = 3 h;  C Mon 23:00 closed, Tue 09:00→09:30 = 30 min;  B Fri 18:30
    #           closed, Sat, Sun off, Mon 09:00→10:00 = 1 h.  Sorted [1 800, 3 600, 10 800]:
    #           median 3 600, p90 10 800.
    assert (paris.first.median_business_seconds, paris.first.p90_business_seconds) == (
        23_400,
        25_200,
    )
    assert (new_york.first.median_business_seconds, new_york.first.p90_business_seconds) == (
        3_600,
        10_800,
    )

    # Daily volume, in each local calendar: Paris Mon 9 (A), Tue 10 (C), Sat 14 (B);
    # New York Mon 9 (A and C, at 23:00), Fri 13 (B).
    paris_days = {day: n for day, n in paris.daily if n}
    new_york_days = {day: n for day, n in new_york.daily if n}
    assert paris_days == {"2026-11-09": 1, "2026-11-10": 1, "2026-11-14": 1}
    assert new_york_days == {"2026-11-09": 2, "2026-11-13": 1}

    # Weekday × hour: Paris Mon 17h, Tue 5h, Sat 0h; New York Mon 11h, Mon 23h, Fri 18h.
    def cells(report: Report) -> set[tuple[int, int]]:
        return {(d, h) for d in range(7) for h in range(24) if report.heatmap[d][h]}

    assert cells(paris) == {(0, 17), (1, 5), (5, 0)}
    assert cells(new_york) == {(0, 11), (0, 23), (4, 18)}

    # Per day: Paris' Monday holds A alone (3 h; 1 h in business hours); New York's Monday
    # holds A and C (3 h and 10 h 30: median rank 1 = 10 800; business 3 h and 30 min:
    # median rank 1 = 1 800).
    def day(report: Report, key: str):  # type: ignore[no-untyped-def]
        return next(row for row in report.periods if row.key == key)

    assert (day(paris, "2026-11-09").first.waits, day(new_york, "2026-11-09").first.waits) == (1, 2)
    assert day(paris, "2026-11-09").first.median_business_seconds == 3_600
    assert day(new_york, "2026-11-09").first.median_seconds == 10_800
    assert day(new_york, "2026-11-09").first.median_business_seconds == 1_800
    # B: Saturday 14 in Paris, Friday 13 in New York; its business time 7 h and 1 h.
    assert day(paris, "2026-11-14").first.median_business_seconds == 25_200
    assert day(new_york, "2026-11-13").first.median_business_seconds == 3_600
    assert day(paris, "2026-11-13").first.waits == day(new_york, "2026-11-14").first.waits == 0


def test_a_workspace_that_moves_to_another_time_zone_counts_again(two):  # type: ignore[no-untyped-def]
    paris, _new_york = two
    before, _raw = _reports(paris)
    # Paris moves to New York, its hours with it: the rollups are rebuilt in the new zone and
    # the figures become New York's.
    paris.timezone = "America/New_York"
    paris.save()
    hours = BusinessHours.objects.get(workspace=paris)
    owner = Member.objects.get(workspace=paris)
    do_save_business_hours(
        owner,
        paris,
        name="Bureau",
        time_zone="America/New_York",
        weekly=OFFICE,
        holidays=[],
        hours=hours,
    )
    after, _raw = _reports(paris)
    assert (before.first.median_business_seconds, after.first.median_business_seconds) == (
        23_400,
        3_600,
    )
    assert {d for d, n in after.daily if n} == {"2026-11-09", "2026-11-13"}
    assert date(2026, 11, 14).isoformat() in {d for d, n in before.daily if n}
