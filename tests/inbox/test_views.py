"""The inbox pages: login, list filters and search, scoping, and the buttons that call actions."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cercle.connectors.actions import do_create_channel, do_record_delivery_failure
from cercle.connectors.base import RawEventData
from cercle.connectors.models import Outbox
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive, do_reply
from cercle.inbox.models import Activity, Conversation, Message
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from tests.conftest import sim_body, sim_event

HOSTILE = "<img src=x onerror=alert(1)>"


def receive(channel, *events):
    items = connector_for(channel).parse(RawEventData(body=sim_body(*events)))
    return do_receive(channel, items)


def login(client: Client, username: str) -> Client:
    assert client.login(username=username, password="correct horse battery")
    return client


@pytest.fixture
def lea(client, owner):
    return login(client, "lea")


def test_inbox_requires_login(client, db):
    response = client.get(reverse("inbox:index"))
    assert response.status_code == 302 and reverse("workspaces:login") in response["Location"]


def test_login_page_renders(client, db):
    response = client.get(reverse("workspaces:login"))
    assert b'name="password"' in response.content


def test_inbox_lists_received_conversations(lea, sim_channel):
    receive(sim_channel, sim_event("c1", text="Où est ma commande ?"))
    response = lea.get(reverse("inbox:index"))
    assert "Où est ma commande ?" in response.content.decode()


def test_empty_workspace_teaches_to_add_a_channel(lea):
    response = lea.get(reverse("inbox:index"))
    assert "No channel yet" in response.content.decode()
