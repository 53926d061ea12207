"""The inbox looks the part: platform icons, avatars, priority marks, density, `g i` / `g m`."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from cercle.inbox.actions import do_set_priority
from cercle.inbox.models import Conversation
from tests.browser.conftest import login
from tests.conftest import sim_event
from tests.inbox.test_views import receive

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_rows_show_icons_avatars_and_marks_and_keys_move_between_views(page, owner, sim_channel):
    receive(
        sim_channel,
        sim_event("a1", text="Ferme ta boutique", author={"id": "u1", "name": "Ana Lopez"}),
        sim_event("b1", text="Merci !", author={"id": "u2", "name": "Bob"}),
    )
    urgent = Conversation.objects.get(contact__display_name="Ana Lopez")
    do_set_priority(owner, urgent, 3, reason="test")
    login(page, "lea")
    row = page.locator(f"#row-{urgent.pk}")
    expect(row.locator(".pf")).to_have_attribute("aria-label", "Review site")
    expect(row.locator(".cavatar")).to_have_text("AL")
    expect(row.locator(".prio")).to_have_attribute("title", "Priority: Urgent")

    page.click("#density-toggle")
    expect(page.locator("body")).to_have_class(re.compile("density-compact"))
    page.reload()
    expect(page.locator("#density-toggle")).to_have_attribute("aria-pressed", "true")

    page.keyboard.press("g")
    page.keyboard.press("m")
    expect(page).to_have_url(re.compile(r"view=mine"))
    page.keyboard.press("g")
    page.keyboard.press("i")
    expect(page.locator("#views a[data-view=open]")).to_have_attribute("aria-current", "true")
