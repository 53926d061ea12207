"""Moderation buttons: only where the item and the platform allow them; their effect shows."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cercle.connectors.base import ActionKind, Capability, Delivery, RawEventData
from cercle.connectors.registry import connector_class, connector_for
from cercle.inbox.actions import do_moderate_message, do_receive
from cercle.inbox.models import Message, Outbox
from cercle.pipeline.actions import do_record_delivery
from tests.conftest import sim_body, sim_event


def receive(channel, *events):
    return do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(*events))))


@pytest.fixture
def lea(client: Client, owner) -> Client:
    assert client.login(username="lea", password="correct horse battery")
    return client


def _page(client: Client, message: Message) -> str:
    url = reverse("inbox:conversation", args=[message.conversation_id])
    return client.get(url).content.decode()


@pytest.fixture
def private_message(sim_channel) -> Message:
    receive(sim_channel, sim_event("dm1", type="message", thread_id="t1", text="Bonjour en privé"))
    return Message.objects.get(external_id="dm1")


@pytest.fixture
def review(sim_channel) -> Message:
    receive(sim_channel, sim_event("rv1", type="review", rating=2, text="Déçu"))
    return Message.objects.get(external_id="rv1")


@pytest.fixture
def comment(sim_channel) -> Message:
    receive(sim_channel, sim_event("c1", text="Lien louche"))
    return Message.objects.get(external_id="c1")


def test_a_private_message_offers_no_hide_and_no_ban(lea, private_message):
    page = _page(lea, private_message)
    assert 'value="hide"' not in page and 'value="ban"' not in page


def test_a_review_offers_no_hide_and_no_ban(lea, review):
    page = _page(lea, review)
    assert 'value="hide"' not in page and 'value="ban"' not in page


def test_hiding_a_private_message_is_refused(lea, private_message):
    url = reverse("inbox:moderate", args=[private_message.pk])
    response = lea.post(url, {"action": "hide"}, HTTP_HX_REQUEST="true")
    assert (response.status_code, Outbox.objects.count()) == (422, 0)


def test_a_connector_declares_what_applies_to_an_item_kind():
    simulator = connector_class("simulator")

    class ReviewsCanBeDeleted(simulator):  # type: ignore[misc,valid-type]
        moderation_by_kind = {"review": frozenset({ActionKind.DELETE, ActionKind.HIDE})}

    assert (
        ReviewsCanBeDeleted.moderation_actions("review")
        == {
            ActionKind.DELETE,
            ActionKind.HIDE,
        }
        and Capability.HIDE in simulator.capabilities
    )


def _done(owner, message: Message, kind: ActionKind) -> None:
    outbox = do_moderate_message(owner, message, kind)
    do_record_delivery(outbox, Delivery(platform_id=""))


def test_a_liked_message_says_so_and_offers_like_no_more(lea, owner, comment):
    _done(owner, comment, ActionKind.LIKE)
    page = _page(lea, comment)
    assert "liked by the team" in page and 'value="like"' not in page


def test_a_banned_author_is_shown_on_the_message(lea, owner, comment):
    _done(owner, comment, ActionKind.BAN)
    page = _page(lea, comment)
    assert "author banned" in page and 'value="ban"' not in page


def test_a_hidden_message_says_so_and_offers_unhide(lea, owner, comment):
    _done(owner, comment, ActionKind.HIDE)
    page = _page(lea, comment)
    assert "hidden on the platform" in page and 'value="unhide"' in page


def test_a_requested_hide_shows_as_under_way_without_a_second_button(lea, owner, comment):
    do_moderate_message(owner, comment, ActionKind.HIDE)
    page = _page(lea, comment)
    assert "hiding…" in page and 'value="hide"' not in page
