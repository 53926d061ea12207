"""The breakdowns by persona and by period, their charts' JSON endpoints, and the personas side
by side: hand-computed figures on the crafted history of test_metrics."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse

from cercle.connectors.models import Channel
from cercle.core import clock
from cercle.inbox.models import Contact, Message
from cercle.insights.actions import do_save_persona
from cercle.insights.queries import Period
from cercle.insights.report import build_report, default_unit, unit_label, unit_start
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from tests.insights.test_metrics import T0, at, crafted, receive_at  # noqa: F401 (fixture)

# The crafted history (test_metrics): on Monday 2 November 2026, from 09:00 UTC (10:00 Paris),
# u1 is answered in 10 min, closed, comes back at 19:00 UTC and is answered in 30 min; u2 is
# answered by an automation in 1 min; u3 says thanks and is closed without a reply in 5 min.
NOW = T0 + timedelta(days=1)  # Tuesday 3 November, 10:00 Paris
PERIOD = Period(T0 - timedelta(days=1), NOW)


@pytest.fixture
def lea(client, owner):
    assert client.login(username="lea", password="correct horse battery")
    return client


@pytest.fixture
def personas(crafted, owner):  # noqa: F811
    """ "Tous" holds every contact; "English" holds u1 and u2 (u1 is in both)."""
    Contact.objects.filter(workspace=crafted, display_name__in=["Person u1", "Person u2"]).update(
        language="en"
    )
    # a1 negative, a2 positive, b1 not judged, c1 positive.
    for external_id, sentiment in (
        ("a1", "negative"),
        ("a2", "positive"),
        ("b1", ""),
        ("c1", "positive"),
    ):
        Message.objects.filter(workspace=crafted, external_id=external_id).update(
            sentiment=sentiment
        )
    everyone = do_save_persona(owner, crafted, name="Tous", description="", conditions=[])
    english = do_save_persona(
        owner,
        crafted,
        name="English",
        description="",
        conditions=[{"kind": "language", "values": ["en"]}],
    )
    return everyone, english


def test_a_contact_in_two_personas_counts_in_each(personas):
    everyone, english = personas
    report = build_report(everyone.workspace, PERIOD)
    rows = {row.label: row.summary for row in report.breakdowns["persona"]}
    # Tous: the 4 waits (10 min and 30 min by the team, 1 min automated, 1 closed unanswered).
    assert (rows["Tous"].waits, rows["Tous"].answered, rows["Tous"].closed_unanswered) == (4, 3, 1)
    # English: u1's two waits and u2's automated one; team answers 10 and 30 min:
    # median (nearest rank 1 of 2) 600 s, p90 (rank 2) 1800 s.
    assert (rows["English"].waits, rows["English"].automated) == (3, 1)
    assert (rows["English"].median_seconds, rows["English"].p90_seconds) == (600.0, 1800.0)
    assert set(rows["English"].conversation_ids) < set(rows["Tous"].conversation_ids)
    # First waits: u1 (10 min) and u2 (automated): the team's median is u1's 600 s.
    first = report.persona_first[str(english.pk)]
    assert (first.waits, first.median_seconds) == (2, 600.0)


def test_the_periods_of_the_crafted_history(crafted):  # noqa: F811
    report = build_report(crafted, PERIOD)  # two days: by day
    assert report.unit == "day" == default_unit(PERIOD)
    assert [row.key for row in report.periods] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    empty, monday, tuesday = report.periods
    assert (empty.every.waits, tuesday.every.waits, monday.every.waits) == (0, 0, 4)
    # Monday's first waits: u1 (10 min by the team), u2 (automated), u3 (closed): median 600 s.
    assert (monday.first.waits, monday.first.median_seconds) == (3, 600.0)
    # Answered: 3 of the 3 waits that needed an answer (u3's was closed without one).
    assert monday.every.answered_share == 1.0
    # Closed cycles: u1's first (11 min, 660 s) and u3's (5 min, 300 s); nearest rank 1 of 2.
    assert monday.resolution_median_seconds == 300.0
    weekly = build_report(crafted, PERIOD, unit="week")
    assert [(row.key, row.label, row.every.waits) for row in weekly.periods] == [
        ("2026-10-26", "2026-W44", 0),
        ("2026-11-02", "2026-W45", 4),
    ]


def test_units_and_their_labels():
    monday = T0.date()
    assert unit_start(monday + timedelta(days=6), "week") == monday
    assert unit_start(monday + timedelta(days=6), "month").isoformat() == "2026-11-01"
    assert (unit_label(monday, "week"), unit_label(monday, "month")) == ("2026-W45", "2026-11")
    assert default_unit(Period(T0, T0 + timedelta(days=30))) == "week"
    assert default_unit(Period(T0, T0 + timedelta(days=90))) == "month"


def test_a_period_lists_its_conversations_and_exports(lea, crafted):  # noqa: F811
    with clock.at(NOW):
        page = lea.get(
            reverse("insights:drill_down") + "?days=7&by=day&group=period&key=2026-11-02"
        )
        assert page.context["count"] == 3
        first = lea.get(
            reverse("insights:drill_down") + "?days=7&by=day&group=period&key=2026-11-02&first=1"
        )
        assert first.context["count"] == 3
        none = lea.get(
            reverse("insights:drill_down") + "?days=7&by=day&group=period&key=2026-11-03"
        )
        assert none.context["count"] == 0
        dashboard = lea.get(reverse("insights:dashboard") + "?days=7").content.decode()
        assert "Response times per period" in dashboard
        assert "group=period&amp;key=2026-11-02" in dashboard
        assert 'data-chart-src="/insights/chart/period.json?days=7&amp;by=day&amp;at=' in dashboard
        text = lea.get(reverse("insights:export", args=["period"]) + "?days=7").content.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    monday = next(row for row in rows if row["from"] == "2026-11-02")
    assert (monday["waits"], float(monday["first_median_s"])) == ("4", 600.0)
    assert monday["answered_share_percent"] == "100.0"
    assert float(monday["resolution_median_s"]) == 300.0


def test_every_breakdown_has_its_chart_from_a_json_endpoint(lea, personas, sim_channel):
    everyone, _english = personas
    with clock.at(NOW):
        page = lea.get(reverse("insights:dashboard") + "?days=7").content.decode()
        for group in ("channel", "platform", "member", "team", "persona", "kind"):
            assert f'data-chart-src="/insights/chart/{group}.json?days=7&amp;by=day&amp;at=' in page
        assert "json_script" not in page and "<script>" not in page
        channel = lea.get(reverse("insights:chart", args=["channel"]) + "?days=7")
        persona = lea.get(reverse("insights:chart", args=["persona"]) + "?days=7").json()
        period = lea.get(reverse("insights:chart", args=["period"]) + "?days=7&by=week").json()
        for name in ("daily", "distribution", "posts", "platforms", "ratings", "personas"):
            payload = lea.get(reverse("insights:chart", args=[name]) + "?days=7").json()
            assert {"labels", "datasets", "links"} <= set(payload)
    assert channel["Content-Type"] == "application/json"
    data = channel.json()
    assert data["labels"] == ["Lumen forum"] and data["horizontal"] is True
    median, p90, answered = data["datasets"]
    # Every wait on the channel: team answers 10 and 30 min; 3 of 3 answered.
    assert (median["values"], p90["values"], answered["values"]) == ([600.0], [1800.0], [100.0])
    assert (median["unit"], answered["unit"]) == ("seconds", "percent")
    assert data["links"] == [f"/insights/conversations/?days=7&group=channel&key={sim_channel.pk}"]
    assert persona["labels"] == ["Tous", "English"]
    assert persona["links"][0].endswith(f"group=persona&key={everyone.pk}")
    # The 7 days from Wednesday 28 October: two ISO weeks, the crafted history in the second,
    # named in the member's language (the report and the CSV keep the ISO weeks).
    assert period["labels"] == ["week of 26 October 2026", "week of 2 November 2026"]
    with clock.at(NOW):
        french = lea.get(
            reverse("insights:chart", args=["period"]) + "?days=7&by=week",
            HTTP_ACCEPT_LANGUAGE="fr",
        ).json()
        months = lea.get(
            reverse("insights:chart", args=["period"]) + "?days=7&by=month",
            HTTP_ACCEPT_LANGUAGE="fr",
        ).json()
    assert french["labels"] == ["semaine du 26 octobre 2026", "semaine du 2 novembre 2026"]
    assert months["labels"] == ["Octobre 2026", "Novembre 2026"]
    assert period["links"][1] == (
        "/insights/conversations/?days=7&group=period&key=2026-11-02&by=week"
    )


def test_the_chart_endpoints_are_for_members_of_the_workspace_only(client, lea, crafted):  # noqa: F811
    with clock.at(NOW):
        mine = lea.get(reverse("insights:chart", args=["channel"]) + "?days=7").json()
        assert mine["labels"] == ["Lumen forum"]
        assert lea.get(reverse("insights:chart", args=["secrets"])).status_code == 404
        lea.logout()
        anonymous = client.get(reverse("insights:chart", args=["channel"]))
        assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
        # Someone with no workspace: refused.
        do_create_user("nobody", "correct horse battery")
        assert client.login(username="nobody", password="correct horse battery")
        assert client.get(reverse("insights:chart", args=["channel"])).status_code == 403
        # A member of another workspace sees their own figures, never this one's.
        other = do_create_workspace("Ailleurs", timezone="America/New_York")
        do_add_member(other, do_create_user("zoe", "correct horse battery"), Role.OWNER)
        theirs = do_create_channel(
            other, "simulator", "Leur forum", config={"api_base": "https://x.example"}
        )
        receive_at(theirs, "z1", at(30), "z1")
        assert client.login(username="zoe", password="correct horse battery")
        chart = client.get(reverse("insights:chart", args=["channel"]) + "?days=7").json()
        drill = client.get(
            reverse("insights:drill_down")
            + f"?days=7&group=channel&key={Channel.objects.get(workspace=crafted).pk}"
        )
    assert chart["labels"] == ["Leur forum"] and "Lumen forum" not in str(chart)
    assert drill.context["count"] == 0


def test_the_personas_side_by_side(lea, personas):
    everyone, english = personas
    with clock.at(NOW):
        page = lea.get(reverse("insights:personas") + "?days=7")
        chart = lea.get(reverse("insights:chart", args=["personas"]) + "?days=7").json()
        text = lea.get(reverse("insights:export", args=["personas"]) + "?days=7").content.decode()
        drill = reverse("insights:drill_down") + "?days=7&group=persona&key="
        # u1's and u2's conversations; u3 is not English.
        assert lea.get(f"{drill}{english.pk}").context["count"] == 2
        assert lea.get(f"{drill}{everyone.pk}").context["count"] == 3
    rows = {row.persona.name: row for row in page.context["compared"]}
    # Tous: 3 contacts, 4 messages, of which 3 judged and 1 negative; English: u1 and u2,
    # 3 messages (a1, a2, b1), 2 judged (a1 negative, a2 positive).
    assert (rows["Tous"].size, rows["Tous"].messages, rows["Tous"].negative_share) == (3, 4, 1 / 3)
    assert (rows["English"].size, rows["English"].messages, rows["English"].negative_share) == (
        2,
        3,
        0.5,
    )
    assert rows["English"].first.median_seconds == 600.0
    assert rows["English"].every.answered_share == 1.0
    assert "Personas side by side" in page.content.decode()
    assert chart["labels"] == ["English", "Tous"]
    assert chart["datasets"][2]["values"] == [50.0, 33.3]
    exported = {row["persona"]: row for row in csv.DictReader(io.StringIO(text))}
    english_row = exported["English"]
    assert [english_row[c] for c in ("contacts", "messages", "waits")] == ["2", "3", "3"]
    assert float(english_row["first_median_s"]) == float(english_row["first_median_business_s"])
    assert float(english_row["first_median_s"]) == 600.0
    assert (english_row["answered_share_percent"], english_row["negative_share_percent"]) == (
        "100.0",
        "50.0",
    )
    assert exported["Tous"]["negative_share_percent"] == "33.3"
    assert everyone.pk != english.pk


def test_the_other_tables_export(lea, crafted):  # noqa: F811
    with clock.at(NOW):
        daily = lea.get(reverse("insights:export", args=["daily"]) + "?days=7").content.decode()
        ratings = lea.get(reverse("insights:export", args=["ratings"]) + "?days=7")
    assert "2026-11-02,4" in daily.replace("\r", "")  # a1, b1, c1 and u1's return a2
    assert ratings.content.decode().startswith("channel,platform,reviews,average")


def test_a_pages_charts_read_its_report_once(lea, owner, sim_channel):
    """The charts' URLs carry the page's instant: they read the report the page computed
    (kept a few minutes) instead of computing it again; an old or odd instant is ignored."""
    receive_at(sim_channel, "x1", clock.now() - timedelta(hours=2), "x1")
    page = lea.get(reverse("insights:dashboard") + "?days=7")
    query = page.context["chart_query"]
    assert query.startswith("days=7&by=day&at=")
    receive_at(sim_channel, "x2", clock.now() - timedelta(hours=1), "x2")
    url = reverse("insights:chart", args=["daily"])

    def inbound(suffix: str) -> int:
        return sum(lea.get(f"{url}?{suffix}").json()["datasets"][0]["values"])

    assert inbound(query) == 1  # the page's figures
    assert inbound("days=7") == 2  # now
    assert inbound("days=7&at=1000000000") == 2  # 2001: ignored
    assert inbound("days=7&at=nan") == inbound("days=7&at=1e400") == 2
