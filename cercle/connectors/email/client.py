"""MailTransport: IMAP (read) and SMTP (send) for one mailbox, with timeouts and error classes.

E-mail is not HTTP, so `PlatformHttp` does not apply; this module plays its
part for mail: every host goes through the same egress guard (a user-typed
host must not reach a private address), every socket has a timeout, and every
failure becomes a connector error:

| failure                                   | error           |
|-------------------------------------------|-----------------|
| login refused (IMAP `NO`, SMTP 535)       | TokenRevoked    |
| host refused by the egress guard          | PermissionDenied|
| connection refused / timeout / TLS failure before sending | TransientError |
| mailbox missing                           | PermissionDenied|
| SMTP 4xx                                  | TransientError  |
| SMTP 5xx on a recipient or the message    | Rejected        |
| connection lost or timeout during DATA    | UnknownResult   |

Standards: IMAP4rev1 (RFC 3501: UID, UIDVALIDITY §2.3.1.1, SEARCH HEADER,
BODY.PEEK), SMTP (RFC 5321), STARTTLS (RFC 3207 / RFC 2595), implicit TLS
(RFC 8314). The stdlib's imaplib and smtplib do the protocol work.
"""

from __future__ import annotations

import imaplib
import re
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from cercle.connectors.base import (
    PermissionDenied,
    Rejected,
    TokenRevoked,
    TransientError,
    UnknownResult,
)
from cercle.core.egress import EgressRefused, EgressUnresolvable, check_egress

TLS_MODES = ("ssl", "starttls", "none")
DEFAULT_TIMEOUT = 20.0
# Bytes fetched of one message at most (attachments beyond are not needed for the inbox).
MAX_FETCH = 512 * 1024
# Characters a message id may hold when we put it into an IMAP command.
SAFE_ID = re.compile(r"^[^\s<>\"\\()\x00-\x1f\x7f]{1,250}$")


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    tls: str  # "ssl" (implicit TLS), "starttls" or "none"
    user: str
    password: str


@dataclass(frozen=True, slots=True)
class MailSettings:
    imap: Endpoint
    smtp: Endpoint
    mailbox: str = "INBOX"
    from_address: str = ""
    sent_mailbox: str = ""
    timeout: float = DEFAULT_TIMEOUT


def guard_host(host: str, port: int) -> None:
    """The egress guard of `PlatformHttp`, applied to a mail host."""
    if not host or any(c in host for c in "/@ \r\n\t"):
        raise Rejected(f"not a host name: {host[:100]!r}")
    try:
        check_egress(f"https://{host}:{port}/")
    except EgressRefused as exc:
        raise PermissionDenied(f"mail host refused: {exc}") from exc
    except EgressUnresolvable as exc:
        raise TransientError(str(exc)) from exc


def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def _quote(value: str) -> str:
    """An IMAP quoted string (RFC 3501 §4.3) of a value we checked holds no CR, LF or NUL."""
    if any(c in value for c in "\r\n\x00"):
        raise Rejected("line break in an IMAP argument")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapSession:
    """One logged-in IMAP connection (use `MailTransport.imap()`)."""

    def __init__(self, conn: imaplib.IMAP4) -> None:
        self.conn = conn

    def _check(self, typ: str, data: Any, what: str) -> Any:
        if typ != "OK":
            raise TransientError(f"IMAP {what} failed: {_text(data)}")
        return data

    def select(self, mailbox: str) -> tuple[int, int]:
        """EXAMINE (read-only: nothing marked as read) → (UIDVALIDITY, number of messages)."""
        try:
            typ, data = self.conn.select(_quote(mailbox), readonly=True)
        except imaplib.IMAP4.error as exc:
            raise PermissionDenied(f"IMAP mailbox {mailbox!r}: {exc}") from exc
        if typ != "OK":
            raise PermissionDenied(f"IMAP mailbox {mailbox!r} cannot be opened: {_text(data)}")
        _typ, validity = self.conn.response("UIDVALIDITY")
        try:
            uidvalidity = int(validity[0]) if validity and validity[0] else 0
        except (TypeError, ValueError):
            uidvalidity = 0
        try:
            exists = int(data[0]) if data and data[0] else 0
        except (TypeError, ValueError):
            exists = 0
        return uidvalidity, exists

    def uids_after(self, last_uid: int, since: str = "") -> list[int]:
        """UIDs greater than `last_uid` (optionally only messages received since a date), ascending."""
        criteria: list[str] = ["UID", f"{last_uid + 1}:*"]
        if since:
            criteria += ["SINCE", since]
        data = self._check(*self.conn.uid("SEARCH", *criteria), what="SEARCH")
        uids = sorted({int(u) for u in _text(data).split() if u.isdigit()})
        # "n:*" always matches the last message, even when its UID is below n.
        return [u for u in uids if u > last_uid]

    def search_message_id(self, message_id: str) -> list[int]:
        if not SAFE_ID.match(message_id):
            return []
        data = self._check(
            *self.conn.uid("SEARCH", "HEADER", "Message-ID", _quote(f"<{message_id}>")),
            what="SEARCH",
        )
        return sorted(int(u) for u in _text(data).split() if u.isdigit())

    def fetch(self, uids: list[int], part: str = f"BODY.PEEK[]<0.{MAX_FETCH}>") -> dict[int, bytes]:
        """uid → the message's bytes (BODY.PEEK: the message stays unread)."""
        if not uids:
            return {}
        typ, data = self.conn.uid("FETCH", ",".join(str(u) for u in uids), f"(UID {part})")
        self._check(typ, data, "FETCH")
        out: dict[int, bytes] = {}
        for entry in data:
            if not isinstance(entry, tuple) or len(entry) < 2:
                continue
            match = re.search(rb"UID (\d+)", entry[0])
            if match and isinstance(entry[1], bytes):
                out[int(match.group(1))] = entry[1]
        return out

    def fetch_headers(self, uid: int) -> bytes:
        fields = (
            "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID SUBJECT FROM REPLY-TO REFERENCES IN-REPLY-TO)]"
        )
        return self.fetch([uid], fields).get(uid, b"")


