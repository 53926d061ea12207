"""Channel pages: list, add (manual), test connection, reconnect, disconnect, permissions, isolation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cercle.connectors.base import RawEventData
from cercle.connectors.choices import Health
from cercle.connectors.http import transport
from cercle.connectors.models import Channel, QuotaWindow
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive, do_reply
from cercle.inbox.choices import Delivery, OutboxState
from cercle.inbox.models import Conversation, Message, Outbox
from cercle.pipeline.actions import (
    do_create_channel,
    do_record_delivery_failure,
    do_set_channel_health,
)
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from tests.conftest import sim_body, sim_event


def _client(member: Any) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


@pytest.fixture
def owner_client(owner: Any) -> Client:
    return _client(owner)


@pytest.fixture
def other_channel(db: Any) -> Channel:
    other = do_create_workspace("Autre Maison", timezone="Europe/Paris")
    return do_create_channel(
        other, "simulator", "Other forum", config={"api_base": "http://simulator.test/api"}
    )


def _outbox_row(channel: Channel, owner: Any, text: str = "Merci !") -> Outbox:
    items = connector_for(channel).parse(RawEventData(body=sim_body(sim_event(f"c-{text}"))))
    do_receive(channel, items)
    conversation = Conversation.objects.filter(channel=channel).first()
    message = do_reply(owner, conversation, text)
    return Outbox.objects.get(message=message)


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- list -------------------------------------------------------------------------


def test_list_shows_webhook_url_and_verify_token_to_managers(owner_client, sim_channel):
    response = owner_client.get(reverse("pipeline:list"))
    expected_url = "http://testserver" + reverse(
        "pipeline:webhook", kwargs={"channel_uuid": sim_channel.uuid}
    )
    assert expected_url in response.content.decode()
    assert sim_channel.verify_token in response.content.decode()


def test_list_hides_verify_token_from_agents(agent, sim_channel):
    response = _client(agent).get(reverse("pipeline:list"))
    assert response.status_code == 200
    assert sim_channel.name in response.content.decode()
    assert sim_channel.verify_token not in response.content.decode()


def test_list_shows_health_detail_escaped(owner_client, sim_channel):
    do_set_channel_health(sim_channel, Health.DEGRADED, '<img src=x onerror="alert(1)">')
    body = owner_client.get(reverse("pipeline:list")).content.decode()
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body
    assert "<img src=x" not in body


def test_list_shows_health_dot_colour(owner_client, sim_channel):
    do_set_channel_health(sim_channel, Health.NEEDS_REAUTH, "token revoked")
    body = owner_client.get(reverse("pipeline:list")).content.decode()
    assert "dot dot-red" in body


def test_list_shows_outbox_backlog(owner_client, sim_channel, owner):
    _outbox_row(sim_channel, owner, "one")
    waiting = _outbox_row(sim_channel, owner, "two")
    do_record_delivery_failure(waiting, "token revoked", final=False, waiting=True)
    response = owner_client.get(reverse("pipeline:list"))
    row = response.context["rows"][0]
    assert (row.backlog.queued, row.backlog.waiting, row.backlog.failed) == (1, 1, 0)


def test_list_shows_the_most_used_quota_window(owner_client, sim_channel):
    later = timezone.now() + timedelta(hours=5)
    for name, used in (("units", 2500), ("writes", 10)):
        QuotaWindow.objects.create(
            channel=sim_channel,
            name=name,
            limit=10_000,
            used=used,
            started_at=timezone.now(),
            resets_at=later,
        )
    row = owner_client.get(reverse("pipeline:list")).context["rows"][0]
    assert (row.quota["name"], row.quota["used"], row.quota["percent"]) == ("units", 2500, 25)


def test_the_channel_page_counts_deliveries_for_unknown_accounts(owner_client, sim_channel):
    Channel.objects.filter(pk=sim_channel.pk).update(
        unknown_account_deliveries=3, unknown_account_last="999"
    )
    response = owner_client.get(reverse("pipeline:list"))
    assert "3 ignored, last for account 999" in response.content.decode()


def test_list_excludes_other_workspaces_channels(owner_client, sim_channel, other_channel):
    body = owner_client.get(reverse("pipeline:list")).content.decode()
    assert other_channel.name not in body


def test_empty_list_teaches_how_to_add(owner_client):
    body = owner_client.get(reverse("pipeline:list")).content.decode()
    assert reverse("pipeline:add") in body


# --- test connection ------------------------------------------------------------------


def _platform(status: int, body: dict[str, Any]) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


def test_test_connection_success_shows_the_account(owner_client, sim_channel):
    with transport(_platform(200, {"name": "Lumen community"})):
        response = owner_client.post(reverse("pipeline:test", args=[sim_channel.pk]), follow=True)
    assert any("Lumen community" in m for m in _messages(response))


def test_test_connection_failure_shows_the_detail(owner_client, sim_channel):
    with transport(_platform(403, {"error": "missing scope pages_manage_metadata"})):
        response = owner_client.post(reverse("pipeline:test", args=[sim_channel.pk]), follow=True)
    assert any("missing scope pages_manage_metadata" in m for m in _messages(response))


def test_test_connection_with_revoked_token_marks_needs_reauth(owner_client, sim_channel):
    with transport(_platform(401, {})):
        owner_client.post(reverse("pipeline:test", args=[sim_channel.pk]))
    sim_channel.refresh_from_db()
    assert sim_channel.health == Health.NEEDS_REAUTH


def test_test_connection_of_another_workspace_is_404(owner_client, other_channel):
    with transport(_platform(200, {"name": "x"})):
        response = owner_client.post(reverse("pipeline:test", args=[other_channel.pk]))
    assert response.status_code == 404


# --- disconnect -------------------------------------------------------------------------


def test_disconnect_deactivates_forgets_credentials_and_fails_backlog(
    owner_client, sim_channel, owner
):
    row = _outbox_row(sim_channel, owner)
    owner_client.post(reverse("pipeline:disconnect", args=[sim_channel.pk]))
    sim_channel.refresh_from_db()
    row.refresh_from_db()
    message = Message.objects.get(pk=row.message_id)
    assert (sim_channel.is_active, sim_channel.credentials, row.state, message.delivery) == (
        False,
        {},
        OutboxState.FAILED,
        Delivery.FAILED,
    )


def test_disconnected_channel_leaves_the_list(owner_client, sim_channel):
    owner_client.post(reverse("pipeline:disconnect", args=[sim_channel.pk]))
    assert owner_client.get(reverse("pipeline:list")).context["rows"] == []


def test_disconnect_of_another_workspace_is_404_and_changes_nothing(owner_client, other_channel):
    response = owner_client.post(reverse("pipeline:disconnect", args=[other_channel.pk]))
    other_channel.refresh_from_db()
    assert (response.status_code, other_channel.is_active) == (404, True)


def test_disconnect_needs_post(owner_client, sim_channel):
    response = owner_client.get(reverse("pipeline:disconnect", args=[sim_channel.pk]))
    sim_channel.refresh_from_db()
    assert (response.status_code, sim_channel.is_active) == (405, True)


# --- permissions ----------------------------------------------------------------------------


def test_agent_cannot_open_the_add_page(agent):
    assert _client(agent).get(reverse("pipeline:add")).status_code == 403


def test_agent_cannot_add_a_channel(agent):
    response = _client(agent).post(
        reverse("pipeline:add_manual", args=["simulator"]),
        {"name": "Sneaky", "setup_api_base": "https://sim.example/api"},
    )
    assert (response.status_code, Channel.objects.filter(name="Sneaky").exists()) == (403, False)


def test_agent_cannot_disconnect(agent, sim_channel):
    response = _client(agent).post(reverse("pipeline:disconnect", args=[sim_channel.pk]))
    sim_channel.refresh_from_db()
    assert (response.status_code, sim_channel.is_active) == (403, True)


def test_viewer_cannot_test_connection(workspace, sim_channel):
    viewer = do_add_member(workspace, do_create_user("vic", "correct horse battery"), Role.VIEWER)
    assert _client(viewer).post(reverse("pipeline:test", args=[sim_channel.pk])).status_code == 403


def test_anonymous_is_sent_to_login(client, sim_channel):
    response = client.get(reverse("pipeline:list"))
    assert (response.status_code, reverse("workspaces:login") in response["Location"]) == (
        302,
        True,
    )


# --- adding without OAuth ---------------------------------------------------------------------


def test_add_page_lists_platforms_with_what_they_can_do(owner_client):
    response = owner_client.get(reverse("pipeline:add"))
    simulator = next(p for p in response.context["platforms"] if p.platform == "simulator")
    assert "reply publicly" in simulator.abilities


def test_add_page_post_of_manual_platform_leads_to_its_form(owner_client):
    response = owner_client.post(reverse("pipeline:add"), {"platform": "simulator"})
    assert response["Location"] == reverse("pipeline:add_manual", args=["simulator"])


def test_add_unknown_platform_is_404(owner_client):
    assert owner_client.post(reverse("pipeline:add"), {"platform": "myspace"}).status_code == 404


def test_manual_add_creates_channel_with_encrypted_secrets(owner_client, workspace):
    owner_client.post(
        reverse("pipeline:add_manual", args=["simulator"]),
        {
            "name": "Forum Lumen",
            "external_id": "forum-9",
            "setup_api_base": "https://sim.example/api",
            "setup_access_token": "very-secret-token",
            "setup_webhook_secret": "hook-secret",
        },
    )
    channel = Channel.objects.get(workspace=workspace, name="Forum Lumen")
    assert (channel.config, channel.credentials["access_token"]) == (
        {"api_base": "https://sim.example/api"},
        "very-secret-token",
    )
    assert "very-secret-token" not in channel.credentials_token


def test_manual_add_refuses_an_account_already_connected(owner_client, sim_channel):
    response = owner_client.post(
        reverse("pipeline:add_manual", args=["simulator"]),
        {
            "name": "Duplicate",
            "external_id": sim_channel.external_id,
            "setup_api_base": "https://sim.example/api",
            "setup_access_token": "t",
            "setup_webhook_secret": "s",
        },
    )
    assert (response.status_code, Channel.objects.filter(name="Duplicate").exists()) == (200, False)


def test_manual_add_of_a_disconnected_account_brings_it_back(owner_client, sim_channel):
    owner_client.post(reverse("pipeline:disconnect", args=[sim_channel.pk]))
    owner_client.post(
        reverse("pipeline:add_manual", args=["simulator"]),
        {
            "name": "Forum again",
            "external_id": sim_channel.external_id,
            "setup_api_base": "https://sim.example/api",
            "setup_access_token": "new-token",
            "setup_webhook_secret": "new-secret",
        },
    )
    sim_channel.refresh_from_db()
    assert (sim_channel.is_active, sim_channel.credentials["access_token"]) == (True, "new-token")


def test_manual_add_refuses_a_bad_url(owner_client):
    owner_client.post(
        reverse("pipeline:add_manual", args=["simulator"]),
        {
            "name": "Bad",
            "setup_api_base": "javascript:alert(1)",
            "setup_access_token": "t",
            "setup_webhook_secret": "s",
        },
    )
    assert not Channel.objects.filter(name="Bad").exists()


def test_manual_reconnect_stores_new_secret_keeps_others_and_releases_waiting(
    owner_client, sim_channel, owner
):
    row = _outbox_row(sim_channel, owner)
    do_set_channel_health(sim_channel, Health.NEEDS_REAUTH, "revoked")
    do_record_delivery_failure(row, "revoked", final=False, waiting=True)
    owner_client.post(
        reverse("pipeline:reconnect", args=[sim_channel.pk]),
        {"setup_access_token": "fresh-token", "setup_webhook_secret": ""},
    )
    sim_channel.refresh_from_db()
    row.refresh_from_db()
    assert (
        sim_channel.health,
        sim_channel.credentials["access_token"],
        sim_channel.credentials["webhook_secret"],
        row.state,
    ) == (Health.OK, "fresh-token", "s3cret", OutboxState.QUEUED)


def test_manual_reconnect_cannot_move_the_channel_elsewhere(owner_client, sim_channel):
    owner_client.post(
        reverse("pipeline:reconnect", args=[sim_channel.pk]),
        {
            "setup_access_token": "t",
            "setup_api_base": "https://evil.example/api",
            "name": "Renamed",
        },
    )
    sim_channel.refresh_from_db()
    assert (sim_channel.config["api_base"], sim_channel.name) == (
        "http://simulator.test/api",
        "Lumen forum",
    )
