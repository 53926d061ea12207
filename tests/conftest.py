"""Shared fixtures: factories call the real actions; the network is blocked."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from cercle.connectors.models import Channel
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from cercle.workspaces.models import Member, Workspace

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and (
        host.startswith("127.") or host in {"localhost", "::1"} or host.startswith("/")
    ):
        return _real_connect(self, address)
    raise OSError(f"network blocked in tests: {address!r}")


@pytest.fixture(autouse=True)
def _english_by_default() -> Iterator[None]:
    """A request in French leaves French active in its thread: every test starts in English."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Argon2 is deliberately slow; tests only need a hasher, not a strong one."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """The cache lives in the process: no test sees what an earlier one left there."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> Iterator[None]:
    """pytest-django's test databases, with every LISTEN connection closed before they are
    dropped: a listener started outside a test's own span (a stream still running when its
    test ended, a module fixture) would otherwise keep the database "accessed by other users"."""
    yield
    from django.db import connections

    from cercle.core import pglisten

    pglisten.stop_all()
    # The psycopg pool keeps idle connections that other threads (live server, lean webhook
    # path, worker loops) returned: closed too, or they count as "other users" at the drop.
    for connection in connections.all(initialized_only=True):
        close_pool = getattr(connection, "close_pool", None)
        if connection.vendor == "postgresql" and close_pool is not None:
            close_pool()


@pytest.fixture(autouse=True)
def _no_listener_left() -> Iterator[None]:
    """A LISTEN connection (live stream on PostgreSQL) would keep the test database from being
    dropped: each test closes the ones it opened."""
    yield
    from cercle.core import pglisten

    if pglisten._listeners:
        pglisten.stop_all()


@pytest.fixture(autouse=True)
def _empty_rq_queues() -> Iterator[None]:
    """On the RQ task backend (CERCLE_TASK_BACKEND=rq), each test starts with empty queues."""
    from cercle.core import taskqueue

    if taskqueue.backend_kind() != taskqueue.RQ:
        yield
        return
    import django_rq

    django_rq.get_connection("default").flushdb()
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
        event["post"] = post or {
            "id": "p1",
            "text": "Notre nouvelle lampe",
            "url": "https://example.com/p1",
        }
    event.update(extra)
    return event


def sim_body(*events: dict[str, Any]) -> bytes:
    return json.dumps({"events": list(events)}, ensure_ascii=False).encode()


# --- databases -------------------------------------------------------------------


def database_vendor() -> str:
    """ "sqlite" or "postgresql": the database this run of the suite uses (DATABASE_URL)."""
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    return "postgresql" if "postgresql" in engine else "sqlite" if "sqlite" in engine else engine


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgres` are skipped, with the reason, when the suite runs on SQLite."""
    if database_vendor() == "postgresql":
        return
    skip = pytest.mark.skip(
        reason="needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/cercle"
    )
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None,
) -> Iterator[None]:
    """On SQLite, test in a file (WAL), not in shared-cache memory.

    In memory, a second connection (a thread playing a second worker, the live
    server) gets "database table is locked" at once instead of waiting for the
    writer like the real, file-based database does; the concurrency tests need
    the real behaviour. Each test process gets its own file.
    """
    import shutil
    import tempfile

    from django.conf import settings

    db = settings.DATABASES["default"]
    directory = None
    if "sqlite" in db["ENGINE"] and not db.get("TEST", {}).get("NAME"):
        directory = tempfile.mkdtemp(prefix="cercle-test-db-")
        db.setdefault("TEST", {})["NAME"] = f"{directory}/test.sqlite3"
    yield
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
