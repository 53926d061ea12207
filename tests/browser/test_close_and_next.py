"""`e` closes the open conversation, opens the next one, and the closed one leaves the list."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Conversation
from tests.browser.conftest import login
from tests.conftest import sim_body, sim_event

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.mark.parametrize(
    "settle_ms",
    [
        None,
        # htmx takes over a swapped-in pane's forms only when the swap settles; a machine
        # under load stretches that gap, a long settle delay makes it certain: `e` pressed
        # inside it must still close through htmx, not by a native submit and a reload.
        1500,
    ],
)
def test_closing_with_e_opens_the_next_conversation_and_drops_the_closed_row(
    page, owner, sim_channel, settle_ms
):
    do_receive(
        sim_channel,
        connector_for(sim_channel).parse(
            RawEventData(
                body=sim_body(
                    sim_event("a1", text="Première", author={"id": "u1", "name": "Ana"}),
                    sim_event("b1", text="Deuxième", author={"id": "u2", "name": "Bob"}),
                    sim_event("c1", text="Troisième", author={"id": "u3", "name": "Chloé"}),
                )
            )
        ),
    )
    login(page, "lea")
    if settle_ms is not None:
        page.evaluate(f"htmx.config.defaultSettleDelay = {settle_ms}")
    # A mark that a full page load would wipe (htmx's own history pushes keep it).
    page.evaluate("window.cercleSamePage = true")
    order = page.eval_on_selector_all(".conv-row", "rows => rows.map(r => r.dataset.conversation)")
    page.click(f"#row-{order[0]} a")
    expect(page.locator("#conv-root")).to_have_attribute("data-conversation", order[0])
    page.wait_for_load_state("domcontentloaded")
    page.keyboard.press("e")
    expect(page.locator("#conv-root")).to_have_attribute("data-conversation", order[1])
    expect(page.locator(f"#row-{order[0]}")).to_have_count(0)
    assert Conversation.objects.get(pk=order[0]).status == "closed"
    assert page.evaluate("window.cercleSamePage === true"), "the close reloaded the page"
