"""Connecting through OAuth (state, exchange, reconnect) and refreshing credentials, with a fake platform."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cercle.connectors import oauth
from cercle.connectors.base import (
    ActionKind,
    Author,
    Capability,
    Connector,
    Delivery,
    Incoming,
    OAuthTokens,
    OutboundAction,
    PostRef,
    RawEventData,
    Rejected,
    TokenRevoked,
    TransientError,
)
from cercle.connectors.choices import Health
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_classes
from cercle.inbox.actions import do_receive, do_reply
from cercle.inbox.choices import OutboxState
from cercle.inbox.models import Conversation, Outbox
from cercle.pipeline.actions import do_create_channel, do_deactivate_channel, do_store_credentials
from cercle.pipeline.refresh import refresh_channel, refresh_due_at, refresh_due_credentials
from cercle.pipeline.sender import send_due
from cercle.workspaces.actions import do_add_member, do_create_workspace
from cercle.workspaces.actors import system
from cercle.workspaces.choices import Role
from tests.conftest import database_vendor

AUTHORIZE = "https://auth.fake.example/authorize"


class FakeOAuthConnector(Connector):
    """A platform connected through OAuth; its "API" is this class's state, no HTTP."""

    platform = "fakeoauth"
    label = "Fake OAuth"
    capabilities = frozenset({Capability.OAUTH, Capability.WEBHOOK, Capability.REPLY})

    # What the fake platform knows: code → (account id, name); the refresh behaviour.
    accounts: dict[str, tuple[str, str]] = {}
    refresh_result: Any = None
    # Rotating refresh tokens (like X): each refresh spends the stored one and returns a new one.
    rotate = False
    spent: list[str] = []
    exchanges: list[dict[str, Any]] = []
    performed: list[OutboundAction] = []

    def parse(self, raw: RawEventData) -> list[Incoming]:
        return []

    def authorize_url(self, state: str, redirect_uri: str) -> str:
        client_id = self.channel.credentials["client_id"]
        return f"{AUTHORIZE}?client_id={client_id}&state={state}&redirect_uri={redirect_uri}"

    def exchange_code(self, code: str, redirect_uri: str) -> OAuthTokens:
        self.exchanges.append(
            {
                "code": code,
                "redirect_uri": redirect_uri,
                "secret": self.channel.credentials.get("client_secret"),
            }
        )
        if code not in self.accounts:
            raise Rejected("invalid_grant: the code is unknown or was used")
        account_id, name = self.accounts[code]
        return OAuthTokens(
            credentials={"access_token": f"token-{code}", "refresh_token": f"refresh-{code}"},
            expires_at=timezone.now() + timedelta(hours=1),
            account_id=account_id,
            account_name=name,
        )

    def refresh_credentials(self, *, force: bool = False) -> OAuthTokens | None:
        if isinstance(self.refresh_result, Exception):
            raise self.refresh_result
        if self.refresh_result is None:
            return None
        credentials = {"access_token": self.refresh_result}
        if self.rotate:
            used = str(self.channel.credentials.get("refresh_token", ""))
            self.spent.append(used)
            # Widen the window in which a second, unlocked refresh would read the same token.
            time.sleep(0.2)
            credentials["refresh_token"] = used + "+"
        return OAuthTokens(credentials=credentials, expires_at=timezone.now() + timedelta(hours=1))

    def perform(self, action: OutboundAction) -> Delivery:
        if self.channel.credentials.get("access_token") == "revoked":
            raise TokenRevoked("token revoked by the platform")
        self.performed.append(action)
        return Delivery(platform_id=f"reply-{len(self.performed)}")


@pytest.fixture(autouse=True)
def fake_platform(settings: Any) -> Iterator[type[FakeOAuthConnector]]:
    settings.CERCLE_CONNECTORS = [
        "cercle.connectors.simulator.connector.SimulatorConnector",
        "tests.pipeline.test_oauth.FakeOAuthConnector",
    ]
    settings.CERCLE_PLATFORM_APPS = {
        "fakeoauth": {"client_id": "app-123", "client_secret": "app-secret", "api_base": ""}
    }
    FakeOAuthConnector.accounts = {
        "good-code": ("acct-1", "Lumen Page"),
        "other-code": ("acct-2", "Other Page"),
    }
    FakeOAuthConnector.refresh_result = None
    FakeOAuthConnector.rotate = False
    FakeOAuthConnector.spent = []
    FakeOAuthConnector.exchanges = []
    FakeOAuthConnector.performed = []
    connector_classes.cache_clear()
    yield FakeOAuthConnector
    connector_classes.cache_clear()


