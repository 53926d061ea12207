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
