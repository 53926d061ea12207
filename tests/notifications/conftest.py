"""Fixtures of the notifications tests: a conversation, a team, a second workspace."""

from __future__ import annotations

from typing import Any

import pytest

from cercle.connectors.base import RawEventData
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Conversation
from cercle.workspaces.actions import do_add_member, do_create_team, do_create_user
from cercle.workspaces.choices import Role
from cercle.workspaces.models import Member, Team, Workspace
from tests.conftest import sim_body, sim_event


def receive(channel: Channel, *events: dict[str, Any]) -> Conversation:
    items = connector_for(channel).parse(RawEventData(body=sim_body(*events)))
    do_receive(channel, items)
    return Conversation.objects.filter(channel=channel).order_by("-id").first()  # type: ignore[return-value]


@pytest.fixture
def conversation(sim_channel: Channel) -> Conversation:
    return receive(sim_channel, sim_event("c1", text="Ma lampe clignote"))


@pytest.fixture
def nora(workspace: Workspace) -> Member:
    user = do_create_user(
        "nora",
        "correct horse battery",
        first_name="Nora",
        last_name="Benali",
        email="nora@example.com",
    )
    return do_add_member(workspace, user, Role.AGENT)


@pytest.fixture
def support(owner: Member, agent: Member, nora: Member) -> Team:
    return do_create_team(owner, owner.workspace, "Support FR", [agent.pk, nora.pk])
