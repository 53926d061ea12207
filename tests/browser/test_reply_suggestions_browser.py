"""Reply suggestions in a real browser: a similar answered message's answer is one click away."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive, do_reply
from cercle.inbox.models import Message
from cercle.moderation import suggestions
from cercle.moderation.models import MessageVector
from cercle.replies.actions import do_save_saved_reply
from tests.browser.conftest import login
from tests.conftest import sim_body, sim_event

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _inbound(channel, event_id, text, author, weights):
    event = sim_event(event_id, text=text, author={"id": author, "name": author.title()})
    do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(event))))
    message = Message.objects.get(channel=channel, external_id=event_id)
    vector = np.zeros(384, dtype=np.float32)
    vector[: len(weights)] = weights
    MessageVector.objects.create(
        message=message,
        workspace_id=message.workspace_id,
        vector=(vector / np.linalg.norm(vector)).tobytes(),
        model=suggestions.embedder_version(),
    )
    return message


def test_a_click_inserts_the_answer_of_a_similar_message(page, workspace, owner, sim_channel):
    suggestions.forget()
    earlier = _inbound(sim_channel, "e1", "Où est mon colis ?", "ana", [1, 0.1])
    do_reply(owner, earlier.conversation, "Votre colis part demain <b>promis</b>.")
    do_save_saved_reply(
        owner, workspace, title="Suivi colis", versions={"fr": "Voici le suivi de votre colis."}
    )
    _inbound(sim_channel, "n1", "Toujours pas reçu mon colis", "bob", [1, 0.15])
    login(page, "lea")
    page.click(".conv-row:has-text('Toujours pas reçu') a")
    box = page.locator("#reply-suggestions")
    page.wait_for_selector("#conv-root #reply-text")
    expect(box.locator(".suggestion")).to_have_count(2)
    expect(box).to_contain_text("Où est mon colis ?")
    box.locator(".suggestion").first.click()
    expect(page.locator("#reply-text")).to_have_value("Votre colis part demain <b>promis</b>.")
    # The saved reply by keyboard: focus its button, Enter inserts it after the first text.
    box.locator(".suggestion").nth(1).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#reply-text")).to_have_value(
        "Votre colis part demain <b>promis</b>.Voici le suivi de votre colis."
    )
    assert page.locator("#saved-replies-used").input_value() != ""
    # The suggestions sit under the reply box: the conversation is still there.
    expect(page.locator("#conv-root #timeline")).to_be_visible()
    assert page.dialogs == []
    suggestions.forget()
