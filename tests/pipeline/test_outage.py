"""Database outages: a webhook gets 503 and is stored once on retry; the task loop resumes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.urls import reverse

from cercle.connectors.simulator.connector import SIGNATURE_HEADER, sign
from cercle.pipeline import worker
from cercle.pipeline.models import RawEvent
from tests.conftest import sim_body, sim_event

DELIVERY = sim_body(sim_event("c1"))


def _deliver(client: Any, channel: Any, body: bytes = DELIVERY) -> Any:
    return client.post(
        reverse("pipeline:webhook", kwargs={"channel_uuid": channel.uuid}),
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: sign(body, "s3cret")},
    )


@contextmanager
def database_down() -> Iterator[None]:
    """Every query fails as it does when the server is unreachable."""

    def refuse(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    with connection.execute_wrapper(refuse):
        yield


def test_a_webhook_during_a_database_outage_gets_503_and_is_stored_once_when_retried(
    client, sim_channel
):
    with database_down():
        during = _deliver(client, sim_channel)
    stored_during = RawEvent.objects.count()
    after = _deliver(client, sim_channel)
    assert (during.status_code, during["Retry-After"], stored_during) == (503, "30", 0)
    assert (after.status_code, RawEvent.objects.count()) == (200, 1)


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _terminate(pid: int) -> None:
    """What a database restart does to a connection, done from another connection."""
    import psycopg

    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_webhook_after_the_servers_connection_is_killed_gets_503_then_is_stored(
    client, sim_channel
):
    """A real outage: PostgreSQL terminates this test's connection (as a restart would)."""
    _terminate(_backend_pid())
    during = _deliver(client, sim_channel)
    after = _deliver(client, sim_channel)
    assert (during.status_code, after.status_code, RawEvent.objects.count()) == (503, 200, 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_task_loop_resumes_on_a_new_connection_after_postgresql_kills_its_own(monkeypatch):
    monkeypatch.setattr(worker, "DB_RETRY_FIRST", 0.0)
    backends: list[int] = []

    def task_loop() -> None:
        backends.append(_backend_pid())
        if len(backends) == 1:
            _terminate(backends[0])
            RawEvent.objects.count()  # the next query meets the dead connection

    worker.run_until_stopped(task_loop, threading.Event(), "task worker")
    assert len(backends) == 2 and backends[0] != backends[1]
