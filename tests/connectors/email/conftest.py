"""E-mail test helpers: a real IMAP server (pymap) and SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cercle.connectors.models import Channel
from cercle.pipeline.actions import do_create_channel
from cercle.simulator import mailserver
from cercle.workspaces.models import Workspace

FIXTURES = Path(__file__).resolve().parents[3] / "cercle" / "connectors" / "email" / "fixtures"
BRAND = "support@lumen.test"


def eml(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture(scope="session")
def servers() -> Iterator[mailserver.LoopbackMail]:
    """One IMAP and one SMTP server per test process (each test gets its own mailbox)."""
    if not mailserver.available():
        pytest.skip(mailserver.MISSING_MESSAGE)
    mail = mailserver.LoopbackMail(user=BRAND).start()
    yield mail
    mail.stop()


@pytest.fixture
def mail(servers: mailserver.LoopbackMail, settings: Any) -> mailserver.LoopbackMail:
    # The servers listen on loopback: allowed through the egress guard for this test only.
    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["127.0.0.1"]
    servers.received.clear()
    return servers


@pytest.fixture
def mailbox(mail: mailserver.LoopbackMail) -> str:
    name = f"T{uuid.uuid4().hex[:12]}"
    mail.create(name)
    return name


def mail_config(mail: mailserver.LoopbackMail, mailbox: str, **overrides: str) -> dict[str, str]:
    config = {
        "from_address": BRAND,
        "imap_host": "127.0.0.1",
        "imap_port": str(mail.imap_port),
        "imap_tls": "none",
        "imap_user": BRAND,
        "mailbox": mailbox,
        "smtp_host": "127.0.0.1",
        "smtp_port": str(mail.smtp_port),
        "smtp_tls": "none",
        "timeout": "5",
    }
    config.update(overrides)
    return config


def make_channel(
    workspace: Workspace,
    mail: mailserver.LoopbackMail,
    mailbox: str,
    password: str | None = None,
    **overrides: str,
) -> Channel:
    return do_create_channel(
        workspace,
        "email",
        "Lumen support",
        external_id=f"{BRAND}/{mailbox}",
        config=mail_config(mail, mailbox, **overrides),
        credentials={"imap_password": mail.password if password is None else password},
    )


@pytest.fixture
def channel(workspace: Workspace, mail: mailserver.LoopbackMail, mailbox: str) -> Channel:
    return make_channel(workspace, mail, mailbox)
