"""Scale test: 2 web + 3 worker processes on PostgreSQL, a worker killed and restarted.

A bounded load of signed webhook deliveries (a share sent twice, as platforms
retry) goes to two `cercle serve` processes while three `cercle worker`
processes drain them and send the replies queued meanwhile; one worker is
SIGKILLed mid-load and started again. At the end every delivered comment is
stored exactly once, and every queued reply reached the platform exactly once
(the simulator platform records each POST by idempotency key). Prints its figures.

With CERCLE_TEST_PGBOUNCER=host:port (a PgBouncer in transaction mode in front of
the test's PostgreSQL) the web and worker processes connect through it, as
docs/deploy.md recommends; LISTEN goes to PostgreSQL directly. Give that PgBouncer
a short `server_idle_timeout` (2 s): the test database can only be dropped once
it has closed its server connections.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from cercle.inbox.actions import do_reply
from cercle.inbox.choices import Direction, OutboxState
from cercle.inbox.models import Conversation, Message, Outbox
from cercle.pipeline.actions import do_create_channel
from cercle.simulator.platform import FakePlatform
from cercle.simulator.wire.base import SimAuthor, SimEvent, SimPost
from cercle.simulator.wire.simulator import SimulatorWire

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
COMMENTS = 120
DUPLICATE_SHARE = 0.25
REPLIES = 20
WEB, WORKERS = 2, 3
DEADLINE = 45.0  # seconds for the whole load to be drained once it is sent


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(tmp_path: Path) -> dict[str, str]:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    url = (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CERCLE_DATA_DIR": str(tmp_path),
        "CERCLE_SECRET_KEY": settings.SECRET_KEY,
        "CERCLE_DB_POOL_MAX": "4",
        "CERCLE_EGRESS_ALLOW_HOSTS": "127.0.0.1",
        # A reply left "sending" by the killed worker is reconciled within the test.
        "CERCLE_OUTBOX_STALE_SECONDS": "3",
        # The rule-based classifier only: the test is about delivery, not about the models.
        "CERCLE_CLASSIFIERS": "cercle.moderation.classifiers.toxicity.RuleToxicity",
        "CERCLE_TASK_BACKEND": "database",
    }
    bouncer = os.environ.get("CERCLE_TEST_PGBOUNCER", "")
    if bouncer:
        env["DATABASE_URL"] = url.replace(
            f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/", f"@{bouncer}/"
        )
        env["CERCLE_DB_TRANSACTION_POOLER"] = "1"
        env["CERCLE_LISTEN_DATABASE_URL"] = url
    env.pop("CERCLE_DB_CONN_MAX_AGE", None)
    return env


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cercle", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, Any]]:
    env = _env(tmp_path)
    ports = [_free_port() for _ in range(WEB)]
    webs = [_start(["serve", "--host", "127.0.0.1", "--port", str(port)], env) for port in ports]
    workers = [_start(["worker"], env) for _ in range(WORKERS)]
    state: dict[str, Any] = {"env": env, "workers": workers}
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        deadline = time.monotonic() + 120
        for base in bases:
            while True:
                try:
                    httpx.get(f"{base}/login/", timeout=10)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        pytest.fail("cercle serve did not start")
                    time.sleep(0.2)
        state["bases"] = bases
        yield state
    finally:
        for process in [*webs, *state["workers"]]:
            process.send_signal(signal.SIGTERM)
        for process in [*webs, *state["workers"]]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if os.environ.get("CERCLE_TEST_PGBOUNCER"):
            _wait(_bouncer_released, 15)


def _bouncer_released() -> bool:
    """Whether PgBouncer has closed its idle server connections to the test database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
    return bool(row and row[0] == 0)


