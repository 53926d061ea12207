"""The moderation queue worked by keyboard in a real browser: j/k move, d dismisses, a accepts."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive
from cercle.moderation.actions import do_save_rule
from cercle.moderation.choices import SuggestionState
from cercle.moderation.models import Suggestion
from tests.browser.conftest import login
from tests.conftest import sim_body, sim_event

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_the_queue_is_worked_by_keyboard(page, workspace, owner, sim_channel):
    do_save_rule(
        owner,
        workspace,
        name="Liens promo",
        mode="suggest",
        conditions=[{"field": "text_contains", "value": ["promo.example"]}],
        actions=[{"type": "tag", "value": "promo"}, {"type": "hide"}],
    )
    for n in range(3):
        event = sim_event(f"p{n}", text=f"Offre {n} sur promo.example <b>vite</b>")
        do_receive(
            sim_channel, connector_for(sim_channel).parse(RawEventData(body=sim_body(event)))
        )
    first, second, third = Suggestion.objects.order_by("id")
    login(page, "lea")
    page.goto("/moderation/queue/")
    page.wait_for_load_state("load")
    items = page.locator(".queue-item")
    expect(items).to_have_count(3)
    expect(items.first).to_contain_text("Would: Tag: promo · Hide on the platform")
    expect(items.first).to_have_class("queue-item is-selected")
    # The text is shown as text, never as markup.
    expect(items.first).to_contain_text("<b>vite</b>")

    page.keyboard.press("j")
    expect(items.nth(1)).to_have_class("queue-item is-selected")
    page.keyboard.press("d")
    expect(items).to_have_count(2)
    second.refresh_from_db()
    assert second.state == SuggestionState.DISMISSED
    # After the reload the selection stays where it was: now on the third suggestion.
    expect(items.nth(1)).to_have_class("queue-item is-selected")
    expect(items.nth(1)).to_contain_text("Offre 2")

    page.keyboard.press("a")
    expect(items).to_have_count(1)
    third.refresh_from_db()
    first.refresh_from_db()
    assert (third.state, first.state) == (SuggestionState.ACCEPTED, SuggestionState.PENDING)
    expect(items.first).to_have_class("queue-item is-selected")
