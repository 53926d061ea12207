"""`cercle demo`: Cercle on SQLite with the living Lumen community, in one command.

Sets up (idempotently) the "Lumen" workspace, its team and its simulated
channels on a local fake platform, backfills a month of history through the
real pipeline, then runs the web server and the worker as child processes and
the fake platform and the live community in this one. Ctrl-C or SIGTERM stops
everything cleanly.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from types import FrameType

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from cercle.connectors.models import Channel
from cercle.inbox.models import Conversation, Message
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from cercle.workspaces.models import Member, Workspace

from .community import LIVE_PER_DAY, Community
from .driver import (
    LiveCommunity,
    WebhookSender,
    backfill,
    connect_channels,
    ensure_egress_allowed,
    prime_wires,
)
from .insights_setup import configure_demo_insights
from .listening_setup import configure_demo_listening
from .own_places import (
    MAIL_ADDRESS,
    LiveOwnPlaces,
    OwnPlaces,
    connect_own_places,
    prime,
)
from .platform import FakePlatform
from .replies_setup import configure_demo_replies
from .workflow_setup import configure_demo_routing, configure_demo_workflow

WORKSPACE_SLUG = "lumen"
OWNER = "demo"
# username, display name, role: a bilingual team.
TEAM = (
    ("lea", "Léa Moreau", Role.AGENT),
    ("tom", "Tom Baker", Role.AGENT),
    ("ines", "Inès Haddad", Role.MANAGER),
    ("paul", "Paul Durand", Role.VIEWER),
)
LOOPBACK = "127.0.0.1"


def _say(line: str) -> None:
    print(line, flush=True)


def _password() -> str:
    """The demo password: made once, kept in the data directory (readable by its owner only)."""
    path = Path(settings.DATA_DIR) / "demo_password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(9))
        path.chmod(0o600)
    return path.read_text().strip()


def setup_workspace(password: str) -> Workspace:
    """The Lumen workspace, its owner `demo` and its team (created once, kept on re-runs)."""
    workspace = Workspace.objects.filter(slug=WORKSPACE_SLUG).first()
    if workspace is None:
        workspace = do_create_workspace(
            "Lumen", slug=WORKSPACE_SLUG, timezone="Europe/Paris", language="fr"
        )
    users = get_user_model().objects
    for username, display, role in ((OWNER, "Camille Laurent", Role.OWNER), *TEAM):
        user = users.filter(username=username).first()
        if user is None:
            first, last = display.split(" ", 1)
            # An address, so notification mails of a member who is away print in the console.
            user = do_create_user(
                username,
                password,
                first_name=first,
                last_name=last,
                email=f"{username}@lumen.example",
            )
        do_add_member(workspace, user, role, display_name=display)
    configure_demo_workflow(
        workspace, Member.objects.get(workspace=workspace, user__username=OWNER)
    )
    configure_demo_replies(workspace, Member.objects.get(workspace=workspace, user__username=OWNER))
    configure_demo_insights(
        workspace, Member.objects.get(workspace=workspace, user__username=OWNER)
    )
    return workspace


def _child_env(rate: float = 1.0) -> dict[str, str]:
    env = dict(os.environ)
    env["CERCLE_DATA_DIR"] = str(settings.DATA_DIR)
    env["CERCLE_EGRESS_ALLOW_HOSTS"] = ",".join(settings.CERCLE_EGRESS_ALLOW_HOSTS)
    env.setdefault("DJANGO_SETTINGS_MODULE", "cercle.settings")
    # Notification mails, digests and weekly reports are written to files instead of sent
    # (printing them would bury the address and login the demo prints).
    env.setdefault("CERCLE_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    # The live community writes LIVE_PER_DAY / HISTORY_PER_DAY times busier than its history,
    # so that the inbox moves: against that history every busy channel would be "a crisis"
    # within half an hour. A volume alert waits for half the whole community's live hour on
    # one channel, which an outage of the simulation still reaches; the negative-share alert
    # is unchanged.
    env.setdefault("CERCLE_CRISIS_MIN_VOLUME", str(max(12, round(LIVE_PER_DAY * rate / 24 / 2))))
    return env


# The port the demo prefers when none is asked for; another free one when it is taken.
DEFAULT_PORT = 8000


class PortBusy(Exception):
    """The port asked for is in use by another program."""


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # Connections of a previous run in TIME_WAIT do not make the port busy; a program
    # listening on it does (no SO_REUSEPORT: two listeners could then share the port).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def open_listener(host: str, port: int | None) -> socket.socket:
    """A listening socket for the web server, bound here so no other program can answer on it.

    `port` None: DEFAULT_PORT when free, otherwise a free port the system picks.
    A port asked for explicitly (--port, PORT=) is used or refused, never replaced.
    """
    if port is not None:
        try:
            return _bind(host, port)
        except OSError as exc:
            raise PortBusy(str(exc)) from exc
    try:
        return _bind(host, DEFAULT_PORT)
    except OSError:
        return _bind(host, 0)


def _wait_until_up(url: str, server: subprocess.Popen[bytes], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            httpx.get(url, timeout=2.0)
            return True
        except httpx.HTTPError:
            time.sleep(0.3)
    return False


def run_demo(
    host: str = LOOPBACK, port: int | None = None, days: int = 30, rate: float = 1.0
) -> int:
    """Set up and run the demo until Ctrl-C / SIGTERM; returns the exit status."""
    started = time.monotonic()
    try:
        listener = open_listener(host, port)
    except PortBusy:
        _say(
            _(
                "Port %(port)d on %(host)s is already in use: choose another with "
                "--port or PORT=, or leave both out to get a free one."
            )
            % {"port": port, "host": host}
        )
        return 1
    chosen = int(listener.getsockname()[1])
    if port is None and chosen != DEFAULT_PORT:
        _say(
            _("Port %(default)d is in use by another program: serving on port %(port)d.")
            % {"default": DEFAULT_PORT, "port": chosen}
        )
    port = chosen
    try:
        return _run_demo(listener, host, port, days, rate, started)
    finally:
        listener.close()


def _run_demo(
    listener: socket.socket, host: str, port: int, days: int, rate: float, started: float
) -> int:
    _say(_("Cercle demo — data in %(dir)s") % {"dir": settings.DATA_DIR})
    call_command("migrate", interactive=False, verbosity=0)
    # Hashed, compressed static files, which the server then serves as immutable.
    call_command("collectstatic", interactive=False, verbosity=0)
    _say(_("  database ready (%(s).1f s)") % {"s": time.monotonic() - started})
    password = _password()
    workspace = setup_workspace(password)

    ensure_egress_allowed(LOOPBACK)
    community = Community(seed=42)
    places = OwnPlaces(community)
    places.start_mail(_say, password=password)
    try:
        return _run_with_places(listener, host, port, days, rate, started, workspace, places)
    finally:
        places.stop()


def _start_children(listener: socket.socket, rate: float) -> list[subprocess.Popen[bytes]]:
    """The web server (on the socket bound by the demo, inherited) and the worker."""
    env = _child_env(rate)
    # Links in notification mails and webhooks point at this server.
    bound, port = listener.getsockname()[:2]
    local = LOOPBACK if bound in {"0.0.0.0", "::", ""} else bound  # noqa: S104
    env.setdefault("CERCLE_BASE_URL", f"http://{f'[{local}]' if ':' in local else local}:{port}")
    # Our own interpreter and our own arguments: nothing here comes from outside.
    fd = listener.fileno()
    children = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "cercle", "serve", "--fd", str(fd)], env=env, pass_fds=(fd,)
        ),
        subprocess.Popen([sys.executable, "-m", "cercle", "worker"], env=env),
    ]
    # Only the server holds the socket now: if it dies, nothing answers in its name.
    listener.close()
    return children


def _write_history(
    workspace: Workspace,
    days: int,
    platform: FakePlatform,
    channels: dict[str, Channel],
    places: OwnPlaces,
) -> None:
    """Backfill `days` of history on a first run; on a re-run, tell the platform what it holds."""
    community = places.community
    if Conversation.objects.filter(workspace=workspace).exists():
        oldest = Message.objects.filter(workspace=workspace).aggregate(first=Min("sent_at"))[
            "first"
        ]
        span = (timezone.now() - oldest).days + 1 if oldest else max(days, 1)
        primed = prime_wires(platform, community, span)
        now = timezone.now()
        prime(places, now - timedelta(days=span), now)
        _say(
            _("  history already there: keeping it (%(n)d items known to the platform)")
            % {"n": primed}
        )
    elif days > 0:
        report = backfill(
            workspace,
            days,
            platform=platform,
            channels=channels,
            community=community,
            progress=_say,
            places=places,
        )
        _say(
            _("  backfill: %(c)d conversations from %(e)d items in %(s).1f s")
            % {"c": report.conversations, "e": report.events, "s": report.seconds}
        )


def _print_welcome(
    cercle_url: str,
    platform: FakePlatform,
    places: OwnPlaces,
    password: str,
    started: float,
    rate: float,
) -> None:
    """Where Cercle and the demo's own places answer, and how to log in."""
    _say("")
    _say(
        _("Cercle is running: %(url)s  (ready in %(s).0f s)")
        % {"url": cercle_url, "s": time.monotonic() - started}
    )
    _say(_("  site with the widget: %(url)s/site/") % {"url": platform.base_url})
    _say(_("  blog feed: %(url)s/blog/feed.xml") % {"url": platform.base_url})
    if places.mail is not None:
        _say(
            _(
                "  mailbox %(address)s (same password): IMAP %(host)s:%(imap)d, "
                "SMTP %(host)s:%(smtp)d, no TLS"
            )
            % {
                "address": MAIL_ADDRESS,
                "host": places.mail.host,
                "imap": places.mail.imap_port,
                "smtp": places.mail.smtp_port,
            }
        )
    _say(_("  log in as %(user)s / %(password)s") % {"user": OWNER, "password": password})
    _say(
        _("  team (same password): %(names)s")
        % {"names": ", ".join(f"{u} ({r.label})" for u, _name, r in TEAM)}
    )
    if "CERCLE_EMAIL_BACKEND" not in os.environ:
        _say(
            _("  the team's notification e-mails are written to %(path)s")
            % {"path": settings.EMAIL_FILE_PATH}
        )
    _say(_("  the community writes live (rate %(rate)s). Ctrl-C to stop.") % {"rate": rate})