@pytest.fixture
def owner_client(owner: Any) -> Client:
    client = Client()
    client.force_login(owner.user)
    return client


def _start(client: Client, url: str | None = None) -> str:
    """Start a flow; returns the state sent to the platform."""
    response = client.post(url or reverse("pipeline:add"), {"platform": "fakeoauth"})
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


def _callback(client: Client, **params: str) -> Any:
    return client.get(reverse("pipeline:oauth_callback"), params)


# --- starting --------------------------------------------------------------------------


def test_start_redirects_to_the_platform_with_app_and_callback(owner_client):
    response = owner_client.post(reverse("pipeline:add"), {"platform": "fakeoauth"})
    query = parse_qs(urlsplit(response["Location"]).query)
    assert (
        response["Location"].startswith(AUTHORIZE),
        query["client_id"],
        query["redirect_uri"],
    ) == (
        True,
        ["app-123"],
        ["http://testserver" + reverse("pipeline:oauth_callback")],
    )


def test_start_without_app_configured_explains_and_does_not_redirect(owner_client, settings):
    settings.CERCLE_PLATFORM_APPS = {}
    response = owner_client.post(reverse("pipeline:add"), {"platform": "fakeoauth"}, follow=True)
    assert any("CERCLE_FAKEOAUTH_CLIENT_ID" in str(m) for m in response.context["messages"])


def test_each_start_gets_a_fresh_state(owner_client):
    assert _start(owner_client) != _start(owner_client)


# --- the callback: state ----------------------------------------------------------------


def test_valid_state_and_code_create_the_channel(owner_client, workspace):
    state = _start(owner_client)
    response = _callback(owner_client, state=state, code="good-code")
    channel = Channel.objects.get(workspace=workspace, platform="fakeoauth")
    assert (response["Location"], channel.name, channel.external_id) == (
        reverse("pipeline:list") + f"#channel-{channel.pk}",
        "Lumen Page",
        "acct-1",
    )


def test_credentials_are_stored_encrypted_with_app_secret_and_expiry(owner_client, workspace):
    _callback(owner_client, state=_start(owner_client), code="good-code")
    channel = Channel.objects.get(workspace=workspace, platform="fakeoauth")
    raw_column = (
        Channel.objects.filter(pk=channel.pk).values_list("credentials_token", flat=True).get()
    )
    assert "token-good-code" not in raw_column and "app-secret" not in raw_column
    credentials = channel.credentials
    assert (
        credentials["access_token"],
        credentials["client_secret"],
        "expires_at" in credentials,
    ) == (
        "token-good-code",
        "app-secret",
        True,
    )


def test_exchange_gets_the_app_secret_and_the_same_redirect_uri(owner_client):
    _callback(owner_client, state=_start(owner_client), code="good-code")
    exchange = FakeOAuthConnector.exchanges[0]
    assert (exchange["secret"], exchange["redirect_uri"]) == (
        "app-secret",
        "http://testserver" + reverse("pipeline:oauth_callback"),
    )


def test_bad_state_stores_nothing(owner_client):
    _start(owner_client)
    response = _callback(owner_client, state="forged-state", code="good-code")
    assert (response.status_code, Channel.objects.filter(platform="fakeoauth").exists()) == (
        400,
        False,
    )


def test_missing_state_stores_nothing(owner_client):
    _start(owner_client)
    response = _callback(owner_client, code="good-code")
    assert (response.status_code, Channel.objects.filter(platform="fakeoauth").exists()) == (
        400,
        False,
    )


def test_missing_state_never_reaches_the_platform(owner_client):
    _start(owner_client)
    _callback(owner_client, code="good-code")
    assert FakeOAuthConnector.exchanges == []


def test_expired_state_stores_nothing(owner_client, monkeypatch):
    state = _start(owner_client)
    later = time.time() + oauth.STATE_TTL_SECONDS + 1
    monkeypatch.setattr(oauth.time, "time", lambda: later)
    response = _callback(owner_client, state=state, code="good-code")
    assert (response.status_code, Channel.objects.filter(platform="fakeoauth").exists()) == (
        400,
        False,
    )


