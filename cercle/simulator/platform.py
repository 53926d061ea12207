"""The fake platform: one local HTTP server playing every simulated channel's platform API.

`http://127.0.0.1:<port>/<platform>/<channel_key>/<rest>` goes to that channel's
`Wire.handle` (the real connectors call it exactly as they would call the
platform). Every action the brand performs is recorded (`server.actions`, and
`GET /_sim/actions` as JSON), and the community sometimes reacts: after a
brand reply the customer answers again a little later (thanks, or a follow-up
question), delivered through the normal webhook path by `deliver`.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .community import Community
from .wire.base import FakeRequest, SimAction, SimEvent, Wire

logger = logging.getLogger(__name__)

# Actions that answer a customer (and may make them write again).
ANSWERS = {"reply", "private_reply", "send_private"}
# What `deliver` receives: the channel key and the events to push through its wire.
Deliver = Callable[[str, list[SimEvent]], None]
# Plain pages served beside the wires (the demo's blog feed and sample site):
# (method, path with query, lower-case headers) → (status, body, headers), or None if not theirs.
Pages = Callable[[str, str, dict[str, str]], tuple[int, bytes, dict[str, str]] | None]


class FakePlatform:
    """The server, the channels' wires, the performed actions and the community's reactions."""

    def __init__(
        self,
        community: Community | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        react_probability: float = 0.35,
        react_delay: tuple[float, float] = (5.0, 40.0),
        seed: int = 7,
    ) -> None:
        self.community = community or Community()
        self.react_probability = react_probability
        self.react_delay = react_delay
        self.deliver: Deliver | None = None
        self.pages: Pages | None = None
        self.wires: dict[str, Wire] = {}  # channel key → wire
        self.actions: list[SimAction] = []
        self.action_channels: list[str] = []  # channel key of each entry of `actions`
        self.reactions: list[tuple[str, SimEvent]] = []
        self._known: dict[tuple[str, str], SimEvent] = {}
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._timers: list[threading.Timer] = []
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakePlatform:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sim-platform", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cancel pending reactions."""
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
        if self._thread is not None:  # shutdown() waits for serve_forever: only when it runs
            self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakePlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- channels ------------------------------------------------------------------

    def api_base(self, platform: str, channel_key: str) -> str:
        """Where a channel's connector finds its (fake) platform API."""
        return f"{self.base_url}/{platform}/{channel_key}"

    def add_wire(self, channel_key: str, wire_cls: type[Wire]) -> Wire:
        """Create and mount the wire of a channel."""
        wire = wire_cls(
            channel_key, self.api_base(wire_cls.platform, channel_key), self._listener(channel_key)
        )
        self.wires[channel_key] = wire
        return wire

    def remember(self, channel_key: str, events: list[SimEvent]) -> None:
        """Note items the platform published, so it knows whom a reply answers."""
        with self._lock:
            for event in events:
                self._known[channel_key, event.id] = event

    def known(self, channel_key: str, item_id: str) -> SimEvent | None:
        with self._lock:
            return self._known.get((channel_key, item_id))

    # --- actions and reactions -------------------------------------------------------

    def _listener(self, channel_key: str) -> Callable[[SimAction], None]:
        def on_action(action: SimAction) -> None:
            with self._lock:
                self.actions.append(action)
                self.action_channels.append(channel_key)
            if action.kind in ANSWERS:
                self._maybe_react(channel_key, action)

        return on_action

    def actions_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {
                    "channel": channel,
                    "kind": a.kind,
                    "target_id": a.target_id,
                    "text": a.text,
                    "created_id": a.created_id,
                }
                for channel, a in zip(self.action_channels, self.actions, strict=True)
            ]

    def _maybe_react(self, channel_key: str, action: SimAction) -> None:
        with self._lock:
            roll = self._rng.random()
            delay = self._rng.uniform(*self.react_delay)
            target = self._known.get((channel_key, action.target_id))
            if target is None:  # a private thread: answer the thread's latest known item
                target = next(
                    (
                        e
                        for (k, _), e in reversed(self._known.items())
                        if k == channel_key and e.thread_id == action.target_id
                    ),
                    None,
                )
        if target is None or roll >= self.react_probability:
            return
        when = datetime.now(UTC) + timedelta(seconds=delay)
        with self._lock:
            event = self.community.reaction(self._rng, target, action.created_id, when)
        if event is None:
            return
        if delay <= 0:
            self._react(channel_key, event)
            return
        timer = threading.Timer(delay, self._react, args=(channel_key, event))
        timer.daemon = True
        with self._lock:
            self._timers.append(timer)
        timer.start()

    def _react(self, channel_key: str, event: SimEvent) -> None:
        self.remember(channel_key, [event])
        with self._lock:
            self.reactions.append((channel_key, event))
        if self.deliver is None:
            return
        try:
            self.deliver(channel_key, [event])
        except Exception:  # a reaction lost is not worth killing the platform thread
            logger.exception("could not deliver a reaction on %s", channel_key)

    # --- HTTP ------------------------------------------------------------------------

    def dispatch(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        """Route one request: a plain page, `/_sim/actions`, or `/<platform>/<channel_key>/<rest>` to a wire."""
        parts = urlsplit(raw_path)
        if self.pages is not None and method in {"GET", "HEAD"}:
            page = self.pages(method, raw_path, headers)
            if page is not None:
                return page
        if parts.path == "/_sim/actions" and method == "GET":
            return (
                200,
                json.dumps(self.actions_json()).encode(),
                {"Content-Type": "application/json"},
            )
        segments = parts.path.split("/", 3)
        if len(segments) < 4:
            return 404, b'{"error": "no such channel"}', {"Content-Type": "application/json"}
        _, platform, channel_key, rest = segments
        wire = self.wires.get(channel_key)
        if wire is None or wire.platform != platform:
            return 404, b'{"error": "no such channel"}', {"Content-Type": "application/json"}
        response = wire.handle(
            FakeRequest(
                method=method,
                path="/" + rest,
                query=parse_qs(parts.query),
                headers=headers,
                body=body,
            )
        )
        return response.status, response.body, response.headers


def _handler_for(platform: FakePlatform) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                status, payload, extra = platform.dispatch(self.command, self.path, headers, body)
            except Exception:
                logger.exception("fake platform failed on %s %s", self.command, self.path)
                status, payload, extra = (
                    500,
                    b'{"error": "simulator failure"}',
                    {"Content-Type": "application/json"},
                )
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(
            self, format: str, *args: Any
        ) -> None:  # quiet: the demo prints its own progress
            return

    return Handler
