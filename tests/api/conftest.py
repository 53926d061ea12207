"""Fixtures of the API tests: tokens made by the real action, conversations by the real ingest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from cercle.api.actions import do_create_api_token
from cercle.connectors.base import RawEventData
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Conversation
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from cercle.workspaces.models import Member, Workspace
from tests.conftest import sim_body, sim_event

API = "/api/v1"


def receive(channel: Channel, *events: dict[str, Any]) -> None:
    items = connector_for(channel).parse(RawEventData(body=sim_body(*events)))
    do_receive(channel, items)


def conversation_of(channel: Channel, event_id: str, **kwargs: Any) -> Conversation:
    receive(
        channel,
        sim_event(
            event_id,
            author={"id": f"u-{event_id}", "name": f"Author {event_id}", "handle": f"h{event_id}"},
            **kwargs,
        ),
    )
    return Conversation.objects.filter(channel=channel).latest("id")


@dataclass
class Caller:
    """A test client that sends one token's Authorization header."""

    client: Client
    secret: str
    member: Member

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}

    def get(self, path: str, **params: Any):
        return self.client.get(API + path, params, headers=self._headers())

    def post(self, path: str, body: dict[str, Any] | None = None):
        return self.client.post(
            API + path, body or {}, content_type="application/json", headers=self._headers()
        )

    def delete(self, path: str):
        return self.client.delete(API + path, headers=self._headers())


def caller_for(member: Member, role: str | None = None) -> Caller:
    created = do_create_api_token(member, "test", role or member.role)
    return Caller(Client(), created.secret, member)


@pytest.fixture
def viewer(workspace: Workspace) -> Member:
    user = do_create_user("vic", "correct horse battery", first_name="Vic")
    return do_add_member(workspace, user, Role.VIEWER)


@pytest.fixture
def owner_api(owner: Member) -> Caller:
    return caller_for(owner)


@pytest.fixture
def agent_api(agent: Member) -> Caller:
    return caller_for(agent)


@pytest.fixture
def viewer_api(viewer: Member) -> Caller:
    return caller_for(viewer)


@pytest.fixture
def conversation(sim_channel: Channel) -> Conversation:
    return conversation_of(sim_channel, "c1")


@dataclass
class Elsewhere:
    """Another workspace with one of everything, none of it visible to our tokens."""

    workspace: Workspace
    member: Member
    channel: Channel
    conversation: Conversation


@pytest.fixture
def elsewhere(db: Any) -> Elsewhere:
    workspace = do_create_workspace("Other brand")
    member = do_add_member(
        workspace, do_create_user("mallory", "correct horse battery"), Role.OWNER
    )
    channel = do_create_channel(
        workspace,
        "simulator",
        "Other forum",
        external_id="forum-other",
        config={"api_base": "http://simulator.test/api"},
        credentials={"webhook_secret": "other", "access_token": "tok2"},
    )
    conversation = conversation_of(channel, "x1", text="Secret d'une autre marque")
    return Elsewhere(workspace, member, channel, conversation)


def put(caller: Caller, path: str, body: dict[str, Any]):
    return caller.client.put(
        API + path, body, content_type="application/json", headers=caller._headers()
    )
