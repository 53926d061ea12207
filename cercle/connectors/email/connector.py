"""The e-mail connector: one mailbox, read over IMAP (polling) and answered over SMTP.

Every mail is a private `message`; `In-Reply-To`/`References` thread it under
the id of the mail that opened the conversation (`thread_ref`). Polling, not
IDLE: a poll every interval (the poller's `poll_interval`, 60 s by default)
opens one connection, asks for UIDs above the last one seen and closes; IDLE
would need a connection held open per mailbox, which the task workers do not
keep. See README.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cercle.connectors.base import (
    Capability,
    Connector,
    Delivery,
    Incoming,
    OutboundAction,
    Page,
    RawEventData,
    Rejected,
    SetupField,
)

from . import outbound
from .client import DEFAULT_TIMEOUT, TLS_MODES, Endpoint, MailSettings, MailTransport
from .inbound import envelope, parse_envelope, parse_message, reply_to_address

PAGE_SIZE = 20
DEFAULT_BACKFILL_DAYS = 14


@dataclass
class Cursor:
    """Where the last poll stopped: the mailbox's UIDVALIDITY and the highest UID read."""

    uidvalidity: int = 0
    last_uid: int = 0

    @classmethod
    def load(cls, text: str | None) -> Cursor | None:
        try:
            data = json.loads(text) if text else None
        except json.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        try:
            return cls(int(data.get("uidvalidity", 0)), int(data.get("last_uid", 0)))
        except (TypeError, ValueError):
            return None

    def dump(self) -> str:
        return json.dumps({"uidvalidity": self.uidvalidity, "last_uid": self.last_uid})


def _port(value: object, default: int) -> int:
    try:
        port = int(str(value))
    except (TypeError, ValueError):
        return default
    return port if 0 < port < 65536 else default


def _tls(value: object, port: int, implicit_port: int) -> str:
    mode = str(value or "").strip().lower()
    if mode in TLS_MODES:
        return mode
    return "ssl" if port == implicit_port else "starttls"


