"""A channel paused by a rate limit looks paused, and a queued reply says why it waits and until when."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.template.defaultfilters import time as time_filter
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cercle.connectors.base import RawEventData
from cercle.connectors.http import transport
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive, do_reply
from cercle.inbox.models import Conversation
from cercle.pipeline.sender import send_due
from tests.conftest import sim_body, sim_event


@pytest.fixture
def owner_client(owner: Any) -> Client:
    client = Client()
    client.force_login(owner.user)
    return client


@pytest.fixture
def conversation(sim_channel: Channel) -> Conversation:
    items = connector_for(sim_channel).parse(RawEventData(body=sim_body(sim_event("c1"))))
    do_receive(sim_channel, items)
    return Conversation.objects.get(channel=sim_channel)


@pytest.fixture
def rate_limited(conversation: Conversation, owner: Any, sim_channel: Channel) -> Channel:
    """A reply met the platform's rate limit: the channel is paused for two minutes."""
    do_reply(owner, conversation, "Bonjour Camille")

    def limited(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "120"}, json={"error": "slow down"})

    with transport(httpx.MockTransport(limited)):
        send_due()
    sim_channel.refresh_from_db()
    assert sim_channel.paused_until is not None and sim_channel.paused_until > timezone.now()
    return sim_channel


def _sidebar_entry(html: str, channel: Channel) -> str:
    match = re.search(
        rf'<li><a href="[^"]*channel={channel.pk}[^"]*".*?</li>', html, flags=re.DOTALL
    )
    assert match, "the channel is listed in the sidebar"
    return match.group(0)


def test_a_rate_limited_channel_shows_as_paused_in_the_sidebar_not_ok(owner_client, rate_limited):
    entry = _sidebar_entry(owner_client.get(reverse("inbox:index")).content.decode(), rate_limited)
    assert ("dot-amber" in entry, "Paused until" in entry, "dot-green" in entry) == (
        True,
        True,
        False,
    )


def test_a_channel_whose_pause_is_over_shows_its_health_again(owner_client, rate_limited):
    Channel.objects.filter(pk=rate_limited.pk).update(
        paused_until=timezone.now() - timedelta(seconds=1)
    )
    entry = _sidebar_entry(owner_client.get(reverse("inbox:index")).content.decode(), rate_limited)
    assert ("dot-green" in entry, "Paused" in entry) == (True, False)


def test_a_rate_limited_channel_shows_as_paused_on_the_channel_page(owner_client, rate_limited):
    html = owner_client.get(reverse("pipeline:list")).content.decode()
    head = html[html.index(f'id="channel-{rate_limited.pk}"') :].split("</header>")[0]
    assert ("dot-amber" in head, "Paused until" in head, ">OK<" in head) == (True, True, False)


def test_a_queued_reply_says_it_waits_for_the_rate_limit_and_when_it_goes(
    owner_client, rate_limited, conversation
):
    html = owner_client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    with timezone.override(conversation.workspace.timezone):
        when = time_filter(timezone.localtime(rate_limited.paused_until), "TIME_FORMAT")
    assert f"Waiting: Review site rate limit, sends at {when}" in html
