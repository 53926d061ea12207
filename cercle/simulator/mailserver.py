"""A real IMAP server and a real SMTP server on loopback, for the tests and the demo's mailbox.

- IMAP: pymap (https://github.com/icgood/pymap), its in-memory `dict` backend,
  run as a child process on a free loopback port, one user.
- SMTP: aiosmtpd (https://aiosmtpd.aio-libs.org), in a thread of this process;
  it keeps every message it accepts in `received` (and, with `file_into`,
  also files it into an IMAP mailbox, like a host that keeps sent mail).

Both packages are in the `dev` extra. `available()` says whether they are
installed, so tests can skip with a clear message when they are not.
"""

from __future__ import annotations

import asyncio
import imaplib
import importlib.util
import logging
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

MISSING_MESSAGE = "the loopback mail servers need pymap and aiosmtpd: pip install -e '.[dev]'"


def compose(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    sender_name: str = "",
    message_id: str = "",
    in_reply_to: str = "",
    references: Sequence[str] = (),
    date: datetime | None = None,
    html: str = "",
) -> bytes:
    """A customer's mail as bytes (for `LoopbackMail.deliver`); ids without angle brackets."""
    message = EmailMessage()
    message["From"] = f"{sender_name} <{sender}>" if sender_name else sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(date or datetime.now().astimezone())
    message["Message-ID"] = f"<{message_id}>" if message_id else make_msgid(domain="client.test")
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        message["References"] = " ".join(f"<{r}>" for r in references)
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    return bytes(message)


def available() -> bool:
    return all(importlib.util.find_spec(name) for name in ("pymap", "aiosmtpd"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@dataclass
class Received:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class LoopbackMail:
    """Start with `start()`, stop with `stop()`; addresses are 127.0.0.1 and the two ports."""

    user: str = "support@lumen.test"
    password: str = "loopback-pass"
    host: str = "127.0.0.1"
    imap_port: int = 0
    smtp_port: int = 0
    # File every accepted message into this mailbox too (a "Sent" folder, or the demo's inbox).
    file_into: str = ""
    # Seconds the server waits before answering DATA (after keeping the message).
    data_delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    _imap: subprocess.Popen[bytes] | None = None
    _smtp: Any = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LoopbackMail:
        if not available():
            raise RuntimeError(MISSING_MESSAGE)
        self.imap_port = self.imap_port or free_port()
        self.smtp_port = self.smtp_port or free_port()
        self._imap = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [
                sys.executable,
                "-c",
                # Passwords kept in clear in this in-memory server: its default
                # (500 000 rounds of PBKDF2) costs half a second per login.
                "import sys, pymap.config, pysasl.hashing;"
                "pymap.config.BuiltinHash = pysasl.hashing.Cleartext;"
                "from pymap.main import main; sys.exit(main())",
                "--host",
                self.host,
                "--port",
                str(self.imap_port),
                "--no-tls",
                "--no-service",
                "admin",
                "dict",
                # `--opt=value`: a value starting with "-" is not taken for an option.
                f"--demo-user={self.user}",
                f"--demo-password={self.password}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(self.imap_port)
            self._start_smtp()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_smtp(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        outer = self

        class Handler:
            async def handle_RCPT(
                self, server: Any, session: Any, envelope: Any, address: str, options: Any
            ) -> str:
                if address.endswith("@refused.test"):
                    return "550 5.1.1 no such user here"
                if address.endswith("@later.test"):
                    return "451 4.3.0 try again later"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                data = bytes(envelope.original_content or envelope.content or b"")
                outer.received.append(
                    Received(str(envelope.mail_from), list(envelope.rcpt_tos), data)
                )
                if outer.file_into:
                    outer.deliver(data, outer.file_into)
                if outer.data_delay:
                    await asyncio.sleep(outer.data_delay)
                return "250 2.0.0 queued"

        def authenticator(
            server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
        ) -> AuthResult:
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == self.user
                and auth_data.password.decode() == self.password
            )
            return AuthResult(success=ok, handled=False)

        # Plain AUTH without TLS is what a loopback server wants: aiosmtpd's warnings about
        # it (one per session) and its deprecation notices would only clutter the demo's output.
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        warnings.filterwarnings(
            "ignore", message="Requiring AUTH while not requiring TLS", category=UserWarning
        )
        self._smtp = Controller(
            Handler(),
            hostname=self.host,
            port=self.smtp_port,
            authenticator=authenticator,
            auth_require_tls=False,
            auth_required=True,
        )
        self._smtp.start()

    def stop(self) -> None:
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None
        if self._imap is not None:
            self._imap.terminate()
            try:
                self._imap.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._imap.kill()
            self._imap = None

    # -- the mailbox -----------------------------------------------------------------------

    def imap(self) -> imaplib.IMAP4:
        """A logged-in IMAP client (the caller logs out)."""
        client = imaplib.IMAP4(self.host, self.imap_port, timeout=10)
        if (self.user + self.password).isascii():
            client.login(self.user, self.password)
        else:
            secret = f"\0{self.user}\0{self.password}".encode()
            client.authenticate("PLAIN", lambda _challenge: secret)
        return client

    def deliver(self, raw: bytes, mailbox: str = "INBOX") -> None:
        """Put a message into a mailbox (IMAP APPEND), as if it had just arrived."""
        self.deliver_many([raw], mailbox)

    def deliver_many(self, raws: Sequence[bytes], mailbox: str = "INBOX") -> None:
        """Put messages into a mailbox, in order, over one IMAP connection."""
        if not raws:
            return
        client = self.imap()
        try:
            for raw in raws:
                typ, data = client.append(
                    f'"{mailbox}"',
                    None,
                    None,
                    raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
                )
                if typ != "OK":
                    raise RuntimeError(f"APPEND failed: {data!r}")
        finally:
            client.logout()

    def recreate(self, mailbox: str) -> None:
        """Delete and create a mailbox again: its UIDVALIDITY changes (and it is empty)."""
        client = self.imap()
        try:
            client.delete(f'"{mailbox}"')
            client.create(f'"{mailbox}"')
        finally:
            client.logout()

    def create(self, mailbox: str) -> None:
        client = self.imap()
        try:
            client.create(f'"{mailbox}"')
        finally:
            client.logout()
