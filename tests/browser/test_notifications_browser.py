"""The bell and the device choices in a real browser, under the strict CSP."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from cercle.inbox.actions import do_add_note
from cercle.notifications.actions import do_drain_activity_log
from tests.browser.conftest import login
from tests.conftest import sim_event
from tests.notifications.conftest import receive


def test_the_bell_counts_a_mention_and_the_device_choices_stick(
    page: Any, owner: Any, agent: Any, sim_channel: Any
) -> None:
    conversation = receive(sim_channel, sim_event("c1", text="Ma lampe clignote"))
    do_add_note(owner, conversation, "@sam <img src=x onerror=alert(1)> peux-tu voir ?")
    do_drain_activity_log()
    page.context.grant_permissions(["notifications"])
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    login(page, "sam")
    expect(page.locator("#bell .bell-count")).to_have_text("1")
    page.click("#bell")
    expect(page.locator(".notification-unread a")).to_have_text(
        "Léa Martin mentioned you in a note"
    )
    sound = page.locator("[data-notify-toggle=sound]")
    browser_toggle = page.locator("[data-notify-toggle=browser]")
    sound.click()
    browser_toggle.click()
    expect(sound).to_have_attribute("aria-pressed", "true")
    expect(browser_toggle).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(sound).to_have_attribute("aria-pressed", "true")
    # Opening it reads it and shows the note, its mention highlighted and its text inert.
    page.click(".notification-unread a")
    expect(page.locator("#timeline mark.mention")).to_have_text("@sam")
    expect(page.locator("#bell .bell-count")).to_have_count(0)
    assert page.dialogs == []
    assert not [e for e in errors if "Content Security Policy" in e]