class CountingPlatform(FakePlatform):
    """The simulator platform, counting every POST of an action by its idempotency key."""

    def __init__(self) -> None:
        super().__init__(react_probability=0.0)
        self.posts: Counter[str] = Counter()

    def dispatch(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        if method == "POST" and raw_path.endswith("/actions"):
            key = headers.get("idempotency-key", "")
            if not key:
                with contextlib.suppress(ValueError, AttributeError):
                    key = str(json.loads(body).get("idempotency_key", ""))
            with self._lock:
                self.posts[key] += 1
        return super().dispatch(method, raw_path, headers, body)


def _events(count: int) -> list[SimEvent]:
    now = datetime.now(tz=UTC)
    post = SimPost("scale-post", "Our new lamp", "https://sim.test/p/1", now - timedelta(hours=1))
    return [
        SimEvent(
            id=f"scale-{i}",
            type="comment",
            author=SimAuthor(f"fan-{i}", f"Fan {i}", f"fan{i}", "en"),
            text=f"Question number {i} about the lamp?",
            created_at=now - timedelta(seconds=count - i),
            post=post,
        )
        for i in range(count)
    ]


def _wait(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return bool(condition())


def test_deliveries_are_stored_once_and_replies_sent_once_while_a_worker_is_killed(
    cluster, workspace, owner
):
    platform = CountingPlatform().start()
    try:
        wire = platform.add_wire("scale", SimulatorWire)
        setup = wire.setup()
        channel = do_create_channel(
            workspace,
            "simulator",
            "Scale",
            external_id=setup.external_id,
            config=setup.config,
            credentials=setup.credentials,
        )
        events = _events(COMMENTS)
        platform.remember("scale", events)
        deliveries = wire.webhooks(events)
        rng = random.Random(12)
        load = deliveries + rng.sample(deliveries, int(len(deliveries) * DUPLICATE_SHARE))
        rng.shuffle(load)
        bases = cluster["bases"]

        def post(item: tuple[int, Any]) -> int:
            i, delivery = item
            url = f"{bases[i % len(bases)]}/hooks/{channel.uuid}"
            for _attempt in range(5):  # a platform retries a refused delivery
                try:
                    response = httpx.post(
                        url, content=delivery.body, headers=delivery.headers, timeout=30
                    )
                except httpx.TransportError:
                    continue
                if response.status_code == 200:
                    return 200
            return response.status_code

        started = time.monotonic()
        print(f"\nscale: cluster up, sending {len(load)} deliveries", flush=True)
        statuses: list[int] = []
        replies: list[Message] = []
        killed_at = restarted_at = 0.0
        with ThreadPoolExecutor(8) as pool:
            third = len(load) // 3
            statuses += pool.map(post, enumerate(load[:third]))
            # One worker dies without a word, in the middle of the load; it comes back later.
            victim = cluster["workers"][0]
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            killed_at = time.monotonic() - started
            sending = pool.map(post, enumerate(load[third:], start=third))
            # Replies queued while the load goes on, answered by the workers still alive.
            _wait(lambda: Conversation.objects.filter(channel=channel).count() >= REPLIES, 30)
            for conversation in Conversation.objects.filter(channel=channel).order_by("id")[
                :REPLIES
            ]:
                replies.append(do_reply(owner, conversation, f"Thanks {conversation.pk}!"))
            statuses += sending
            cluster["workers"][0] = subprocess.Popen(
                [sys.executable, "-m", "cercle", "worker"],
                cwd=ROOT,
                env=cluster["env"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            restarted_at = time.monotonic() - started
        sent_in = time.monotonic() - started
        print(f"scale: load sent in {sent_in:.1f} s", flush=True)

        def drained() -> bool:
            stored = Message.objects.filter(channel=channel, direction=Direction.INBOUND).count()
            done = Outbox.objects.filter(channel=channel, state=OutboxState.DONE).count()
            return stored >= COMMENTS and done >= len(replies)

        assert _wait(drained, DEADLINE), (
            Message.objects.filter(channel=channel).count(),
            list(Outbox.objects.values_list("state", flat=True)),
        )
        total = time.monotonic() - started
        time.sleep(1.0)  # anything sent twice would show now
        inbound = Message.objects.filter(channel=channel, direction=Direction.INBOUND)
        twice = inbound.values("external_id").annotate(n=Count("id")).filter(n__gt=1)
        keys = list(
            Outbox.objects.filter(channel=channel).values_list("idempotency_key", flat=True)
        )
        through = os.environ.get("CERCLE_TEST_PGBOUNCER", "") or "direct"
        print(
            f"\nscale: db={through} web={WEB} workers={WORKERS} deliveries={len(load)} "
            f"(distinct={len(deliveries)}, duplicates={len(load) - len(deliveries)}) "
            f"replies={len(replies)} sent_in_s={sent_in:.1f} drained_in_s={total:.1f} "
            f"deliveries_per_s={len(load) / sent_in:.0f} killed_at_s={killed_at:.1f} "
            f"restarted_at_s={restarted_at:.1f} statuses={dict(Counter(statuses))}"
        )
        assert set(statuses) == {200}
        assert (inbound.count(), list(twice)) == (COMMENTS, [])
        assert sorted(platform.posts[key] for key in keys) == [1] * len(replies)
        assert sum(platform.posts.values()) == len(replies)
    finally:
        platform.stop()
