"""The insights dashboard in a real browser: a figure leads to its conversations; the chart draws."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.inbox.actions import do_receive, do_reply
from cercle.inbox.models import Conversation
from tests.browser.conftest import login
from tests.conftest import sim_body, sim_event

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_clicking_a_figure_shows_its_conversations(page, owner, sim_channel):
    event = sim_event("q1", text="Quand arrive ma lampe ?", author={"id": "u1", "name": "Inès Roy"})
    event["created_at"] = (clock.now() - timedelta(hours=3)).isoformat()
    do_receive(sim_channel, connector_for(sim_channel).parse(RawEventData(body=sim_body(event))))
    do_reply(owner, Conversation.objects.get(), "Demain !")
    login(page, "lea")
    page.goto("/insights/")
    page.wait_for_selector("#daily-volume-chart")
    page.click(f"a[href*='group=channel&key={sim_channel.pk}']")
    page.wait_for_selector(".drill-list li a")
    assert "Inès Roy" in page.inner_text(".drill-list")
    assert page.dialogs == []


def test_a_breakdown_chart_draws_and_its_bar_lists_the_conversations(page, owner, sim_channel):
    event = sim_event("q1", text="Ma lampe clignote", author={"id": "u1", "name": "Inès Roy"})
    event["created_at"] = (clock.now() - timedelta(hours=3)).isoformat()
    do_receive(sim_channel, connector_for(sim_channel).parse(RawEventData(body=sim_body(event))))
    do_reply(owner, Conversation.objects.get(), "Changez l'ampoule.")
    login(page, "lea")
    page.goto("/insights/")
    # Drawn from its JSON endpoint: one row, the channel.
    page.wait_for_selector("#channel-chart[data-drawn='1']")
    page.wait_for_selector("#period-chart[data-drawn]")
    assert page.locator("#persona-chart").count() == 0  # no persona: no rows, no chart
    box = page.evaluate(
        """() => {
          const canvas = document.getElementById("channel-chart");
          canvas.scrollIntoView({block: "center"});
          const bar = canvas.chart.getDatasetMeta(0).data[0];
          const rect = canvas.getBoundingClientRect();
          return {x: rect.left + (bar.x + bar.base) / 2, y: rect.top + bar.y};
        }"""
    )
    page.mouse.click(box["x"], box["y"])
    page.wait_for_url(
        lambda url: (
            "/insights/conversations/" in url and f"group=channel&key={sim_channel.pk}" in url
        )
    )
    page.wait_for_selector(".drill-list li a")
    assert "Inès Roy" in page.inner_text(".drill-list")
    assert page.dialogs == []


def _received(channel, event_id: str, text: str, author: str, when) -> None:
    event = sim_event(event_id, text=text, author={"id": author, "name": author})
    event["created_at"] = when.isoformat()
    with clock.at(when):
        do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(event))))


def test_a_rising_term_leads_to_its_conversations(page, owner, sim_channel):
    now = clock.now()
    for n in range(8):  # long before: other subjects (the 30 days' baseline)
        _received(sim_channel, f"older{n}", "Bonjour", f"Autre {n}", now - timedelta(days=50 + n))
    for n in range(4):
        _received(
            sim_channel,
            f"old{n}",
            "Horaires du magasin ?",
            f"Ancien {n}",
            now - timedelta(days=12 + n),
        )
    for n, name in enumerate(["Inès Roy", "Tom Petit", "Zoé Blanc"]):
        _received(
            sim_channel, f"new{n}", "Mon colis est en retard", name, now - timedelta(hours=5 + n)
        )
    _received(sim_channel, "other", "Horaires du magasin ?", "Paul Noir", now - timedelta(hours=2))
    login(page, "lea")
    page.goto("/insights/trends/?days=7")
    page.click("a[href*='term=colis%20retard']")
    page.wait_for_selector(".drill-list li a")
    listed = page.inner_text(".drill-list")
    assert all(name in listed for name in ("Inès Roy", "Tom Petit", "Zoé Blanc"))
    assert "Paul Noir" not in listed and "Ancien" not in listed
    # Over 30 days the opening hours rise too (not said in the 120 days before).
    page.goto("/insights/trends/?days=30")
    page.click("a[href*='term=horaires']")
    page.wait_for_selector(".drill-list li a")
    listed = page.inner_text(".drill-list")
    assert "Paul Noir" in listed and "Ancien 0" in listed and "Inès Roy" not in listed
    assert page.dialogs == []


def test_the_kind_of_community_proposes_goals_the_goals_page_then_shows(page, owner):
    login(page, "lea")
    page.goto("/insights/community/")
    page.check("input[name=kind][value=support]")
    page.click(".community-kinds button[type=submit]")
    page.wait_for_selector(".community-offer input[name='goal-0-name']")
    name = page.input_value("input[name='goal-0-name']")
    page.fill("input[name='goal-0-name']", f"{name} (Lumen)")
    page.click(".community-offer button.btn-primary")
    page.goto("/insights/goals/")
    assert f"{name} (Lumen)" in page.inner_text("main")
    assert page.dialogs == []
