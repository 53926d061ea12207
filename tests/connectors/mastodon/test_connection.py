"""Connecting a Mastodon account: the per-instance values typed in the "Add channel" form."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cercle.connectors.http import PlatformHttp
from cercle.connectors.mastodon.client import NOTIFICATIONS, VERIFY_CREDENTIALS
from cercle.connectors.mastodon.connector import MastodonConnector
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_class
from cercle.workspaces.models import Member, Workspace

from .conftest import FakeInstance, answer, mastodon_channel

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(owner: Member) -> Client:
    client = Client()
    client.force_login(owner.user)
    return client


def test_mastodon_is_registered() -> None:
    assert connector_class("mastodon") is MastodonConnector


def test_the_instance_url_goes_to_config_and_the_token_is_encrypted(
    owner_client: Client,
) -> None:
    response = owner_client.post(
        reverse("pipeline:add_manual", args=["mastodon"]),
        {
            "name": "@lumen@mastodon.social",
            "external_id": "https://mastodon.social/@lumen",
            "setup_api_base": "https://mastodon.social",
            "setup_access_token": "tok-123",
        },
    )
    channel = Channel.objects.get(platform="mastodon")
    assert (
        response.status_code,
        channel.config,
        channel.credentials,
        "tok-123" in channel.credentials_token,
    ) == (302, {"api_base": "https://mastodon.social"}, {"access_token": "tok-123"}, False)


def test_the_form_speaks_french(owner_client: Client) -> None:
    response = owner_client.get(
        reverse("pipeline:add_manual", args=["mastodon"]), HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert "Adresse de l’instance" in response.content.decode()


def test_connection_check_names_the_account(channel: Channel, instance: FakeInstance) -> None:
    instance.on("GET", VERIFY_CREDENTIALS, answer("verify_credentials.json"))
    summary = MastodonConnector(channel, PlatformHttp()).test_connection()
    assert summary == "Connected to http://localhost:3000 as @mastodonpy_test."


def test_without_an_account_id_the_poll_asks_the_instance_who_we_are(
    workspace: Workspace, instance: FakeInstance
) -> None:
    channel = mastodon_channel(workspace, account_id="")
    instance.on("GET", VERIFY_CREDENTIALS, answer("verify_credentials.json"))
    instance.on("GET", NOTIFICATIONS, answer("notifications_mention.json"))
    page = MastodonConnector(channel, PlatformHttp()).poll(None)
    assert (page.cursor, len(instance.calls("GET", VERIFY_CREDENTIALS))) == (
        '{"me": "117440810532227399", "min_id": "20"}',
        1,
    )
