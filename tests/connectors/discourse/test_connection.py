"""Connecting a forum: the per-instance values typed in the "Add channel" form."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cercle.connectors.models import Channel
from cercle.workspaces.models import Member

from .conftest import SITE

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(owner: Member) -> Client:
    client = Client()
    client.force_login(owner.user)
    return client


def test_the_form_asks_for_the_forum_and_its_secrets_in_french(owner_client: Client) -> None:
    response = owner_client.get(
        reverse("pipeline:add_manual", args=["discourse"]), HTTP_ACCEPT_LANGUAGE="fr"
    )
    content = response.content.decode()
    assert (
        "Adresse du forum" in content,
        "Clé d’API" in content,
        'type="password"' in content,
    ) == (True, True, True)


def test_the_forum_url_and_user_go_to_config_and_the_key_and_secret_are_encrypted(
    owner_client: Client,
) -> None:
    response = owner_client.post(
        reverse("pipeline:add_manual", args=["discourse"]),
        {
            "name": "Forum Lumen",
            "external_id": SITE,
            "setup_api_base": SITE,
            "setup_api_username": "lumen_team",
            "setup_api_key": "k-123",
            "setup_webhook_secret": "s-456",
        },
    )
    channel = Channel.objects.get(platform="discourse")
    assert (
        response.status_code,
        channel.config,
        channel.credentials,
        "k-123" in channel.credentials_token,
    ) == (
        302,
        {"api_base": SITE, "api_username": "lumen_team"},
        {"api_key": "k-123", "webhook_secret": "s-456"},
        False,
    )