class EmailConnector(Connector):
    platform = "email"
    label = "E-mail"
    capabilities = frozenset({Capability.POLL, Capability.SEND_PRIVATE})
    max_reply_length = 50_000
    setup_fields = (
        SetupField("from_address", gettext_lazy("Address the answers come from")),
        SetupField("imap_host", gettext_lazy("IMAP server")),
        SetupField(
            "imap_port",
            gettext_lazy("IMAP port"),
            required=False,
            help_text=gettext_lazy("993 with TLS (the default), 143 with STARTTLS."),
        ),
        SetupField(
            "imap_tls",
            gettext_lazy("IMAP security"),
            required=False,
            help_text=gettext_lazy('"ssl", "starttls" or "none"; chosen from the port if blank.'),
        ),
        SetupField("imap_user", gettext_lazy("IMAP user name")),
        SetupField("imap_password", gettext_lazy("IMAP password"), secret=True),
        SetupField(
            "mailbox",
            gettext_lazy("Mailbox (folder)"),
            required=False,
            help_text=gettext_lazy("INBOX if blank."),
        ),
        SetupField("smtp_host", gettext_lazy("SMTP server")),
        SetupField(
            "smtp_port",
            gettext_lazy("SMTP port"),
            required=False,
            help_text=gettext_lazy("465 with TLS, 587 with STARTTLS (the default)."),
        ),
        SetupField(
            "smtp_tls",
            gettext_lazy("SMTP security"),
            required=False,
            help_text=gettext_lazy('"ssl", "starttls" or "none"; chosen from the port if blank.'),
        ),
        SetupField(
            "smtp_user",
            gettext_lazy("SMTP user name"),
            required=False,
            help_text=gettext_lazy("The IMAP user name if blank."),
        ),
        SetupField(
            "smtp_password",
            gettext_lazy("SMTP password"),
            secret=True,
            required=False,
            help_text=gettext_lazy("The IMAP password if blank."),
        ),
    )

    # -- settings --------------------------------------------------------------------------

    def mail_settings(self) -> MailSettings:
        config, secrets = self.channel.config, self.channel.credentials
        imap_port = _port(config.get("imap_port"), 993)
        smtp_port = _port(config.get("smtp_port"), 587)
        imap_user = str(config.get("imap_user") or "")
        imap_password = str(secrets.get("imap_password") or "")
        try:
            timeout = float(config.get("timeout") or DEFAULT_TIMEOUT)
        except (TypeError, ValueError):
            timeout = DEFAULT_TIMEOUT
        return MailSettings(
            imap=Endpoint(
                host=str(config.get("imap_host") or "").strip(),
                port=imap_port,
                tls=_tls(config.get("imap_tls"), imap_port, 993),
                user=imap_user,
                password=imap_password,
            ),
            smtp=Endpoint(
                host=str(config.get("smtp_host") or "").strip(),
                port=smtp_port,
                tls=_tls(config.get("smtp_tls"), smtp_port, 465),
                user=str(config.get("smtp_user") or imap_user),
                password=str(secrets.get("smtp_password") or imap_password),
            ),
            mailbox=str(config.get("mailbox") or "INBOX"),
            from_address=str(config.get("from_address") or "").strip(),
            sent_mailbox=str(config.get("sent_mailbox") or ""),
            timeout=timeout,
        )

    def transport(self) -> MailTransport:
        return MailTransport(self.mail_settings())

    # -- inbound ---------------------------------------------------------------------------

    def parse(self, raw: RawEventData) -> list[Incoming]:
        return parse_envelope(raw.body, brand_address=self.mail_settings().from_address)

    def poll(self, cursor: str | None) -> Page:
        """One page of new mail (UIDs above the cursor); all of it again when UIDVALIDITY changed."""
        settings = self.mail_settings()
        state = Cursor.load(cursor)
        with self.transport().imap() as session:
            uidvalidity, _exists = session.select(settings.mailbox)
            since = ""
            if state is None:
                # A new channel imports recent mail only, not the mailbox's whole history.
                days = int(self.channel.config.get("backfill_days") or DEFAULT_BACKFILL_DAYS)
                since = (timezone.now() - timedelta(days=days)).strftime("%d-%b-%Y")
                state = Cursor(uidvalidity, 0)
            elif state.uidvalidity != uidvalidity:
                # RFC 3501 §2.3.1.1: the old UIDs mean nothing now. Read everything again;
                # mail already known is recognised by its Message-ID.
                state = Cursor(uidvalidity, 0)
            uids = session.uids_after(state.last_uid, since)
            batch = uids[:PAGE_SIZE]
            messages = session.fetch(batch)
        items = [
            parse_message(
                raw,
                mailbox=settings.mailbox,
                uidvalidity=uidvalidity,
                uid=uid,
                brand_address=settings.from_address,
            )
            for uid, raw in sorted(messages.items())
        ]
        if batch:
            state.last_uid = max(batch)
        raw_page = envelope(settings.mailbox, uidvalidity, messages) if messages else b""
        return Page(items=items, cursor=state.dump(), raw=raw_page, has_more=len(uids) > len(batch))

    # -- outbound --------------------------------------------------------------------------

    def _answered(self, action: OutboundAction) -> outbound.Answered:
        """The answered mail's headers, read back from the mailbox (subject, references)."""
        settings = self.mail_settings()
        target = action.target_external_id or action.thread_ref
        if target:
            with self.transport().imap() as session:
                session.select(settings.mailbox)
                uids = session.search_message_id(target)
                headers = session.fetch_headers(uids[-1]) if uids else b""
            if headers:
                address, subject, references, own = reply_to_address(headers)
                return outbound.Answered(
                    address or action.author_external_id, subject, references, own or target
                )
        # Not in the mailbox any more: thread on what the action carries.
        references = (
            [action.thread_ref] if action.thread_ref and action.thread_ref != target else []
        )
        return outbound.Answered(action.author_external_id, "", references, target)

    def perform(self, action: OutboundAction) -> Delivery:
        settings = self.mail_settings()
        if not settings.from_address:
            raise Rejected("the mailbox has no sender address")
        outbound.refuse_injection(
            action.target_external_id, action.thread_ref, action.author_external_id
        )
        message = outbound.build_reply(
            action,
            self._answered(action),
            from_address=settings.from_address,
            from_name=" ".join(self.channel.name.split()),
        )
        recipient = str(message["To"].addresses[0].addr_spec)
        self.transport().send(message, [recipient])
        return outbound.delivered(message)

    def reconcile(self, action: OutboundAction) -> Delivery | None:
        """After an ambiguous send: found in the Sent folder (when one is configured) → sent."""
        settings = self.mail_settings()
        if not settings.sent_mailbox:
            return None  # unknowable: sent again, with the same Message-ID
        message_id = outbound.message_id_for(action, settings.from_address)
        with self.transport().imap() as session:
            session.select(settings.sent_mailbox)
            found = session.search_message_id(message_id)
        return Delivery(platform_id=message_id) if found else None

    # -- connection ------------------------------------------------------------------------

    def test_connection(self) -> str:
        """Log in to both servers; say how many messages the mailbox holds."""
        settings = self.mail_settings()
        transport = self.transport()
        with transport.imap() as session:
            _validity, exists = session.select(settings.mailbox)
        with transport.smtp():
            pass
        return _("%(mailbox)s holds %(count)d messages; sending as %(address)s.") % {
            "mailbox": settings.mailbox,
            "count": exists,
            "address": settings.from_address,
        }

    def setup_instructions(self) -> dict[str, str]:
        return {
            "poll": _(
                "Cercle checks the mailbox for new mail every minute and leaves it unread; "
                "answers are sent through your SMTP server."
            )
        }