def test_state_from_another_session_stores_nothing(owner_client, owner):
    state = _start(owner_client)
    thief = Client()
    thief.force_login(owner.user)  # same user, another browser: the state is not in its session
    response = _callback(thief, state=state, code="good-code")
    assert (response.status_code, Channel.objects.filter(platform="fakeoauth").exists()) == (
        400,
        False,
    )


def test_state_works_only_once(owner_client, workspace):
    state = _start(owner_client)
    _callback(owner_client, state=state, code="good-code")
    Channel.objects.filter(platform="fakeoauth").delete()
    response = _callback(owner_client, state=state, code="good-code")
    assert (response.status_code, Channel.objects.filter(platform="fakeoauth").exists()) == (
        400,
        False,
    )


def test_access_denied_says_so_and_stores_nothing(owner_client):
    state = _start(owner_client)
    response = _callback(
        owner_client, state=state, error="access_denied", error_description="User denied"
    )
    assert "not granted" in response.content.decode()
    assert not Channel.objects.filter(platform="fakeoauth").exists()


def test_platform_error_is_shown_escaped(owner_client):
    state = _start(owner_client)
    response = _callback(
        owner_client, state=state, error="server_error", error_description="<script>x</script>"
    )
    assert "&lt;script&gt;x&lt;/script&gt;" in response.content.decode()


def test_rejected_code_shows_the_platform_detail_and_stores_nothing(owner_client):
    response = _callback(owner_client, state=_start(owner_client), code="stolen-code")
    assert "invalid_grant" in response.content.decode()
    assert not Channel.objects.filter(platform="fakeoauth").exists()


def test_switching_workspace_mid_flow_stores_nothing(owner_client, owner):
    state = _start(owner_client)
    other = do_create_workspace("Autre Maison")
    do_add_member(other, owner.user, Role.OWNER)
    session = owner_client.session
    session["workspace_id"] = other.pk
    session.save()
    response = _callback(owner_client, state=state, code="good-code")
    assert (response.status_code, Channel.objects.filter(platform="fakeoauth").exists()) == (
        400,
        False,
    )


def test_agent_cannot_start_or_finish_a_flow(agent):
    client = Client()
    client.force_login(agent.user)
    assert client.post(reverse("pipeline:add"), {"platform": "fakeoauth"}).status_code == 403
    assert _callback(client, state="x", code="good-code").status_code == 403


# --- reconnecting --------------------------------------------------------------------------


@pytest.fixture
def oauth_channel(workspace: Any) -> Channel:
    return _oauth_channel(workspace)


def _oauth_channel(workspace: Any) -> Channel:
    channel = do_create_channel(
        workspace,
        "fakeoauth",
        "Lumen Page",
        external_id="acct-1",
        credentials={
            "client_id": "app-123",
            "client_secret": "app-secret",
            "access_token": "revoked",
        },
    )
    return channel


def _waiting_reply(channel: Channel, owner: Any) -> Outbox:
    item = Incoming(
        external_id="c1",
        kind="comment",
        author=Author(external_id="u1", name="Camille"),
        text="Ma commande ?",
        post=PostRef(external_id="p1"),
    )
    do_receive(channel, [item])
    do_reply(owner, Conversation.objects.get(channel=channel), "Nous regardons.")
    send_due()  # the platform answers "token revoked"
    return Outbox.objects.get(channel=channel)


def test_revoked_token_leaves_the_reply_waiting(oauth_channel, owner):
    row = _waiting_reply(oauth_channel, owner)
    oauth_channel.refresh_from_db()
    assert (row.state, oauth_channel.health) == (OutboxState.WAITING, Health.NEEDS_REAUTH)


def test_reconnect_releases_waiting_rows_and_they_are_sent_once(owner_client, oauth_channel, owner):
    row = _waiting_reply(oauth_channel, owner)
    state = _start(owner_client, reverse("pipeline:reconnect", args=[oauth_channel.pk]))
    _callback(owner_client, state=state, code="good-code")
    oauth_channel.refresh_from_db()
    row.refresh_from_db()
    assert (oauth_channel.health, row.state, oauth_channel.credentials["access_token"]) == (
        Health.OK,
        OutboxState.QUEUED,
        "token-good-code",
    )
    send_due()
    send_due()
    assert [a.kind for a in FakeOAuthConnector.performed] == [ActionKind.REPLY]