def _stop_all(
    children: list[subprocess.Popen[bytes]],
    threads: list[LiveCommunity | LiveOwnPlaces],
    platform: FakePlatform,
) -> None:
    """Stop the live threads, then the server and the worker (SIGTERM, then kill), then the platform."""
    for thread in threads:
        thread.stop()
    platform.deliver = None
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    for thread in threads:
        if thread.ident is not None:  # started
            thread.join(timeout=5)
    platform.stop()


def _run_with_places(
    listener: socket.socket,
    host: str,
    port: int,
    days: int,
    rate: float,
    started: float,
    workspace: Workspace,
    places: OwnPlaces,
) -> int:
    password = _password()
    community = places.community
    local = LOOPBACK if host in {"0.0.0.0", "::", ""} else host  # noqa: S104
    cercle_url = f"http://{local}:{port}"
    platform = FakePlatform(community).start()
    channels = connect_channels(workspace, platform)
    platform.pages = places.page
    places.cercle_url = cercle_url
    own = connect_own_places(workspace, places, platform.base_url)
    _say(
        _("  fake platform on %(url)s, %(n)d channels")
        % {"url": platform.base_url, "n": len(channels) + len(own)}
    )

    _write_history(workspace, days, platform, channels, places)
    # Routing comes on once the history is written: the live worker hands its backlog out.
    configure_demo_routing(workspace, Member.objects.get(workspace=workspace, user__username=OWNER))
    configure_demo_listening(
        workspace, Member.objects.get(workspace=workspace, user__username=OWNER)
    )

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, _on_signal)
    # Ctrl-C reaches the children too: stop quietly rather than report that one "exited".
    previous_int = signal.signal(signal.SIGINT, _on_signal)
    children = _start_children(listener, rate)
    sender = WebhookSender(cercle_url, platform, channels)
    live = LiveCommunity(community, sender.deliver, rate=rate)
    live_places = LiveOwnPlaces(places, rate=rate)
    status = 0
    try:
        if not _wait_until_up(cercle_url + "/", children[0]):
            if not stop.is_set():
                _say(_("The web server did not start; stopping."))
                status = 1
            return status
        platform.deliver = sender.deliver
        live.start()
        live_places.start()
        _print_welcome(cercle_url, platform, places, password, started, rate)
        while not stop.wait(1.0):
            if any(child.poll() is not None for child in children):
                _say(_("A Cercle process exited; stopping."))
                status = 1
                break
    except KeyboardInterrupt:
        pass
    finally:
        _say(_("Stopping…"))
        _stop_all(children, [live, live_places], platform)
        sender.close()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    return status
