"""Connecting a website: the form, and what the channel page tells the team to paste."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.connectors.website.connector import WebsiteConnector
from cercle.workspaces.models import Member

from .conftest import SHOP, SITE

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(owner: Member) -> Client:
    client = Client()
    client.force_login(owner.user)
    return client


def test_the_site_and_its_secret_are_kept_apart(owner_client: Client) -> None:
    owner_client.post(
        reverse("pipeline:add_manual", args=["website"]),
        {
            "name": "Site Lumen",
            "setup_site_url": SITE,
            "setup_webhook_secret": "whsec",
            "setup_allowed_origins": SHOP,
        },
    )
    channel = Channel.objects.get(platform="website")
    assert (channel.config, channel.credentials) == (
        {"site_url": SITE, "allowed_origins": SHOP},
        {"webhook_secret": "whsec"},
    )


def test_allowed_origins_are_origins_whatever_paths_were_typed(web_channel: Channel) -> None:
    web_channel.config = {
        "site_url": f"{SITE}/fr/accueil",
        "allowed_origins": "https://Shop.Example:443/x http://localhost:8000/ ftp://nope not-a-url",
    }
    origins = WebsiteConnector(web_channel, PlatformHttp()).allowed_origins()
    assert origins == {SITE, "https://shop.example", "http://localhost:8000"}


def test_setup_instructions_give_the_script_tag(web_channel: Channel) -> None:
    instructions = WebsiteConnector(web_channel, PlatformHttp()).setup_instructions()
    assert instructions["widget"] == (
        f'<script src="/w/{web_channel.uuid}/widget.js" async></script>'
    )


def test_the_platform_is_named_in_french(owner_client: Client) -> None:
    response = owner_client.get(reverse("pipeline:add"), HTTP_ACCEPT_LANGUAGE="fr")
    assert "Site web" in response.content.decode()
