"""Fixtures of the replies tests: a received conversation, a manager, saved replies made by the actions."""

from __future__ import annotations

import pytest
from django.test import Client

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Conversation
from cercle.replies.actions import do_save_saved_reply
from cercle.workspaces.actions import do_add_member, do_create_user
from cercle.workspaces.choices import Role
from tests.conftest import sim_body, sim_event


def receive(channel, *events):
    items = connector_for(channel).parse(RawEventData(body=sim_body(*events)))
    return do_receive(channel, items)


def login(client: Client, username: str) -> Client:
    assert client.login(username=username, password="correct horse battery")
    return client


@pytest.fixture
def manager(workspace):
    user = do_create_user("ines", "correct horse battery", first_name="Inès")
    return do_add_member(workspace, user, Role.MANAGER, display_name="Inès Haddad")


@pytest.fixture
def conversation(sim_channel):
    receive(
        sim_channel,
        sim_event(
            "c1",
            author={"id": "u1", "name": "Camille Durand", "handle": "camille"},
            post={"id": "p1", "text": "Notre lampe", "url": "https://example.com/p1"},
        ),
    )
    return Conversation.objects.select_related("channel", "contact", "post", "workspace").get(
        channel=sim_channel
    )


@pytest.fixture
def welcome(workspace, owner):
    """A saved reply in French and English using the four variables of the issue."""
    return do_save_saved_reply(
        owner,
        workspace,
        title="Welcome",
        shortcut="welcome",
        tags=["greeting"],
        versions={
            "fr": "Bonjour {{ contact.first_name }}, ici {{ agent.first_name }} de {{ channel.name }}. Voir {{ post.url }}",
            "en": "Hello {{ contact.first_name }}, {{ agent.first_name }} here from {{ channel.name }}. See {{ post.url }}",
        },
    )
