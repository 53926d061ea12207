"""The `/` picker and a held reply in a real browser: keys insert the filled saved reply, nothing is sent."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_add_note, do_receive
from cercle.inbox.models import Conversation, Outbox
from cercle.replies.actions import do_save_approval_policy, do_save_saved_reply
from cercle.replies.models import PendingReply, SavedReply
from tests.browser.conftest import login
from tests.conftest import sim_body, sim_event

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_slash_picks_a_saved_reply_and_a_held_reply_waits(
    page, workspace, owner, agent, sim_channel
):
    do_receive(
        sim_channel,
        connector_for(sim_channel).parse(
            RawEventData(
                body=sim_body(
                    sim_event("q1", author={"id": "u1", "name": "Camille Durand", "handle": "c"})
                )
            )
        ),
    )
    do_save_saved_reply(
        owner,
        workspace,
        title="Merci",
        shortcut="merci",
        versions={"fr": "Merci {{ contact.first_name }} ! <img src=x onerror=alert(1)>"},
    )
    do_save_saved_reply(
        owner,
        workspace,
        title="Suivi",
        shortcut="suivi",
        versions={
            "fr": "Bonjour {{ contact.first_name }}, {{ agent.first_name }} regarde votre commande."
        },
    )
    do_save_approval_policy(owner, workspace, members=[agent])
    login(page, "sam")
    page.click(".conv-row a")
    page.wait_for_selector("#conv-root #reply-text")
    page.focus("#reply-text")
    page.keyboard.press("/")
    expect(page.locator("#saved-replies")).to_be_visible()
    expect(page.locator("#saved-replies-q")).to_be_focused()
    # A teammate's note arrives live: the timeline shows it, the open picker stays open.
    do_add_note(owner, Conversation.objects.get(), "Client fidèle")
    page.wait_for_selector("#timeline .item-note:has-text('Client fidèle')")
    expect(page.locator("#saved-replies")).to_be_visible()
    expect(page.locator("#saved-replies-q")).to_be_focused()
    page.keyboard.type("m")
    page.wait_for_selector("#saved-replies-results [role=option]:has-text('Suivi')")
    # Both contain an "m"; ↓ chooses the second in the list, Enter inserts it filled.
    titles = page.locator("#saved-replies-results [role=option] strong").all_inner_texts()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#saved-replies")).to_be_hidden()
    inserted = page.input_value("#reply-text")
    expected = {
        "Merci": "Merci Camille ! <img src=x onerror=alert(1)>",
        "Suivi": "Bonjour Camille, Sam regarde votre commande.",
    }[titles[1]]
    assert inserted == expected
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#timeline .item-awaiting-approval")
    assert not Outbox.objects.exists()
    held = PendingReply.objects.get()
    assert held.text == expected
    # The picker said which saved reply it came from: counted once the reply is approved.
    assert held.saved_reply_ids == [SavedReply.objects.get(title=titles[1]).pk]
    assert page.dialogs == []