def test_reconnect_does_not_create_a_second_channel(owner_client, oauth_channel, workspace):
    state = _start(owner_client, reverse("pipeline:reconnect", args=[oauth_channel.pk]))
    _callback(owner_client, state=state, code="good-code")
    assert Channel.objects.filter(workspace=workspace, platform="fakeoauth").count() == 1


def test_reconnect_with_another_account_is_refused(owner_client, oauth_channel):
    state = _start(owner_client, reverse("pipeline:reconnect", args=[oauth_channel.pk]))
    response = _callback(owner_client, state=state, code="other-code")
    oauth_channel.refresh_from_db()
    assert (response.status_code, oauth_channel.credentials["access_token"]) == (400, "revoked")


def test_adding_an_account_already_connected_reconnects_it(owner_client, oauth_channel, workspace):
    _callback(owner_client, state=_start(owner_client), code="good-code")
    oauth_channel.refresh_from_db()
    assert (
        Channel.objects.filter(workspace=workspace, platform="fakeoauth").count(),
        oauth_channel.credentials["access_token"],
    ) == (1, "token-good-code")


def test_adding_a_disconnected_account_brings_it_back(owner_client, oauth_channel):
    do_deactivate_channel(oauth_channel, system(oauth_channel.workspace_id))
    _callback(owner_client, state=_start(owner_client), code="good-code")
    oauth_channel.refresh_from_db()
    assert (oauth_channel.is_active, oauth_channel.credentials["client_secret"]) == (
        True,
        "app-secret",
    )


def test_reconnect_of_another_workspace_channel_is_404(owner_client):
    other = do_create_workspace("Autre Maison")
    foreign = do_create_channel(other, "fakeoauth", "Foreign", external_id="acct-9")
    response = owner_client.post(reverse("pipeline:reconnect", args=[foreign.pk]))
    assert response.status_code == 404


# --- refreshing -----------------------------------------------------------------------------------


def _expiring(channel: Channel, expires_in: timedelta, lifetime: timedelta | None = None) -> None:
    now = timezone.now()
    credentials = {**channel.credentials, "access_token": "old", "refresh_token": "r1"}
    credentials["expires_at"] = (now + expires_in).isoformat()
    if lifetime is not None:
        credentials["obtained_at"] = (now + expires_in - lifetime).isoformat()
    channel.set_credentials(credentials)
    channel.save(update_fields=["credentials_token"])


def test_due_within_ten_minutes():
    expires = datetime.fromisoformat("2026-11-25T12:00:00+00:00")
    assert refresh_due_at({"expires_at": expires.isoformat()}) == expires - timedelta(minutes=10)


def test_due_at_ten_percent_of_a_long_lifetime():
    expires = datetime.fromisoformat("2026-12-25T12:00:00+00:00")
    obtained = expires - timedelta(days=60)
    assert refresh_due_at(
        {"expires_at": expires.isoformat(), "obtained_at": obtained.isoformat()}
    ) == (expires - timedelta(days=6))


def test_credentials_without_expiry_are_never_due():
    assert refresh_due_at({"access_token": "forever"}) is None


def test_refresh_stores_new_token_and_keeps_app_secret(oauth_channel):
    _expiring(oauth_channel, timedelta(minutes=5))
    FakeOAuthConnector.refresh_result = "fresh"
    report = refresh_due_credentials()
    oauth_channel.refresh_from_db()
    credentials = oauth_channel.credentials
    assert (
        report.refreshed,
        credentials["access_token"],
        credentials["client_secret"],
        credentials["refresh_token"],
    ) == (
        1,
        "fresh",
        "app-secret",
        "r1",
    )


def test_refreshed_credentials_are_not_due_again(oauth_channel):
    _expiring(oauth_channel, timedelta(minutes=5))
    FakeOAuthConnector.refresh_result = "fresh"
    refresh_due_credentials()
    assert refresh_due_credentials().due == 0