class MailTransport:
    """Opens IMAP and SMTP connections for one mailbox's settings."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    # -- IMAP ------------------------------------------------------------------------------

    @contextmanager
    def imap(self) -> Iterator[ImapSession]:
        end = self.settings.imap
        guard_host(end.host, end.port)
        timeout = self.settings.timeout
        try:
            if end.tls == "ssl":
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    end.host, end.port, ssl_context=_tls_context(), timeout=timeout
                )
            else:
                conn = imaplib.IMAP4(end.host, end.port, timeout=timeout)
                if end.tls == "starttls":
                    conn.starttls(ssl_context=_tls_context())
        except (OSError, imaplib.IMAP4.error) as exc:
            raise TransientError(f"cannot connect to IMAP {end.host}:{end.port}: {exc}") from exc
        try:
            _imap_login(conn, end)
            yield ImapSession(conn)
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise TransientError(f"IMAP connection lost: {exc}") from exc
        finally:
            with suppress(OSError, imaplib.IMAP4.error):
                conn.logout()

    # -- SMTP ------------------------------------------------------------------------------

    @contextmanager
    def smtp(self) -> Iterator[smtplib.SMTP]:
        """A connected, logged-in SMTP client; failures here happen before anything is sent."""
        end = self.settings.smtp
        guard_host(end.host, end.port)
        timeout = self.settings.timeout
        try:
            if end.tls == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    end.host, end.port, timeout=timeout, context=_tls_context()
                )
            else:
                client = smtplib.SMTP(end.host, end.port, timeout=timeout)
                if end.tls == "starttls":
                    client.starttls(context=_tls_context())
            if end.user:
                client.login(end.user, end.password)
        except UnicodeEncodeError as exc:
            # smtplib sends AUTH in ASCII only.
            raise TokenRevoked("the SMTP user name or password has non-ASCII characters") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise TokenRevoked(f"SMTP login refused for {end.user}: {exc.smtp_code}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise PermissionDenied(f"SMTP server {end.host}: {exc}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientError(f"cannot connect to SMTP {end.host}:{end.port}: {exc}") from exc
        try:
            yield client
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()

    def send(self, message: EmailMessage, recipients: list[str]) -> None:
        """Send one message; a failure after the server may have taken it is an UnknownResult."""
        with self.smtp() as client:
            try:
                refused = client.send_message(
                    message, from_addr=self.settings.from_address, to_addrs=recipients
                )
            except smtplib.SMTPRecipientsRefused as exc:
                raise _classify(exc.recipients, "recipient refused") from exc
            except smtplib.SMTPSenderRefused as exc:
                raise _by_code(exc.smtp_code, f"sender refused: {_text(exc.smtp_error)}") from exc
            except smtplib.SMTPDataError as exc:
                raise _by_code(exc.smtp_code, f"message refused: {_text(exc.smtp_error)}") from exc
            except (smtplib.SMTPServerDisconnected, TimeoutError, OSError) as exc:
                raise UnknownResult(f"SMTP connection lost while sending: {exc}") from exc
            except smtplib.SMTPResponseException as exc:
                raise _by_code(exc.smtp_code, _text(exc.smtp_error)) from exc
            except smtplib.SMTPException as exc:
                raise UnknownResult(f"SMTP error while sending: {exc}") from exc
            if refused:
                raise _classify(refused, "recipient refused")


# Login answers that say "not now" rather than "wrong credentials" (RFC 5530).
TEMPORARY_LOGIN = ("UNAVAILABLE", "INUSE", "SERVERBUG", "LIMIT")


def _imap_login(conn: imaplib.IMAP4, end: Endpoint) -> None:
    """LOGIN (AUTHENTICATE PLAIN in UTF-8 for a non-ASCII password); refused → TokenRevoked."""
    try:
        if (end.user + end.password).isascii():
            conn.login(end.user, end.password)
        else:
            secret = f"\0{end.user}\0{end.password}".encode()
            conn.authenticate("PLAIN", lambda _challenge: secret)
    except imaplib.IMAP4.abort as exc:
        raise TransientError(f"IMAP connection lost at login: {exc}") from exc
    except imaplib.IMAP4.error as exc:
        if any(code in str(exc).upper() for code in TEMPORARY_LOGIN):
            raise TransientError(f"IMAP login not possible now: {exc}") from exc
        raise TokenRevoked(f"IMAP login refused for {end.user}: {exc}") from exc


def _by_code(code: int, detail: str) -> Exception:
    if 400 <= code < 500:
        return TransientError(f"SMTP {code}: {detail}")
    return Rejected(f"SMTP {code}: {detail}")


def _classify(refused: dict[str, tuple[int, bytes]], what: str) -> Exception:
    codes = [code for code, _msg in refused.values()]
    detail = f"{what}: " + ", ".join(f"{addr} ({code})" for addr, (code, _m) in refused.items())
    if codes and all(400 <= c < 500 for c in codes):
        return TransientError(detail)
    return Rejected(detail)


def _text(data: Any) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    if isinstance(data, list | tuple):
        return " ".join(_text(d) for d in data if d is not None)
    return str(data)
