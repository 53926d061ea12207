"""Connecting a mailbox through the "Add channel" form: secrets encrypted, labels in French."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from cercle.connectors.models import Channel
from cercle.workspaces.models import Member, Workspace


def _client(member: Member) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


def test_the_form_keeps_passwords_in_encrypted_credentials(
    owner: Member, workspace: Workspace
) -> None:
    _client(owner).post(
        reverse("pipeline:add_manual", args=["email"]),
        {
            "name": "Support Lumen",
            "external_id": "support@lumen.example",
            "setup_from_address": "support@lumen.example",
            "setup_imap_host": "imap.lumen.example",
            "setup_imap_user": "support@lumen.example",
            "setup_imap_password": "imap-secret",
            "setup_smtp_host": "smtp.lumen.example",
            "setup_smtp_password": "smtp-secret",
        },
    )
    channel = Channel.objects.get(workspace=workspace, name="Support Lumen")
    assert (channel.credentials, "imap-secret" in str(channel.config)) == (
        {"imap_password": "imap-secret", "smtp_password": "smtp-secret"},
        False,
    )


def test_the_setup_forms_speak_french(owner: Member, settings: Any) -> None:
    client = _client(owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    email = client.get(reverse("pipeline:add_manual", args=["email"])).content.decode()
    rss = client.get(reverse("pipeline:add_manual", args=["rss"])).content.decode()
    assert "Mot de passe IMAP" in email and "Adresse du flux (RSS ou Atom)" in rss
