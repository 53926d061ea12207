"""Tick rows with `x` and a click, close them with shift+e, watch the job finish, undo it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive
from cercle.inbox.bulk import do_run_bulk_jobs
from cercle.inbox.models import Conversation
from tests.browser.conftest import login
from tests.conftest import sim_body, sim_event

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_select_bulk_close_and_undo(page, owner, sim_channel):
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
    page.wait_for_load_state("load")
    order = page.eval_on_selector_all(".conv-row", "rows => rows.map(r => r.dataset.conversation)")
    expect(page.locator("#bulk-form")).to_be_hidden()
    page.keyboard.press("j")  # the first row is selected
    page.keyboard.press("x")
    page.click(f"#row-{order[1]} .bulk-check")
    expect(page.locator("#bulk-form")).to_be_visible()
    expect(page.locator("#bulk-selected")).to_have_text("2 selected")
    page.screenshot(path="/tmp/bulk-selected.png")

    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("Shift+E")
    expect(page.locator("#bulk-job")).to_have_attribute("data-state", "queued")
    do_run_bulk_jobs()  # the worker
    expect(page.locator("#bulk-undo")).to_be_visible()
    expect(page.locator(f"#row-{order[0]}")).to_have_count(0)  # closed: out of "All open"
    statuses = {str(c.pk): c.status for c in Conversation.objects.all()}
    assert [statuses[pk] for pk in order] == ["closed", "closed", "new"]
    page.screenshot(path="/tmp/bulk-done.png")

    page.click("#bulk-undo")
    expect(page.locator("#bulk-job")).to_have_attribute("data-state", "undoing")
    do_run_bulk_jobs()
    expect(page.locator("#bulk-job")).to_have_attribute("data-state", "undone")
    expect(page.locator(f"#row-{order[0]}")).to_have_count(1)
    assert {c.status for c in Conversation.objects.all()} == {"new"}
    assert page.dialogs == []
