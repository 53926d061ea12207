"""The inbox in a real browser: hostile text stays inert, keys work, live updates arrive."""

from __future__ import annotations

import pytest

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Conversation
from tests.browser.conftest import login
from tests.conftest import sim_body, sim_event

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

HOSTILE = "<img src=x onerror=alert(1)>"


def receive(channel, *events):
    return do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(*events))))


def test_hostile_text_and_author_stay_inert(page, owner, sim_channel):
    receive(
        sim_channel,
        sim_event(
            "x1",
            text=HOSTILE + " <script>alert(2)</script>",
            author={"id": "evil", "name": HOSTILE},
        ),
    )
    login(page, "lea")
    page.click(".conv-row a")
    page.wait_for_selector("#timeline .item-inbound")
    # The text is shown as text (so the page did render it) and nothing ran.
    assert HOSTILE in page.inner_text("#timeline .item-inbound .text")
    assert page.locator("#timeline img").count() == 0
    page.wait_for_timeout(300)  # let any (wrongly) injected onerror fire before checking
    assert page.dialogs == []


def test_keys_open_a_conversation_and_close_it(page, owner, sim_channel):
    receive(sim_channel, sim_event("c1", text="Première question"))
    conversation = Conversation.objects.get()
    login(page, "lea")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_selector("#conv-root")
    page.keyboard.press("e")
    page.wait_for_selector("#btn-reopen")
    conversation.refresh_from_db()
    assert conversation.status == "closed"


def test_help_overlay_lists_the_keys(page, owner, sim_channel):
    login(page, "lea")
    page.keyboard.press("?")
    page.wait_for_selector("#help", state="visible", timeout=5000)
    assert page.is_visible("#help") and "Assign to me" in page.inner_text("#help")


def test_reply_from_the_box_shows_sending(page, owner, sim_channel):
    receive(sim_channel, sim_event("c1"))
    login(page, "lea")
    page.click(".conv-row a")
    page.wait_for_selector("#replybox")
    page.keyboard.press("r")
    page.keyboard.type("Nous regardons tout de suite")
    page.click("#replybox button[type=submit]")
    page.wait_for_selector(".item-outbound")
    assert "Nous regardons tout de suite" in page.inner_text(".item-outbound .text")


def test_a_new_message_shows_a_banner_instead_of_moving_rows(page, owner, sim_channel):
    receive(sim_channel, sim_event("c1"))
    login(page, "lea")
    page.wait_for_timeout(500)  # the EventSource connects
    receive(sim_channel, sim_event("c2", text="Autre question", author={"id": "u2", "name": "Bob"}))
    page.wait_for_selector("#new-banner:not([hidden])")
    assert page.locator(".conv-row").count() == 1
    page.click("#new-banner")
    page.wait_for_selector(".conv-row:nth-child(2)")
    assert page.locator(".conv-row").count() == 2


def test_a_draft_survives_a_reload(page, owner, sim_channel):
    receive(sim_channel, sim_event("c1"))
    conversation = Conversation.objects.get()
    login(page, "lea")
    page.goto(f"/c/{conversation.pk}/")
    page.fill("#reply-text", "Brouillon à garder")
    page.reload()
    page.wait_for_selector("#reply-text")
    assert page.input_value("#reply-text") == "Brouillon à garder"


def test_note_key_switches_the_box_to_note_mode(page, owner, sim_channel):
    receive(sim_channel, sim_event("c1"))
    conversation = Conversation.objects.get()
    login(page, "lea")
    page.goto(f"/c/{conversation.pk}/")
    page.keyboard.press("n")
    assert (
        page.is_checked("#mode-note") and page.evaluate("document.activeElement.id") == "reply-text"
    )
