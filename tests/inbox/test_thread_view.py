"""A conversation shows what its items answer; a deleted item offers no reply; loading items say so."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import ActionRefused, do_receive, do_reply
from cercle.inbox.models import Conversation
from tests.conftest import sim_body, sim_event


def receive(channel, *events):
    items = connector_for(channel).parse(RawEventData(body=sim_body(*events)))
    return do_receive(channel, items)


@pytest.fixture
def lea(client: Client, owner) -> Client:
    assert client.login(username="lea", password="correct horse battery")
    return client


def _page(client: Client, conversation: Conversation) -> str:
    """The conversation pane alone (as HTMX asks for it): the list beside it shows other previews."""
    return client.get(
        reverse("inbox:conversation", args=[conversation.pk]),
        headers={"HX-Request": "true", "HX-Target": "conversation"},
    ).content.decode()


def test_a_reply_to_another_authors_comment_shows_the_comment_it_answers(lea, sim_channel):
    receive(sim_channel, sim_event("c1", text="Quelle est la garantie de la lampe ?"))
    receive(
        sim_channel,
        sim_event(
            "r1",
            type="reply",
            parent_id="c1",
            author={"id": "u2", "name": "Hugo"},
            text="Deux ans je crois",
        ),
    )
    replier = Conversation.objects.get(contact__display_name="Hugo")
    assert "Quelle est la garantie de la lampe ?" in _page(lea, replier)


def test_a_conversation_whose_item_was_deleted_offers_no_reply_and_says_why(lea, sim_channel):
    receive(sim_channel, sim_event("c1"))
    receive(sim_channel, sim_event("c1", op="delete"))
    page = _page(lea, Conversation.objects.get())
    assert ("nothing left to reply to" in page, 'name="mode" value="reply"' in page) == (
        True,
        False,
    )


def test_replying_to_a_deleted_item_is_refused(owner, sim_channel):
    receive(sim_channel, sim_event("c1"))
    receive(sim_channel, sim_event("c1", op="delete"))
    with pytest.raises(ActionRefused):
        do_reply(owner, Conversation.objects.get(), "Bonjour !")


def test_an_item_still_loading_says_so_in_the_list_and_the_timeline(lea, sim_channel):
    from dataclasses import replace

    [item] = connector_for(sim_channel).parse(
        RawEventData(body=sim_body(sim_event("m1", type="mention", text="")))
    )
    do_receive(sim_channel, [replace(item, author=None, needs_enrichment=True)])
    conversation = Conversation.objects.get()
    listed = lea.get(reverse("inbox:index")).content.decode()
    assert ("loading…" in listed, "loading…" in _page(lea, conversation)) == (True, True)


def test_deleting_an_item_from_cercle_updates_its_conversations_counts(owner, sim_channel):
    from cercle.connectors.base import ActionKind, Delivery
    from cercle.inbox.actions import do_moderate_message
    from cercle.inbox.models import Message
    from cercle.pipeline.actions import do_record_delivery

    receive(sim_channel, sim_event("c1", text="Premier"), sim_event("c2", text="Second"))
    outbox = do_moderate_message(owner, Message.objects.get(external_id="c2"), ActionKind.DELETE)
    do_record_delivery(outbox, Delivery())
    conversation = Conversation.objects.get()
    assert (conversation.message_count, conversation.preview) == (1, "Premier")
