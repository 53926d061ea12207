"""What the serving benchmarks (hooks, live, memory) share: a database, real processes, a client.

- `Deployment` makes a throw-away database (SQLite in a temporary data directory, or
  PostgreSQL: `--db postgres`, or DATABASE_URL, gives the server; a database
  `<name>_bench_<pid>` is created there and dropped at the end), migrates it, and starts
  real `cercle serve` (uvicorn, ASGI) and `cercle worker` processes on it.
- `seed_workspace` makes a workspace, an owner and a simulator channel through the actions.
- The load generator is a small asyncio HTTP/1.1 client over keep-alive connections (a raw
  socket: an httpx client would spend more CPU than the server it measures on two cores).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/cercle"


def add_db_argument(parser: Any) -> None:
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgres"),
        default="postgres"
        if os.environ.get("DATABASE_URL", "").startswith("postgres")
        else "sqlite",
        help="sqlite (default) or postgres (DATABASE_URL, else " + DEFAULT_POSTGRES + ")",
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn or the worker may fork)."""
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        for task in tasks:
            text = (task / "children").read_text().split()
            for child in map(int, text):
                found += [child, *_children(child)]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


@dataclass
class Deployment:
    """A throw-away database and the processes serving it (stopped and dropped on exit)."""

    db: str
    data_dir: str = ""
    env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _pg_admin: str = ""
    _pg_name: str = ""

    def __enter__(self) -> Deployment:
        self.data_dir = tempfile.mkdtemp(prefix="cercle-bench-serve-")
        env = dict(os.environ)
        env.update(
            CERCLE_DATA_DIR=self.data_dir,
            DJANGO_SETTINGS_MODULE="cercle.settings",
            CERCLE_LOG_LEVEL="WARNING",
            CERCLE_ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
            CERCLE_API_RATE_LIMIT="100000000",
            CERCLE_SECRET_KEY="bench-secret-key-" + "x" * 40,
        )
        if self.db == "postgres":
            url = os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES
            parts = urlsplit(url)
            self._pg_name = f"{parts.path.lstrip('/') or 'cercle'}_bench_{os.getpid()}"
            self._pg_admin = urlunsplit(parts._replace(path="/postgres"))
            self._psql(f'DROP DATABASE IF EXISTS "{self._pg_name}"')
            self._psql(f'CREATE DATABASE "{self._pg_name}"')
            env["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + self._pg_name))
        else:
            env.pop("DATABASE_URL", None)
        self.env = env
        os.environ.update(env)
        if self.db != "postgres":
            os.environ.pop("DATABASE_URL", None)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        return self

    def _psql(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self._pg_admin, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    @property
    def vendor(self) -> str:
        return self.db

    def serve(self, port: int, processes: int = 1) -> subprocess.Popen[bytes]:
        command = [str(BIN / "cercle"), "serve", "--host", "127.0.0.1", "--port", str(port)]
        process = subprocess.Popen(
            [*command, "--processes", str(processes)],
            env=self.env,
            cwd=ROOT,
        )
        self.processes.append(process)
        wait_http(f"http://127.0.0.1:{port}/healthz", process)
        return process

    def worker(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([str(BIN / "cercle"), "worker"], env=self.env, cwd=ROOT)
        self.processes.append(process)
        return process

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        from django.db import connections

        connections.close_all()
        if self._pg_name:
            self._psql(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')
        shutil.rmtree(self.data_dir, ignore_errors=True)


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


@dataclass
class Seeded:
    workspace_id: int
    channel_uuid: str
    secret: str
    session_cookie: str


def seed_workspace() -> Seeded:
    """A workspace, its owner (logged in: a session cookie) and a simulator channel."""
    from django.test import Client

    from cercle.pipeline.actions import do_create_channel
    from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
    from cercle.workspaces.choices import Role

    workspace = do_create_workspace("Maison Lumen (bench)")
    user = do_create_user("bench", "correct horse battery staple")
    do_add_member(workspace, user, Role.OWNER)
    channel = do_create_channel(
        workspace,
        "simulator",
        "Lumen forum",
        external_id="bench-forum",
        config={"api_base": "http://simulator.invalid/api"},
        credentials={"webhook_secret": "bench-secret", "access_token": "bench"},
    )
    client = Client()
    client.force_login(user)
    client.get("/")  # the session learns its workspace
    return Seeded(
        workspace_id=workspace.pk,
        channel_uuid=str(channel.uuid),
        secret="bench-secret",
        session_cookie=client.cookies["sessionid"].value,
    )


def delivery(seeded: Seeded, n: int, *, tag: str = "d") -> tuple[bytes, dict[str, str]]:
    """One signed simulator delivery holding one new comment (its own conversation)."""
    from cercle.connectors.simulator.connector import SIGNATURE_HEADER, sign

    event = {
        "type": "comment",
        "op": "create",
        "id": f"{tag}{n}",
        "text": f"Bonjour, ma commande {n} est en retard",
        "created_at": "2026-11-30T10:00:00+00:00",
        "author": {"id": f"u{tag}{n}", "name": f"Client {n}", "handle": f"c{tag}{n}"},
        "post": {"id": "p1", "text": "Notre nouvelle lampe", "url": "https://example.com/p1"},
    }
    body = json.dumps({"events": [event]}).encode()
    return body, {SIGNATURE_HEADER: sign(body, seeded.secret), "Content-Type": "application/json"}


def request_bytes(
    method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (Content-Length or chunked); its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        k.strip().lower(): v.strip()
        for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def _load(
    port: int, make: Callable[[int], bytes], total: int, connections: int
) -> LoadResult:
    counter = iter(range(total))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def one_connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for n in counter:
                start = time.perf_counter()
                writer.write(make(n))
                status = await read_response(reader)
                latencies.append(time.perf_counter() - start)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return LoadResult(total, time.perf_counter() - start, latencies, statuses)


def load(port: int, make: Callable[[int], bytes], total: int, connections: int) -> LoadResult:
    """Send `total` requests (`make(n)` builds the n-th) over `connections` keep-alive sockets."""
    return asyncio.run(_load(port, make, total, connections))
