"""RFC 5322 messages → `Incoming` private messages. Pure: no DB, no network.

- Identity: the `Message-ID` (without angle brackets); a message without one is
  named by where it lies, `uid:<mailbox>:<UIDVALIDITY>:<UID>`.
- Threading (RFC 5322 §3.6.4): the thread is the first id of `References`,
  else `In-Reply-To`, else the message itself (a new thread): `thread_ref`.
- Body: the text/plain part when there is one; otherwise the HTML part through
  the allow-list sanitiser (nh3, no images at all) and reduced to plain text.
  Only plain text is stored; remote images are therefore never loaded.
- Robots (RFC 3834 `Auto-Submitted`, `Precedence: bulk/list/junk`, a null
  return path, `X-Autoreply`): `auto_submitted=True`, so no rule answers them.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from cercle.connectors.base import Author, BadPayload, Incoming
from cercle.connectors.text import clean, html_to_text, tidy

ENVELOPE_KIND = "cercle#imapPage"
KIND = "message"
MAX_ID = 200
MAX_TEXT = 20_000
_MSG_ID = re.compile(r"<([^<>\s\"\\]{1,250})>")
ROBOT_PRECEDENCE = frozenset({"bulk", "list", "junk"})


def message_ids(value: str) -> list[str]:
    """The ids in a `References` / `In-Reply-To` / `Message-ID` value, in order."""
    return _MSG_ID.findall(clean(value or ""))


def _header(msg: Message, name: str) -> str:
    """A header as text; a malformed one reads as empty rather than failing the message."""
    try:
        value = msg.get(name)
    except (ValueError, TypeError, IndexError):
        return ""
    return clean(str(value)) if value is not None else ""


def is_auto_submitted(msg: Message) -> bool:
    auto = _header(msg, "Auto-Submitted").strip().lower()
    if auto and not auto.startswith("no"):
        return True
    if _header(msg, "Precedence").strip().lower() in ROBOT_PRECEDENCE:
        return True
    if _header(msg, "X-Autoreply").strip().lower() == "yes" or _header(msg, "X-Autorespond"):
        return True
    return _header(msg, "Return-Path").strip() == "<>"


_ATTRIBUTION = re.compile(r"(wrote|a écrit|schrieb|escribió|ha scritto)\s*:\s*$", re.IGNORECASE)
_FORWARDED_HISTORY = re.compile(
    r"^\s*-{2,}\s*(original message|message d'origine|ursprüngliche nachricht)\s*-{2,}\s*$",
    re.IGNORECASE,
)


def strip_quoted_tail(text: str) -> str:
    """The mail without the history quoted below it (only below: inline answers are kept).

    A trailing block of `>` lines and its "On …, X wrote:" line go, and so does
    everything from an Outlook "-----Original Message-----" line. A mail that is
    nothing but quotes is kept whole.
    """
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if _FORWARDED_HISTORY.match(line):
            lines = lines[:index]
            break
    end = len(lines)
    while end > 0 and (lines[end - 1].startswith(">") or not lines[end - 1].strip()):
        end -= 1
    if any(line.startswith(">") for line in lines[end:]):
        if end > 0 and _ATTRIBUTION.search(lines[end - 1]):
            end -= 1
            # A long attribution is often wrapped onto two lines.
            if (
                end > 0
                and lines[end - 1].strip()
                and re.match(r"^(On|Le|Am|El|Il) ", lines[end - 1])
            ):
                end -= 1
        lines = lines[:end]
    kept = "\n".join(lines).strip()
    return kept or text


def _guess_decode(payload: bytes) -> str:
    """Bytes of a part whose charset is missing or unknown: UTF-8, else Windows-1252."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("cp1252", "replace")


def body_text(msg: Message) -> str:
    """Plain text of the message: text/plain preferred, sanitised HTML otherwise."""
    if not isinstance(msg, EmailMessage):
        return ""
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content: Any
    try:
        if part.get_content_charset() is None:
            raise LookupError("no charset declared")
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # unknown or missing charset
        payload = part.get_payload(decode=True)
        content = _guess_decode(payload) if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        return strip_quoted_tail(html_to_text(content))
    return strip_quoted_tail(tidy(content))


