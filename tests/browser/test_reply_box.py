"""The reply box in a real browser: empty after a send, and a note can never become a public reply."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Message
from tests.browser.conftest import login
from tests.conftest import sim_body, sim_event

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

NOTE = "Client fidèle, lui offrir la livraison"


def _open_conversation(page):
    page.click(".conv-row a")
    page.wait_for_selector("#conv-root #reply-text")


def test_a_sent_note_is_gone_from_the_box_and_ctrl_enter_cannot_publish_it(
    page, owner, sim_channel
):
    do_receive(
        sim_channel,
        connector_for(sim_channel).parse(
            RawEventData(body=sim_body(sim_event("q1", text="Où est ma commande ?")))
        ),
    )
    login(page, "lea")
    _open_conversation(page)
    page.keyboard.press("n")
    page.keyboard.type(NOTE)
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(f"#timeline .item-note:has-text('{NOTE}')")
    # The new box: empty, in its default mode (public reply).
    expect(page.locator("#reply-text")).to_have_value("")
    expect(page.locator("#replybox input[name=mode][value=reply]")).to_be_checked()
    # One more Ctrl+Enter, then a reload and another: nothing is published.
    page.focus("#reply-text")
    page.keyboard.press("Control+Enter")
    page.reload()
    page.wait_for_selector("#conv-root #reply-text")
    assert page.input_value("#reply-text") == ""
    page.focus("#reply-text")
    page.keyboard.press("Control+Enter")
    # A real reply afterwards proves the page was live; it is the only thing sent.
    page.keyboard.type("Bonjour, nous regardons.")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#timeline .item-outbound:has-text('nous regardons')")
    outbound = list(Message.objects.filter(direction="outbound").values_list("text", flat=True))
    assert outbound == ["Bonjour, nous regardons."]


def test_an_unsent_note_comes_back_after_a_reload_as_a_note(page, owner, sim_channel):
    do_receive(
        sim_channel,
        connector_for(sim_channel).parse(
            RawEventData(body=sim_body(sim_event("q2", text="Vous livrez en Belgique ?")))
        ),
    )
    login(page, "lea")
    _open_conversation(page)
    page.keyboard.press("n")
    page.keyboard.type(NOTE)
    page.reload()
    expect(page.locator("#reply-text")).to_have_value(NOTE)
    expect(page.locator("#replybox input[name=mode][value=note]")).to_be_checked()
