"""The rollups give the dashboard the same figures as the raw rows, kept up to date by the drain."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from cercle.core import clock
from cercle.inbox.actions import do_change_status, do_reply
from cercle.inbox.models import Conversation, Message
from cercle.insights import rollup
from cercle.insights.actions import do_roll_up
from cercle.insights.metrics import bucket, histogram_percentile, percentile
from cercle.insights.models import DailyRollup, RollupState, VolumeRollup
from cercle.insights.queries import Period, platform_mix, workspace_clock
from cercle.insights.report import Report, build_report
from cercle.insights.rollup import has_work, rollups_usable
from cercle.workflow.actions import do_save_business_hours
from cercle.workspaces.actors import Automation
from cercle.workspaces.choices import AutomationKind
from tests.insights.test_metrics import receive_at

# Monday 2 November 2026, 08:00 UTC (09:00 in Paris).
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=6, hours=5)  # Sunday, 14:00 in Paris


def at(days: float, minutes: float = 0) -> datetime:
    return T0 + timedelta(days=days, minutes=minutes)


def drain() -> None:
    with clock.at(NOW):
        for _ in range(100):
            if not do_roll_up().worked:
                return
    raise AssertionError("the drain did not settle")


def comparable(report: Report) -> Report:
    """A report without the conversation ids (the rollups count, they do not list)."""

    def bare(summary):  # type: ignore[no-untyped-def]
        return replace(summary, conversation_ids=())

    return replace(
        report,
        first=bare(report.first),
        every=bare(report.every),
        breakdowns={
            name: sorted(
                (replace(row, summary=bare(row.summary)) for row in rows), key=lambda r: r.key
            )
            for name, rows in report.breakdowns.items()
        },
        periods=[
            replace(row, first=bare(row.first), every=bare(row.every)) for row in report.periods
        ],
        persona_first={key: bare(summary) for key, summary in report.persona_first.items()},
    )


def assert_same(workspace, period):  # type: ignore[no-untyped-def]
    clock_, _name = workspace_clock(workspace)
    assert rollups_usable(workspace, clock_)
    rolled = build_report(workspace, period)
    raw = build_report(workspace, period, use_rollups=False)
    assert rolled.every.conversation_ids == ()  # the rollups were read
    assert comparable(rolled) == comparable(raw)
    return rolled


@pytest.fixture
def history_(owner, agent, workspace, sim_channel):
    """A week: reopened conversations, automated replies, closed without reply, waits that
    end days later, messages at night (another local day than in UTC)."""
    rule = Automation(workspace_id=workspace.pk, kind=AutomationKind.RULE, name="Auto-reply")
    for day in range(6):
        for n in range(4):
            author = f"d{day}n{n}"
            conversation = receive_at(sim_channel, f"m{day}-{n}", at(day, 37 * n + 13), author)
            if n == 0:
                with clock.at(at(day, 37 * n + 13 + 7 * (day + 1))):
                    do_reply(owner, conversation, "Voilà.")
                with clock.at(at(day, 400)):
                    do_change_status(owner, conversation, "closed")
                receive_at(sim_channel, f"r{day}", at(day, 900), author)  # reopens at night
            elif n == 1:
                with clock.at(at(day, 37 * n + 14)):
                    do_reply(rule, conversation, "Nous revenons vers vous.")
                with clock.at(at(day + 1.5)):  # answered the next day
                    do_reply(agent, conversation, "Réponse.")
            elif n == 2:
                with clock.at(at(day, 200)):
                    do_change_status(owner, conversation, "closed")
            # n == 3 is still waiting
    return workspace


def test_buckets_keep_order_and_the_histogram_percentile_equals_the_raw_one():
    values = [3.2, 59.9, 61, 119.5, 121, 3599, 7300, 50_000, 200_000, 7.0, 7.9]
    histogram: dict[int, int] = {}
    for value in values:
        histogram[bucket(value)] = histogram.get(bucket(value), 0) + 1
    for fraction in (0.1, 0.5, 0.9, 1.0):
        assert histogram_percentile(histogram, fraction) == percentile(
            [bucket(v) for v in values], fraction
        )
    assert [bucket(v) for v in (119.5, 121, 7300, 50_000, 200_000)] == [
        119,
        120,
        7200,
        49_500,
        198_000,
    ]


def test_the_rollups_equal_the_raw_computation_on_a_crafted_history(history_):
    assert has_work()
    drain()
    assert not has_work()
    assert DailyRollup.objects.filter(workspace=history_).exists()
    assert VolumeRollup.objects.filter(workspace=history_).exists()
    # From the middle of a day (a partial first day read raw) to now (today read raw).
    with clock.at(NOW):
        report = assert_same(history_, Period(at(-1, 600), NOW))
        assert_same(history_, Period(at(2, 100), NOW))
    assert report.every.waits == 6 * 5 and report.every.automated == 6
    assert report.posts[0].inbound == 6 * 5 and report.heatmap_total == 6 * 5
    assert sum(report.daily[i][1] for i in range(len(report.daily))) == 6 * 5


def test_the_drain_follows_later_activity_even_dated_in_the_past(history_, owner, sim_channel):
    drain()
    # A reply now to a wait of three days ago, a message today, an import dated two days ago.
    with clock.at(NOW):
        waiting = receive_at(sim_channel, "late", at(3, 30), "d3n3")
        do_reply(owner, waiting, "Enfin.")
    receive_at(sim_channel, "new", NOW - timedelta(hours=1), "fresh")
    receive_at(sim_channel, "import", at(4, 600), "imported")
    assert has_work()
    drain()
    with clock.at(NOW):
        report = assert_same(history_, Period(at(-1), NOW))
    assert report.every.waits == 6 * 5 + 2


def test_a_change_of_business_hours_rebuilds_the_rollups(history_, owner):
    drain()
    do_save_business_hours(
        owner,
        history_,
        name="Office",
        time_zone="Europe/Paris",
        weekly={str(d): [["09:00", "18:00"]] for d in range(5)},
        holidays=[(date(2026, 11, 4), "Holiday")],
    )
    clock_, _name = workspace_clock(history_)
    assert not rollups_usable(history_, clock_) and has_work()
    drain()
    with clock.at(NOW):
        report = assert_same(history_, Period(at(-1), NOW))
    assert report.every.median_business_seconds != report.every.median_seconds


def test_a_workspace_in_another_time_zone_counts_its_own_days(history_):
    history_.timezone = "America/Montreal"
    history_.save()
    drain()
    assert RollupState.objects.get(workspace=history_).ready
    with clock.at(NOW):
        assert_same(history_, Period(at(-1, 300), NOW))


def test_purged_messages_are_counted_again(history_, owner):
    from cercle.privacy.actions import do_purge_expired_messages, do_set_retention

    drain()
    do_set_retention(owner, history_, 3)
    with clock.at(NOW):
        while do_purge_expired_messages(history_.pk):
            pass
    drain()
    with clock.at(NOW):
        report = assert_same(history_, Period(at(-1), NOW))
    assert report.heatmap_total < 6 * 5


def test_the_team_breakdown_counts_each_answer_under_its_members_teams(history_, owner, agent):
    from cercle.workspaces.actions import do_create_team

    do_create_team(owner, history_, "Support", [owner.pk])
    do_create_team(owner, history_, "Nuit", [owner.pk, agent.pk])
    do_create_team(owner, history_, "Renfort", [agent.pk])
    drain()
    with clock.at(NOW):
        report = assert_same(history_, Period(at(-1, 600), NOW))
    member = {row.label: row.summary.waits for row in report.breakdowns["member"]}
    team = {row.label: row.summary.waits for row in report.breakdowns["team"]}
    # The owner (the only one who answered a first wait in time here) is in two teams: their
    # answers count in each; a team whose members answered nothing has no row; what no person
    # answered is "—".
    assert team == {
        "Support": member[owner.name],
        "Nuit": member[owner.name],
        "—": report.every.waits - member[owner.name],
    }
    assert member[owner.name] > 0


def test_the_command_builds_the_rollups_with_its_progress(history_, monkeypatch):
    import io

    from django.core.management import call_command

    from cercle.insights import actions
    from cercle.insights.models import RollupState, TermRollup

    monkeypatch.setattr(actions, "REBUILD_BATCH", 10)  # 24 conversations: three passes
    out = io.StringIO()
    with clock.at(NOW):
        call_command("insights_rollup", stdout=out)
    lines = out.getvalue().splitlines()
    assert any(": 10/24 conversations" in line for line in lines)
    assert any("counting the terms" in line for line in lines)
    assert any("grouping the waits of" in line for line in lines)
    assert lines[-1].startswith("rollups up to date in")
    assert RollupState.objects.get(workspace=history_).ready and not has_work()
    assert TermRollup.objects.filter(workspace=history_, term="").exists()
    with clock.at(NOW):
        assert_same(history_, Period(at(-1, 600), NOW))


def test_each_platforms_kinds_and_intents_from_the_rollups_equal_the_raw_ones(
    history_, monkeypatch
):
    inbound = Message.objects.filter(workspace=history_, direction="inbound").order_by("id")
    ids = list(inbound.values_list("id", flat=True))
    Message.objects.filter(id__in=ids[::3]).update(intent="question")
    Message.objects.filter(id__in=ids[1::3]).update(intent="praise")
    drain()
    reads = []
    read_mix = rollup.read_mix

    def spy(*args):  # type: ignore[no-untyped-def]
        reads.append(args)
        return read_mix(*args)

    monkeypatch.setattr(rollup, "read_mix", spy)
    period = Period(at(-1, 600), NOW)
    with clock.at(NOW):
        rolled = platform_mix(history_, period)
        assert len(reads) == 1  # the whole days came from the rollups
        monkeypatch.setattr(rollup, "rollups_usable", lambda *args: False)
        raw = platform_mix(history_, period)
    assert len(reads) == 1
    assert rolled == raw
    (row,) = rolled
    assert row.inbound == len(ids)
    questions, praise = len(ids[::3]), len(ids[1::3])
    assert dict(row.intents) == pytest.approx(
        {
            "question": 100 * questions / (questions + praise),
            "praise": 100 * praise / (questions + praise),
        }
    )


def test_a_personas_figures_from_the_records_equal_the_raw_ones_and_the_dashboards(
    history_, owner, monkeypatch
):
    from cercle.insights.actions import do_save_persona
    from cercle.insights.persona_figures import persona_figures

    everyone = do_save_persona(owner, history_, name="Tous", description="", conditions=[])
    drain()
    period = Period(at(-1, 600), NOW)
    with clock.at(NOW):
        rolled = persona_figures(everyone, period)
        dashboard = assert_same(history_, period)
        monkeypatch.setattr(rollup, "rollups_usable", lambda *args: False)
        raw = persona_figures(everyone, period)
    assert rolled == raw
    assert rolled.every == replace(dashboard.every, conversation_ids=())
    assert rolled.first == replace(dashboard.first, conversation_ids=())
    assert rolled.every.waits == 6 * 5 and rolled.every.automated == 6
    assert sum(map(sum, rolled.heatmap)) == dashboard.heatmap_total == 6 * 5
    assert rolled.size == 24 and len(rolled.sample) == 20


@pytest.mark.parametrize("unit", ["day", "week", "month"])
def test_the_periods_and_personas_from_the_rollups_equal_the_raw_ones(history_, owner, unit):
    from cercle.inbox.models import Contact
    from cercle.insights.actions import do_save_persona

    Contact.objects.filter(
        workspace=history_, display_name__in=["Person d0n0", "Person d1n1"]
    ).update(language="en")
    everyone = do_save_persona(owner, history_, name="Tous", description="", conditions=[])
    english = do_save_persona(
        owner,
        history_,
        name="English",
        description="",
        conditions=[{"kind": "language", "values": ["en"]}],
    )
    drain()
    with clock.at(NOW):
        period = Period(at(-1), NOW)
        rolled = build_report(history_, period, unit=unit)
        raw = build_report(history_, period, use_rollups=False, unit=unit)
    assert rolled.every.conversation_ids == ()  # the rollups were read
    assert comparable(rolled) == comparable(raw)
    assert rolled.unit == unit and [row.key for row in rolled.periods][:1] == [
        {"day": "2026-11-01", "week": "2026-10-26", "month": "2026-11-01"}[unit]
    ]
    # Every wait of the period counts in exactly one period; both personas hold some waits.
    assert sum(row.every.waits for row in rolled.periods) == rolled.every.waits
    personas = {row.key: row.summary.waits for row in rolled.breakdowns["persona"]}
    assert personas[str(everyone.pk)] == rolled.every.waits
    assert 0 < personas[str(english.pk)] < rolled.every.waits


def test_the_records_keep_the_contact_and_follow_a_merge_of_contacts(history_, owner):
    from cercle.inbox.merge import do_merge_contacts
    from cercle.inbox.models import Contact
    from cercle.insights.models import WaitRecord

    drain()
    records = WaitRecord.objects.filter(workspace=history_)
    assert not records.filter(contact_id__isnull=True).exists()
    source = Contact.objects.get(identities__external_id="d0n0")
    target = Contact.objects.get(identities__external_id="d1n0")
    moved = set(Conversation.objects.filter(contact=source).values_list("pk", flat=True))
    assert set(records.filter(contact_id=source.pk).values_list("conversation_id", flat=True))
    with clock.at(NOW):
        do_merge_contacts(owner, source, target)
    drain()
    assert not records.filter(contact_id=source.pk).exists()
    assert moved <= set(
        records.filter(contact_id=target.pk).values_list("conversation_id", flat=True)
    )
