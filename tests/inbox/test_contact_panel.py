"""The contact panel shows the contact's past moderation, and only theirs."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from cercle.connectors.base import ActionKind
from cercle.inbox.actions import do_moderate_message
from cercle.inbox.models import Conversation, Message
from tests.conftest import sim_event
from tests.inbox.test_views import receive


def test_past_moderation_of_the_contact_is_listed_in_the_panel(owner, sim_channel):
    receive(
        sim_channel,
        sim_event("a1", text="Spam spam", author={"id": "u1", "name": "Ana"}),
        sim_event("a2", text="Encore", author={"id": "u1", "name": "Ana"}, post={"id": "p2"}),
        sim_event("b1", text="Bonjour", author={"id": "u2", "name": "Bob"}),
    )
    do_moderate_message(owner, Message.objects.get(external_id="a1"), ActionKind.HIDE)
    client = Client()
    assert client.login(username="lea", password="correct horse battery")
    other_of_ana = Conversation.objects.get(messages__external_id="a2")
    page = client.get(reverse("inbox:conversation", args=[other_of_ana.pk])).content.decode()
    assert "Past moderation" in page and "asked the platform" in page
    bob = Conversation.objects.get(messages__external_id="b1")
    page = client.get(reverse("inbox:conversation", args=[bob.pk])).content.decode()
    assert "Past moderation" not in page
