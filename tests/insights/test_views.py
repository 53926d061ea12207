"""The insights pages: figures, drill-down, CSV export, workspace scoping, inert text."""

from datetime import timedelta

import pytest
from django.urls import reverse

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.inbox.actions import do_receive, do_reply
from cercle.inbox.models import Conversation
from cercle.insights.views import neutralise
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.actions import do_create_workspace
from tests.conftest import sim_body, sim_event

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def lea(client, owner):
    assert client.login(username="lea", password="correct horse battery")
    return client


def receive_now(channel, event_id, author, text="Une question ?", name="Camille"):
    event = sim_event(event_id, text=text, author={"id": author, "name": name})
    event["created_at"] = (clock.now() - timedelta(hours=2)).isoformat()
    do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(event))))
    return Conversation.objects.get(channel=channel, contact__identities__external_id=author)


@pytest.fixture
def answered(owner, sim_channel):
    conversation = receive_now(sim_channel, "q1", "u1")
    do_reply(owner, conversation, "Bonjour !")
    receive_now(sim_channel, "q2", "u2", name=HOSTILE)
    return conversation


def test_the_dashboard_shows_response_figures(lea, answered):
    content = lea.get(reverse("insights:dashboard")).content.decode()
    assert "1 of 2 waits" in content and "By channel" in content


def test_a_figure_lists_its_conversations(lea, answered, sim_channel):
    url = reverse("insights:drill_down") + f"?group=channel&key={sim_channel.pk}"
    content = lea.get(url).content.decode()
    assert "2 conversations." in content and "&lt;img src=x" in content and HOSTILE not in content


def test_another_workspaces_conversations_never_show(lea, answered, db):
    other = do_create_workspace("Other")
    theirs = do_create_channel(
        other, "simulator", "Their forum", config={"api_base": "https://x.example"}
    )
    receive_now(theirs, "t1", "them", text="Secret d'ailleurs")
    content = lea.get(reverse("insights:drill_down")).content.decode()
    assert "Secret d&#x27;ailleurs" not in content and "2 conversations." in content


def test_csv_export_neutralises_formulas(lea, answered, sim_channel):
    sim_channel.name = '=HYPERLINK("http://evil")'
    sim_channel.save(update_fields=["name"])
    response = lea.get(reverse("insights:export", args=["channel"]))
    assert response["Content-Type"].startswith("text/csv")
    assert "'=HYPERLINK" in response.content.decode()


@pytest.mark.parametrize(
    "cell, shown", [("=1+1", "'=1+1"), ("@SUM(A1)", "'@SUM(A1)"), ("-2", "'-2"), ("ok", "ok")]
)
def test_neutralise(cell, shown):
    assert neutralise(cell) == shown


def test_an_unknown_table_is_a_404(lea):
    assert lea.get(reverse("insights:export", args=["secrets"])).status_code == 404


def test_the_conversations_behind_a_figure_export_row_by_row(lea, answered, sim_channel, db):
    import csv
    import io

    other = do_create_workspace("Other")
    theirs = do_create_channel(
        other, "simulator", "Their forum", config={"api_base": "https://x.example"}
    )
    receive_now(theirs, "t1", "them", text="Secret d'ailleurs")
    receive_now(sim_channel, "q3", "u3", text="=cmd|' /C calc'!A0", name="@Eve")
    page = lea.get(reverse("insights:drill_down") + f"?group=channel&key={sim_channel.pk}")
    csv_url = page.context["csv_url"]
    assert "format=csv" in csv_url and f"key={sim_channel.pk}" in csv_url
    response = lea.get(csv_url)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert sorted(row["latest_message"] for row in rows) == [
        "'=cmd|' /C calc'!A0",
        "Une question ?",
        "Une question ?",
    ]
    assert {row["contact"] for row in rows} == {"Camille", HOSTILE, "'@Eve"}
    assert all(row["url"].startswith("http://testserver/c/") for row in rows)


def test_the_heatmap_of_one_platform(lea, answered, sim_channel, owner):
    from cercle.insights.actions import do_roll_up

    instagram = do_create_channel(
        owner.workspace, "simulator", "Autre", config={"api_base": "https://y.example"}
    )
    receive_now(instagram, "i1", "u9", text="Depuis Instagram")
    with clock.at(clock.now() - timedelta(days=3)):  # a whole day the rollups hold
        receive_now(instagram, "i0", "u8", text="Il y a trois jours")
    # Received through the simulator's parser, then seen as another platform's channel.
    instagram.platform = "instagram"
    instagram.save(update_fields=["platform"])
    while do_roll_up().worked:
        pass
    whole = lea.get(reverse("insights:dashboard") + "?days=30").context
    one = lea.get(reverse("insights:dashboard") + "?days=30&platform=instagram").context
    unknown = lea.get(reverse("insights:dashboard") + "?days=30&platform=<x>").context
    assert (whole["heat_total"], one["heat_total"], one["heat_platform"]) == (4, 2, "instagram")
    assert (unknown["heat_total"], unknown["heat_platform"]) == (4, "")
    assert whole["heat_platforms"] == ["instagram", "simulator"]
    csv_text = lea.get(
        reverse("insights:export", args=["heatmap"]) + "?days=30&platform=instagram"
    ).content.decode()
    assert sum(int(cell) for line in csv_text.splitlines()[1:] for cell in line.split(",")[1:]) == 2


def test_what_each_platform_brings(lea, answered, sim_channel):
    from cercle.inbox.models import Message

    Message.objects.filter(external_id="q1").update(intent="question")
    Message.objects.filter(external_id="q2").update(intent="complaint")
    receive_now(sim_channel, "q3", "u3", text="Bravo")  # not read yet: no intent
    page = lea.get(reverse("insights:dashboard"))
    (row,) = page.context["platform_mix"]
    assert (row.platform, row.inbound, row.kinds) == ("simulator", 3, [("Comment", 100.0)])
    assert sorted(row.intents) == [("Complaint", 50.0), ("Question", 50.0)]
    assert "What each platform brings" in page.content.decode()
    csv_text = lea.get(reverse("insights:export", args=["platforms"])).content.decode()
    assert "simulator,3,intent,question,50.0" in csv_text.replace("\r", "")


def test_the_distribution_of_first_answers(lea, answered):
    from cercle.insights.metrics import distribution

    # 4 min, 5 min sharp, 59 min, 3 h, 2 days: the bins hold their lower bound.
    histogram = [(240, 1), (300, 2), (3540, 1), (3 * 3600, 1), (2 * 86400, 4)]
    assert distribution(histogram) == [1, 2, 1, 1, 0, 4]
    page = lea.get(reverse("insights:dashboard"))
    # The fixture's one answer came 2 hours after the message.
    assert [n for _label, n in page.context["distribution"]] == [0, 0, 0, 1, 0, 0]
    assert 'data-chart-src="/insights/chart/distribution.json?days=30&amp;by=week&amp;at=' in (
        page.content.decode()
    )
    chart = lea.get(reverse("insights:chart", args=["distribution"])).json()
    assert chart["datasets"][0]["values"] == [0, 0, 0, 1, 0, 0]
    csv_text = lea.get(reverse("insights:export", args=["distribution"])).content.decode()
    assert csv_text.replace("\r", "").splitlines()[:2] == [
        "time_taken,first_answers",
        "under 5 min,0",
    ]