def parse_message(
    raw: bytes, *, mailbox: str, uidvalidity: int, uid: int, brand_address: str = ""
) -> Incoming:
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # the parser is lenient; anything it raises is a broken message
        raise BadPayload(f"unreadable message {uid}: {exc}") from exc
    own = message_ids(_header(msg, "Message-ID"))
    external_id = own[0] if own else f"uid:{mailbox}:{uidvalidity}:{uid}"[:MAX_ID]
    references = message_ids(_header(msg, "References"))
    in_reply_to = message_ids(_header(msg, "In-Reply-To"))
    thread_ref = (references or in_reply_to or [external_id])[0]
    parent = (in_reply_to or references[-1:] or [""])[0]
    addresses = getaddresses([_header(msg, "From")])
    name, address = addresses[0] if addresses else ("", "")
    address = clean(address).strip().lower()[:MAX_ID]
    author = Author(
        external_id=address or "unknown",
        name=tidy(name)[:200] or address,
        handle=address,
    )
    sent_at: datetime | None = None
    try:
        date = _header(msg, "Date")
        sent_at = parsedate_to_datetime(date).astimezone(UTC) if date else None
    except (TypeError, ValueError, IndexError):
        sent_at = None
    subject = tidy(_header(msg, "Subject"))
    body = body_text(msg)
    # The subject opens a thread; in answers it only repeats with "Re:".
    text = f"{subject}\n\n{body}".strip() if thread_ref == external_id and subject else body
    return Incoming(
        external_id=external_id,
        kind=KIND,
        author=author,
        text=(text or subject)[:MAX_TEXT],
        sent_at=sent_at,
        parent_external_id=parent if parent != external_id else "",
        thread_ref=thread_ref,
        is_private=True,
        from_brand=bool(brand_address) and address == brand_address.strip().lower(),
        auto_submitted=is_auto_submitted(msg),
    )


def envelope(mailbox: str, uidvalidity: int, messages: dict[int, bytes]) -> bytes:
    """The raw copy of one polled page: where the messages lie and their bytes."""
    return json.dumps(
        {
            "kind": ENVELOPE_KIND,
            "mailbox": mailbox,
            "uidvalidity": uidvalidity,
            "messages": [
                {"uid": uid, "raw": base64.b64encode(raw).decode("ascii")}
                for uid, raw in sorted(messages.items())
            ],
        },
        separators=(",", ":"),
    ).encode()


def parse_envelope(body: bytes, brand_address: str = "") -> list[Incoming]:
    try:
        data: Any = json.loads(body)
        if not isinstance(data, dict) or data.get("kind") != ENVELOPE_KIND:
            raise BadPayload("not a stored IMAP page")
        mailbox = str(data["mailbox"])
        uidvalidity = int(data["uidvalidity"])
        rows = [(int(m["uid"]), base64.b64decode(m["raw"])) for m in data["messages"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise BadPayload(f"unreadable IMAP page: {exc}") from exc
    return [
        parse_message(
            raw, mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, brand_address=brand_address
        )
        for uid, raw in rows
    ]


def reply_to_address(headers: bytes) -> tuple[str, str, list[str], str]:
    """From the answered message's headers: (address to answer, subject, references, its id)."""
    msg = BytesParser(policy=policy.default).parsebytes(headers, headersonly=True)
    reply_to = getaddresses([_header(msg, "Reply-To")]) or []
    sender = getaddresses([_header(msg, "From")]) or []
    address = next((a for _n, a in reply_to + sender if "@" in a), "")
    own = message_ids(_header(msg, "Message-ID"))
    references = message_ids(_header(msg, "References")) or message_ids(_header(msg, "In-Reply-To"))
    return address, tidy(_header(msg, "Subject")), references, own[0] if own else ""


def format_address(address: str, name: str = "") -> str:
    """An address header value; refuses (ValueError) what is not one address."""
    user, _, domain = address.rpartition("@")
    return str(Address(display_name=name, username=user, domain=domain))
