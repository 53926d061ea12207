"""Discourse test helpers: the forum channel, its recorded payloads, a fake forum at the HTTP boundary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client

from cercle.connectors.discourse.connector import sign
from cercle.connectors.models import Channel
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.models import Workspace
from tests.connectors.fakeplatform import Answer, FakePlatform, serving

FIXTURES = Path(__file__).resolve().parents[3] / "cercle" / "connectors" / "discourse" / "fixtures"
SITE = "https://forum.maisonlumen.example"
# Discourse's own test vector secret (spec/jobs/emit_web_hook_event_spec.rb).
SECRET = "my_lovely_secret_for_web_hook"
API_KEY = "d3b0c1a5e0f94f4b8a1c2d3e4f5a6b7c"
API_USERNAME = "lumen_team"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def answer(name: str, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=fixture_bytes(name), headers=headers or {})

    return respond


class FakeForum(FakePlatform):
    def missing(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, content=fixture_bytes("api_error_not_found.json"))


@pytest.fixture
def forum() -> Iterator[FakeForum]:
    with serving(FakeForum()) as fake:
        yield fake


@pytest.fixture
def discourse_channel(workspace: Workspace) -> Channel:
    return do_create_channel(
        workspace,
        "discourse",
        "Forum Lumen",
        external_id=SITE,
        config={"api_base": SITE, "api_username": API_USERNAME},
        credentials={"api_key": API_KEY, "webhook_secret": SECRET},
    )


EVENTS = {
    "post": ("post_created", "post_edited", "post_destroyed"),
    "flag": ("flag_created", "flag_agreed"),
}


def deliver(
    client: Client,
    channel: Channel,
    body: bytes,
    *,
    event: str = "post_created",
    event_id: str = "9001",
    signature: str | None = None,
) -> Any:
    """POST `body` to the channel's hook as Discourse does (headers of EmitWebHookEvent)."""
    event_type = event.split("_", 1)[0]
    return client.post(
        f"/hooks/{channel.uuid}",
        data=body,
        content_type="application/json",
        HTTP_X_DISCOURSE_INSTANCE=SITE,
        HTTP_X_DISCOURSE_EVENT_ID=event_id,
        HTTP_X_DISCOURSE_EVENT_TYPE=event_type,
        HTTP_X_DISCOURSE_EVENT=event,
        HTTP_X_DISCOURSE_EVENT_SIGNATURE=sign(body, SECRET) if signature is None else signature,
    )
