"""The webhook view keeps one connector per channel and process: its HTTP client is built once.

A changed secret (or any setting of the channel's row) is picked up by the next delivery,
and the connector handed out is bound to the row just read, never a stale one.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from cercle.connectors.base import OAuthTokens
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.connectors.simulator.connector import SIGNATURE_HEADER, sign
from cercle.pipeline import hooks
from cercle.pipeline.actions import do_store_credentials
from cercle.pipeline.models import RawEvent
from tests.conftest import sim_body, sim_event


def _post(channel: Any, secret: str, event_id: str) -> int:
    body = sim_body(sim_event(event_id))
    response = Client().post(
        f"/hooks/{channel.uuid}",
        body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: sign(body, secret)},
    )
    return response.status_code


@pytest.fixture
def clients_built(monkeypatch) -> list[int]:
    built: list[int] = []
    original = PlatformHttp.__init__

    def counting(self: PlatformHttp, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(PlatformHttp, "__init__", counting)
    return built


def test_one_connector_per_channel_and_one_http_client(sim_channel, clients_built):
    assert _post(sim_channel, "s3cret", "a1") == 200
    first = hooks.webhook_connector(sim_channel)
    assert _post(sim_channel, "s3cret", "a2") == 200
    again = hooks.webhook_connector(sim_channel)
    assert again.http is first.http
    assert clients_built == [1]
    assert RawEvent.objects.filter(channel=sim_channel).count() == 2


def test_the_connector_is_bound_to_the_row_just_read(sim_channel):
    hooks.webhook_connector(sim_channel)
    fresh = Channel.objects.get(pk=sim_channel.pk)
    fresh.name = "Renamed"
    connector = hooks.webhook_connector(fresh)
    assert (connector.channel is fresh, connector.channel.name) == (True, "Renamed")


def test_a_setting_changed_in_place_builds_a_new_connector(sim_channel):
    first = hooks.webhook_connector(sim_channel)
    sim_channel.config["poll_interval"] = 7  # the same dict, changed in place
    second = hooks.webhook_connector(sim_channel)
    assert second.http is not first.http


def test_a_changed_secret_is_picked_up_by_the_next_delivery(sim_channel):
    assert _post(sim_channel, "s3cret", "b1") == 200
    do_store_credentials(
        sim_channel, OAuthTokens(credentials={"webhook_secret": "n3w", "access_token": "tok"})
    )
    assert _post(sim_channel, "s3cret", "b2") == 403
    assert _post(sim_channel, "n3w", "b3") == 200
    assert RawEvent.objects.filter(channel=sim_channel).count() == 2


def test_the_webhook_connector_cannot_call_out(sim_channel):
    connector = hooks.webhook_connector(sim_channel)
    with pytest.raises(RuntimeError):
        connector.http.get("http://example.com/")
