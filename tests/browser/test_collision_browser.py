"""Two members in two browsers answer the same customer: the second reply is stopped and shows
what changed; sent anyway, exactly two replies go out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Conversation, Draft, Outbox
from tests.browser.conftest import login
from tests.conftest import sim_body, sim_event

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture
def second_page(browser: Any, live_server: Any, page: Any) -> Iterator[Any]:
    """Another browser context (its own cookies): a second member at another desk."""
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(10_000)
    pg = context.new_page()
    pg.dialogs = []
    pg.on("dialog", lambda dialog: (pg.dialogs.append(dialog.message), dialog.dismiss()))
    yield pg
    pg.goto("about:blank")
    pg.wait_for_timeout(500)
    context.close()


@pytest.fixture
def conversation(sim_channel: Any) -> Conversation:
    do_receive(
        sim_channel,
        connector_for(sim_channel).parse(
            RawEventData(body=sim_body(sim_event("q1", text="Ma commande est perdue")))
        ),
    )
    return Conversation.objects.get()


def _open(pg: Any, conversation: Conversation) -> None:
    pg.click(f"#row-{conversation.pk} a")
    pg.wait_for_selector(f"#conv-root[data-conversation='{conversation.pk}'] #reply-text")


def test_the_second_reply_is_stopped_shown_what_changed_and_can_be_sent_anyway(
    page, second_page, owner, agent, conversation
):
    lea, sam = page, second_page
    login(sam, "sam")
    _open(sam, conversation)
    login(lea, "lea")
    _open(lea, conversation)
    # Léa sees that Sam is on it; Sam starts writing.
    expect(lea.locator(f"#conv-presence-{conversation.pk}")).to_contain_text("Sam is viewing")
    sam.click("#reply-text")
    sam.keyboard.type("Bonjour, je regarde votre commande")
    expect(lea.locator(f"#conv-presence-{conversation.pk}")).to_contain_text("Sam is typing…")

    lea.fill("#reply-text", "Bonjour, elle est repartie ce matin")
    lea.click("#btn-send")
    expect(lea.locator("#timeline .item-outbound")).to_contain_text("elle est repartie")

    sam.click("#btn-send")
    collision = sam.locator("#collision")
    expect(collision).to_contain_text("Not sent: this conversation changed since you opened it.")
    expect(collision).to_contain_text("Léa Martin replied")
    expect(collision).to_contain_text("elle est repartie ce matin")
    expect(sam.locator("#reply-text")).to_have_value("Bonjour, je regarde votre commande")
    assert Outbox.objects.count() == 1
    assert Draft.objects.get(member=agent).text == "Bonjour, je regarde votre commande"

    sam.click("#btn-send-anyway")
    expect(sam.locator("#timeline .item-outbound")).to_have_count(2)
    expect(sam.locator("#reply-text")).to_have_value("")
    assert sorted(Outbox.objects.values_list("payload__text", flat=True)) == [
        "Bonjour, elle est repartie ce matin",
        "Bonjour, je regarde votre commande",
    ]
    assert not Draft.objects.exists()
    assert lea.dialogs == [] and sam.dialogs == []


def test_a_stopped_reply_can_be_edited_or_discarded(page, second_page, owner, agent, conversation):
    lea, sam = page, second_page
    login(sam, "sam")
    _open(sam, conversation)
    sam.click("#reply-text")
    sam.keyboard.type("Texte de Sam")
    login(lea, "lea")
    _open(lea, conversation)
    lea.click("#btn-assign-me")
    expect(lea.locator(".conv-header")).to_contain_text("Assigned to Léa Martin")

    sam.keyboard.press("Control+Enter")
    expect(sam.locator("#collision")).to_contain_text("Léa Martin assigned it to Léa Martin")
    # Edit: back to the usual box, the text kept.
    sam.click("#btn-collision-edit")
    expect(sam.locator("#collision")).to_have_count(0)
    expect(sam.locator("#btn-send")).to_be_visible()
    expect(sam.locator("#reply-text")).to_have_value("Texte de Sam")
    # Stopped again by something newer, then discarded: nothing sent, no draft left.
    lea.click("#btn-close")
    expect(lea.locator("#btn-reopen")).to_be_visible()
    sam.click("#btn-send")
    expect(sam.locator("#collision")).to_contain_text("changed the status")
    sam.click("#btn-discard-draft")
    expect(sam.locator("#collision")).to_have_count(0)
    expect(sam.locator("#reply-text")).to_have_value("")
    assert not Outbox.objects.exists() and not Draft.objects.exists()
    sam.reload()
    sam.wait_for_selector("#reply-text")
    expect(sam.locator("#reply-text")).to_have_value("")


def _wait_until(pg: Any, condition: Any, timeout: float = 10.0) -> None:
    """Wait for a database condition the page brings about (an autosave), polling."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        pg.wait_for_timeout(100)


def test_a_draft_follows_the_member_to_another_browser_and_ends_when_sent(
    page, second_page, agent, conversation
):
    desk, laptop = page, second_page
    login(desk, "sam")
    _open(desk, conversation)
    desk.click("#reply-text")
    desk.keyboard.type("Brouillon commencé au bureau")
    _wait_until(desk, lambda: Draft.objects.filter(text="Brouillon commencé au bureau").exists())

    login(laptop, "sam")
    _open(laptop, conversation)
    expect(laptop.locator("#reply-text")).to_have_value("Brouillon commencé au bureau")
    laptop.keyboard.press("r")
    laptop.keyboard.type(", fini ailleurs")
    laptop.click("#btn-send")
    expect(laptop.locator("#timeline .item-outbound")).to_contain_text("fini ailleurs")

    # Back at the desk: the copy this browser kept was sent elsewhere; it does not come back.
    desk.reload()
    desk.wait_for_selector("#reply-text")
    # The inbox's scripts have run (collab.js, the last one, drew this tab's id).
    desk.wait_for_function("document.documentElement.dataset.cercleTab")
    expect(desk.locator("#reply-text")).to_have_value("")
    assert not Draft.objects.exists() and Outbox.objects.count() == 1
