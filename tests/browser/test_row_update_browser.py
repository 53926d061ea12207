"""A write on a conversation whose row is not in the list shown updates the pane, and the
row it sends along for the list has nowhere to go: no console error, the list untouched."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.conftest import sim_event
from tests.notifications.conftest import receive

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

AUTHOR_1 = {"id": "a1", "name": "Camille Durand", "handle": "camille"}
AUTHOR_2 = {"id": "a2", "name": "Noé Petit", "handle": "noe"}
POST_1 = {"id": "p1", "text": "Notre nouvelle lampe", "url": "https://example.com/p1"}
POST_2 = {"id": "p2", "text": "Nos délais", "url": "https://example.com/p2"}


def test_a_note_on_a_conversation_outside_the_list_logs_no_error(
    page: Any, live_server: Any, owner: Any, sim_channel: Any
) -> None:
    shown = receive(
        sim_channel, sim_event("c1", text="Ma lampe clignote", author=AUTHOR_1, post=POST_1)
    )
    opened = receive(
        sim_channel, sim_event("c2", text="Où est ma commande ?", author=AUTHOR_2, post=POST_2)
    )
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    login(page, "lea")
    # The list searched for the other conversation; this one opened beside it.
    page.goto(f"{live_server.url}/c/{opened.pk}/?q=lampe")
    page.wait_for_selector("#conv-root #reply-text")
    expect(page.locator(".conv-row")).to_have_count(1)
    expect(page.locator(f"#row-{opened.pk}")).to_have_count(0)
    page.keyboard.press("n")
    page.keyboard.type("Rappeler demain")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#timeline .item-note:has-text('Rappeler demain')")
    expect(page.locator(f"#row-{shown.pk}")).to_have_count(1)
    expect(page.locator(f"#row-{opened.pk}")).to_have_count(0)
    assert not [e for e in errors if "oob" in e.lower() or "htmx" in e.lower()], errors
