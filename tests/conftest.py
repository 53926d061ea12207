"""Shared fixtures: factories call the real actions; the network is blocked."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from cercle.connectors.actions import do_create_channel
from cercle.connectors.models import Channel
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from cercle.workspaces.models import Member, Workspace

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and (host.startswith("127.") or host in {"localhost", "::1"} or host.startswith("/")):
        return _real_connect(self, address)
    raise OSError(f"network blocked in tests: {address!r}")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Argon2 is deliberately slow; tests only need a hasher, not a strong one."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    yield


@pytest.fixture
def workspace(db: Any) -> Workspace:
    return do_create_workspace("Maison Lumen", timezone="Europe/Paris")


@pytest.fixture
def owner(workspace: Workspace) -> Member:
    user = do_create_user("lea", "correct horse battery", first_name="Léa", last_name="Martin")
    return do_add_member(workspace, user, Role.OWNER)


@pytest.fixture
def agent(workspace: Workspace) -> Member:
    user = do_create_user("sam", "correct horse battery", first_name="Sam")
    return do_add_member(workspace, user, Role.AGENT)


@pytest.fixture
def sim_channel(workspace: Workspace) -> Channel:
    return do_create_channel(
        workspace,
        "simulator",
        "Lumen forum",
        external_id="forum-1",
        config={"api_base": "http://simulator.test/api"},
        credentials={"webhook_secret": "s3cret", "access_token": "tok"},
    )


def sim_event(
    event_id: str,
    *,
    type: str = "comment",
    op: str = "create",
    text: str = "Bonjour, ma commande n'est jamais arrivée",
    author: dict[str, str] | None = None,
    post: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": type,
        "op": op,
        "id": event_id,
        "text": text,
        "created_at": datetime(2026, 11, 20, 9, 30, tzinfo=UTC).isoformat(),
        "author": author or {"id": "u1", "name": "Camille Durand", "handle": "camille"},
    }
    if post is not None or type in {"comment", "reply"}:
        event["post"] = post or {"id": "p1", "text": "Notre nouvelle lampe", "url": "https://example.com/p1"}
    event.update(extra)
    return event


def sim_body(*events: dict[str, Any]) -> bytes:
    return json.dumps({"events": list(events)}, ensure_ascii=False).encode()