def test_token_far_from_expiry_is_left_alone(oauth_channel):
    _expiring(oauth_channel, timedelta(days=2), lifetime=timedelta(days=3))
    FakeOAuthConnector.refresh_result = "fresh"
    refresh_due_credentials()
    oauth_channel.refresh_from_db()
    assert oauth_channel.credentials["access_token"] == "old"


def test_long_lived_token_in_its_last_tenth_is_refreshed(oauth_channel):
    _expiring(oauth_channel, timedelta(days=2), lifetime=timedelta(days=60))
    FakeOAuthConnector.refresh_result = "fresh"
    refresh_due_credentials()
    oauth_channel.refresh_from_db()
    assert oauth_channel.credentials["access_token"] == "fresh"


def test_revoked_refresh_token_marks_the_channel_needs_reauth(oauth_channel):
    _expiring(oauth_channel, timedelta(minutes=5))
    FakeOAuthConnector.refresh_result = TokenRevoked("refresh token revoked")
    refresh_due_credentials()
    oauth_channel.refresh_from_db()
    assert (oauth_channel.health, oauth_channel.health_detail) == (
        Health.NEEDS_REAUTH,
        "refresh token revoked",
    )


def test_transient_refresh_failure_keeps_the_channel_and_retries_later(oauth_channel):
    _expiring(oauth_channel, timedelta(minutes=5))
    FakeOAuthConnector.refresh_result = TransientError("503")
    report = refresh_due_credentials()
    oauth_channel.refresh_from_db()
    assert (report.failed, oauth_channel.health, oauth_channel.credentials["access_token"]) == (
        1,
        Health.OK,
        "old",
    )


def test_inactive_channels_are_not_refreshed(oauth_channel):
    _expiring(oauth_channel, timedelta(minutes=5))
    Channel.objects.filter(pk=oauth_channel.pk).update(is_active=False)
    FakeOAuthConnector.refresh_result = "fresh"
    assert refresh_due_credentials().refreshed == 0


def test_refresh_task_runs_a_pass(oauth_channel):
    from cercle.pipeline.tasks import refresh_credentials

    _expiring(oauth_channel, timedelta(minutes=5))
    FakeOAuthConnector.refresh_result = "fresh"
    assert refresh_credentials.call() == 1


def test_store_credentials_records_lifetime(oauth_channel):
    do_store_credentials(
        oauth_channel,
        OAuthTokens(
            credentials={"access_token": "a"}, expires_at=timezone.now() + timedelta(days=60)
        ),
    )
    assert "obtained_at" in oauth_channel.credentials


# --- one refresh at a time ------------------------------------------------------------------------


def _rotating(channel: Channel) -> None:
    _expiring(channel, timedelta(minutes=1))
    FakeOAuthConnector.refresh_result = "fresh"
    FakeOAuthConnector.rotate = True


def test_a_second_refresh_with_a_stale_channel_spends_nothing(oauth_channel):
    _rotating(oauth_channel)
    stale = Channel.objects.get(pk=oauth_channel.pk)
    refresh_channel(oauth_channel)
    refresh_channel(stale)
    assert FakeOAuthConnector.spent == ["r1"]


def test_a_refused_token_seen_by_a_stale_worker_is_not_refreshed_again(oauth_channel):
    _rotating(oauth_channel)
    stale = Channel.objects.get(pk=oauth_channel.pk)
    refresh_channel(oauth_channel)
    refresh_channel(stale, force=True)  # its old token was refused: someone already replaced it
    assert (FakeOAuthConnector.spent, stale.credentials["refresh_token"]) == (["r1"], "r1+")


def _two_workers_refresh(channel: Channel) -> None:
    import threading

    from django.db import connection

    _rotating(channel)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            mine = Channel.objects.get(pk=channel.pk)
            barrier.wait(timeout=10)
            refresh_channel(mine)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    channel.refresh_from_db()
    assert (FakeOAuthConnector.spent, channel.credentials["refresh_token"]) == (["r1"], "r1+")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_refreshing_at_once_spend_the_refresh_token_once_on_postgresql(workspace):
    _two_workers_refresh(_oauth_channel(workspace))


@pytest.mark.skipif(database_vendor() != "sqlite", reason="the SQLite variant of the test above")
@pytest.mark.django_db(transaction=True)
def test_two_workers_refreshing_at_once_spend_the_refresh_token_once_on_sqlite(workspace):
    _two_workers_refresh(_oauth_channel(workspace))
