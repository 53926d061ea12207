"""`cercle demo` and a busy port: it serves on a port of its own and says which."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from cercle.cli import build_parser
from cercle.simulator import demo
from cercle.simulator.demo import LOOPBACK, PortBusy, open_listener


@pytest.fixture
def busy_port():
    """A port another program listens on."""
    other = socket.socket()
    other.bind((LOOPBACK, 0))
    other.listen()
    yield other.getsockname()[1]
    other.close()


def test_a_taken_default_port_gives_another_free_one(monkeypatch, busy_port):
    monkeypatch.setattr(demo, "DEFAULT_PORT", busy_port)
    listener = open_listener(LOOPBACK, None)
    try:
        assert listener.getsockname()[1] not in (busy_port, 0)
    finally:
        listener.close()


def test_a_port_asked_for_is_never_replaced(busy_port):
    with pytest.raises(PortBusy):
        open_listener(LOOPBACK, busy_port)


def test_port_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("PORT", "8123")
    assert build_parser().parse_args(["demo"]).port == 8123


def test_the_server_answers_on_the_socket_the_demo_bound(tmp_path):
    listener = open_listener(LOOPBACK, 0)
    port = listener.getsockname()[1]
    env = {
        **os.environ,
        "CERCLE_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "cercle.settings",
    }
    fd = listener.fileno()
    server = subprocess.Popen(
        [sys.executable, "-m", "cercle", "serve", "--fd", str(fd)], env=env, pass_fds=(fd,)
    )
    listener.close()
    try:
        deadline, answer = time.monotonic() + 60, None
        while answer is None and time.monotonic() < deadline and server.poll() is None:
            try:
                answer = httpx.get(f"http://{LOOPBACK}:{port}/login/", timeout=2)
            except httpx.HTTPError:
                time.sleep(0.2)
        assert answer is not None and 'name="password"' in answer.text
    finally:
        server.terminate()
        server.wait(timeout=10)
