"""`cercle serve` (uvicorn, ASGI) on PostgreSQL under concurrent webhooks: no 5xx, connections capped.

Under ASGI every request runs in a thread of its own; with persistent
connections each left one behind, and one process at 20 concurrent webhooks
held 40-100 connections and answered 22 % with a 500.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from cercle.connectors.simulator.connector import SIGNATURE_HEADER, sign
from cercle.pipeline.models import RawEvent
from tests.conftest import sim_body, sim_event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

POOL_MAX = 4
WEBHOOKS = 60
APP_NAME = "cercle-serve-test"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}?application_name={APP_NAME}"
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A real `cercle serve` process on the test database, on a free loopback port."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CERCLE_DB_POOL_MAX": str(POOL_MAX),
        "CERCLE_DATA_DIR": str(tmp_path),
        # Channel secrets are encrypted with this key: the server must read what the test wrote.
        "CERCLE_SECRET_KEY": settings.SECRET_KEY,
    }
    env.pop("CERCLE_DB_CONN_MAX_AGE", None)
    process = subprocess.Popen(  # the default settings are what is under test
        [sys.executable, "-m", "cercle", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/login/", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    stderr = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"cercle serve did not start:\n{stderr[-3000:]}")
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class ConnectionSampler(threading.Thread):
    """Counts the server's connections in pg_stat_activity until stopped; keeps the maximum."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.most = 0

    def run(self) -> None:
        import psycopg

        db = connection.settings_dict
        with psycopg.connect(
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
            user=db["USER"],
            password=db["PASSWORD"] or None,
            dbname=db["NAME"],
            autocommit=True,
        ) as probe:
            while not self.stop.is_set():
                row = probe.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    [APP_NAME],
                ).fetchone()
                self.most = max(self.most, int(row[0]) if row else 0)
                self.stop.wait(0.01)


class OpenTabs:
    """Browser tabs holding the live stream open (each a long request) while webhooks arrive."""

    def __init__(self, url: str, session: str, count: int) -> None:
        self.url, self.session = url, session
        self.statuses: list[int] = []
        self.opened = threading.Barrier(count + 1)
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._tab, daemon=True) for _ in range(count)]

    def _tab(self) -> None:
        try:
            with (
                httpx.Client(timeout=60, cookies={"sessionid": self.session}) as client,
                client.stream("GET", self.url) as response,
            ):
                self.statuses.append(response.status_code)
                lines = response.iter_lines()
                next(lines, None)  # the stream has started
                self.opened.wait()
                self.done.wait()
        except (httpx.HTTPError, threading.BrokenBarrierError):
            return

    def __enter__(self) -> OpenTabs:
        for thread in self.threads:
            thread.start()
        self.opened.wait(timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()


def test_concurrent_webhooks_on_postgresql_get_no_5xx_and_stay_under_the_connection_cap(
    server: str, sim_channel: Any, owner: Any, client: Any
) -> None:
    client.force_login(owner.user)
    tabs = OpenTabs(server + reverse("inbox:live"), client.cookies["sessionid"].value, POOL_MAX + 2)
    url = server + reverse("pipeline:webhook", kwargs={"channel_uuid": sim_channel.uuid})
    bodies = [sim_body(sim_event(f"c{i}")) for i in range(WEBHOOKS)]
    start = threading.Barrier(WEBHOOKS)

    limits = httpx.Limits(max_connections=WEBHOOKS, max_keepalive_connections=0)
    platform = httpx.Client(timeout=60, limits=limits)

    def deliver(body: bytes) -> int:
        start.wait()  # all at once
        response = platform.post(
            url,
            content=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, "s3cret")},
        )
        return response.status_code

    sampler = ConnectionSampler()
    sampler.start()
    try:
        # More open tabs than pooled connections: a waiting stream must not hold one.
        with tabs, ThreadPoolExecutor(max_workers=WEBHOOKS) as pool:
            statuses = list(pool.map(deliver, bodies))
    finally:
        sampler.stop.set()
        sampler.join()
        platform.close()
    assert (sorted(set(statuses)), sorted(set(tabs.statuses)), RawEvent.objects.count()) == (
        [200],
        [200],
        WEBHOOKS,
    )
    assert 0 < sampler.most <= POOL_MAX
