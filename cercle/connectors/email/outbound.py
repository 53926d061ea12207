"""Answers by SMTP: an RFC 5322 reply with correct threading headers.

- `In-Reply-To`: the answered message's id; `References`: its References (or
  In-Reply-To) followed by its id (RFC 5322 §3.6.4); `Subject`: "Re: " once.
- `Message-ID`: made from the action's idempotency key, so every attempt of one
  answer carries the same id (receivers and `reconcile` recognise it); it is
  the platform id returned.
- Header injection: a CR or LF (or NUL) in any value that goes into a header
  (subject, addresses, ids) refuses the action for good (`Rejected`); the
  headers are then written by the stdlib's `EmailMessage`, which folds and
  encodes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from django.utils import timezone

from cercle.connectors.base import ActionKind, Delivery, OutboundAction, Rejected

from .inbound import format_address

_ADDRESS = re.compile(r"^[^@\s<>\"(),;:\\\[\]]{1,64}@[A-Za-z0-9.-]{1,253}$")
_RE = re.compile(r"^\s*(re|r|aw|sv|antw)\s*:", re.IGNORECASE)
ANSWERS = frozenset({ActionKind.SEND_PRIVATE, ActionKind.PRIVATE_REPLY, ActionKind.REPLY})
MAX_REFERENCES = 20


@dataclass(frozen=True, slots=True)
class Answered:
    """What we know of the message answered (from the mailbox, or from the action alone)."""

    address: str
    subject: str
    references: list[str]
    message_id: str


def refuse_injection(*values: str) -> None:
    for value in values:
        if any(c in value for c in "\r\n\x00"):
            raise Rejected("line break in a mail header value: refused")


def check_address(address: str) -> str:
    refuse_injection(address)
    _name, parsed = parseaddr(address)
    if not parsed or parsed != address.strip() or not _ADDRESS.match(parsed):
        raise Rejected(f"not one e-mail address: {address[:100]!r}")
    return parsed


def reply_subject(subject: str) -> str:
    subject = subject.strip()
    if not subject:
        return "Re:"
    return subject if _RE.match(subject) else f"Re: {subject}"


def message_id_for(action: OutboundAction, from_address: str) -> str:
    """The id of the mail this action sends: the same for every attempt."""
    domain = from_address.rpartition("@")[2] or "cercle.invalid"
    key = re.sub(r"[^A-Za-z0-9._-]", "", action.idempotency_key)[:80] or "x"
    return f"cercle.{key}@{domain}"


def build_reply(
    action: OutboundAction, answered: Answered, *, from_address: str, from_name: str = ""
) -> EmailMessage:
    """The reply to send; Rejected when any header value is unsafe or incomplete."""
    if action.kind not in ANSWERS:
        raise Rejected(f"e-mail cannot {action.kind}")
    refuse_injection(answered.subject, answered.message_id, from_name, *answered.references)
    to = check_address(answered.address)
    sender = check_address(from_address)
    text = action.text.replace("\x00", "")
    if not text.strip():
        raise Rejected("empty answer")
    message = EmailMessage()
    try:
        message["From"] = format_address(sender, from_name)
        message["To"] = format_address(to)
    except (ValueError, IndexError) as exc:
        raise Rejected(f"address refused: {exc}") from exc
    message["Subject"] = reply_subject(answered.subject)
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = f"<{message_id_for(action, sender)}>"
    if answered.message_id:
        message["In-Reply-To"] = f"<{answered.message_id}>"
        chain = [r for r in answered.references if r != answered.message_id]
        chain = (chain[:1] + chain[1:][-(MAX_REFERENCES - 2) :]) if chain else []
        message["References"] = " ".join(f"<{r}>" for r in [*chain, answered.message_id])
    message.set_content(text)
    return message


def delivered(message: EmailMessage) -> Delivery:
    return Delivery(platform_id=str(message["Message-ID"]).strip("<>"))
