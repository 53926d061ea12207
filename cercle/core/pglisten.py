"""PostgreSQL LISTEN in one background thread per process, waking subscribers by key.

The live stream subscribes to its workspace; the Activity trigger (migration
workspaces 0011) sends `NOTIFY cercle_activity, '<workspace id>'` at each commit
that adds activity. One dedicated connection per process listens, whatever the
number of open streams; a subscriber's `wake` is called from the listening thread.

LISTEN needs a session of its own, so this connection is opened directly, not
from the pool: behind PgBouncer in transaction mode, point
CERCLE_LISTEN_DATABASE_URL at PostgreSQL itself (or at a session-mode pool).
While the connection is down, `connected` is clear and streams fall back to
polling; on reconnection every subscriber is woken (a notification may have
been missed).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable

from django.conf import settings

logger = logging.getLogger(__name__)

ACTIVITY_CHANNEL = "cercle_activity"
# Sent by the RawEvent insert trigger (migration pipeline 0004); payload "": wakes the ingest waker.
INGEST_CHANNEL = "cercle_ingest"
RETRY_FIRST = 1.0
RETRY_MAX = 30.0


def conninfo() -> str:
    """Where to LISTEN: CERCLE_LISTEN_DATABASE_URL, else the default database."""
    from django.db import connections
    from psycopg.conninfo import make_conninfo

    url = str(getattr(settings, "CERCLE_LISTEN_DATABASE_URL", ""))
    if url:
        return url
    db = connections["default"].settings_dict
    params = {
        "dbname": db["NAME"],
        "user": db["USER"],
        "password": db["PASSWORD"],
        "host": db["HOST"],
        "port": str(db["PORT"] or ""),
        "application_name": "cercle-listen",
    }
    return make_conninfo(**{k: v for k, v in params.items() if v})


class Listener:
    """LISTEN on one channel; notifications whose payload is a key wake that key's subscribers."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.connected = threading.Event()
        self._subscribers: dict[str, set[Callable[[], object]]] = defaultdict(set)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def subscribe(self, key: str, wake: Callable[[], object]) -> Callable[[], None]:
        """Call `wake` on each notification for `key`; returns the unsubscribe function."""
        with self._lock:
            self._subscribers[key].add(wake)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, daemon=True, name=f"cercle-listen-{self.channel}"
                )
                self._thread.start()

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers[key].discard(wake)
                if not self._subscribers[key]:
                    del self._subscribers[key]

        return unsubscribe

    def _wake(self, key: str | None) -> None:
        with self._lock:
            if key is None:
                wakes = [w for group in self._subscribers.values() for w in group]
            else:
                wakes = list(self._subscribers.get(key, ()))
        for wake in wakes:
            try:
                wake()
            except Exception:  # a subscriber gone away (its event loop closed)
                logger.debug("waking a subscriber failed", exc_info=True)

    def _run(self) -> None:
        import psycopg

        delay = RETRY_FIRST
        while not self._stopped.is_set():
            try:
                with psycopg.connect(conninfo(), autocommit=True) as conn:
                    conn.execute(f"LISTEN {self.channel}")
                    delay = RETRY_FIRST
                    # Whatever was committed before LISTEN took effect is fetched by this wake.
                    self._wake(None)
                    self.connected.set()
                    while not self._stopped.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._wake(note.payload)
            except Exception as exc:
                logger.warning(
                    "LISTEN %s: connection lost (%s); polling, retrying in %.0f s",
                    self.channel,
                    exc,
                    delay,
                )
            self.connected.clear()
            self._wake(None)
            self._stopped.wait(delay)
            delay = min(delay * 2, RETRY_MAX)

    def stop(self) -> None:
        """Close the listening connection (within a second) and end the thread."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(5)


_listeners: dict[str, Listener] = {}
_listeners_lock = threading.Lock()


def listener(channel: str = ACTIVITY_CHANNEL) -> Listener | None:
    """This process's listener of `channel`, or None when the database cannot LISTEN.

    CERCLE_LIVE_LISTEN turns off the live stream's listener only.
    """
    from django.db import connections

    if connections["default"].vendor != "postgresql":
        return None
    if channel == ACTIVITY_CHANNEL and not settings.CERCLE_LIVE_LISTEN:
        return None
    with _listeners_lock:
        if channel not in _listeners:
            _listeners[channel] = Listener(channel)
        return _listeners[channel]


def stop_all() -> None:
    """Stop this process's listeners (tests, before their database is dropped)."""
    with _listeners_lock:
        stopping = list(_listeners.values())
        _listeners.clear()
    for each in stopping:
        each.stop()
