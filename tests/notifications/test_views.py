"""Pages: the bell, the notifications page and its read marks, the webhook settings."""

from __future__ import annotations

import httpx
import pytest
from django.test import Client
from django.urls import reverse

from cercle.connectors.http import transport
from cercle.inbox.actions import do_add_note, do_assign_conversation
from cercle.notifications.actions import do_drain_activity_log
from cercle.notifications.models import Notification, WebhookDelivery, WebhookEndpoint


def login(client: Client, username: str) -> Client:
    assert client.login(username=username, password="correct horse battery")
    return client


@pytest.fixture
def sam(client: Client, agent) -> Client:
    return login(client, "sam")


def test_the_bell_counts_unread_notifications_on_every_page(sam, owner, agent, conversation):
    do_add_note(owner, conversation, "@sam <b>regarde</b>")
    do_assign_conversation(owner, conversation, agent)
    do_drain_activity_log()
    page = sam.get(reverse("workspaces:profile")).content.decode()
    assert 'id="bell"' in page and '<span class="bell-count">2</span>' in page
    fragment = sam.get(reverse("notifications:bell")).content.decode()
    assert 'data-unread="2"' in fragment
    assert 'data-latest-text="Léa Martin assigned a conversation to you"' in fragment


def test_opening_a_notification_marks_it_read_and_opens_the_conversation(
    sam, owner, agent, conversation
):
    do_assign_conversation(owner, conversation, agent)
    do_drain_activity_log()
    notification = Notification.objects.get(member=agent)
    page = sam.get(reverse("notifications:list")).content.decode()
    assert "Léa Martin assigned a conversation to you" in page
    response = sam.get(reverse("notifications:open", args=[notification.pk]))
    assert response["Location"] == reverse("inbox:conversation", args=[conversation.pk])
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert "bell-count" not in sam.get(reverse("notifications:bell")).content.decode()


def test_mark_all_read(sam, owner, agent, conversation):
    do_add_note(owner, conversation, "@sam")
    do_assign_conversation(owner, conversation, agent)
    do_drain_activity_log()
    sam.post(reverse("notifications:read_all"))
    assert not Notification.objects.filter(member=agent, read_at__isnull=True).exists()


def test_another_members_notification_is_a_404(client, owner, agent, nora, conversation):
    do_assign_conversation(owner, conversation, nora)
    do_drain_activity_log()
    theirs = Notification.objects.get(member=nora)
    login(client, "sam")
    assert client.get(reverse("notifications:open", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("notifications:read", args=[theirs.pk])).status_code == 404


def test_agents_cannot_open_the_webhook_settings(sam):
    assert sam.get(reverse("notifications:webhooks")).status_code == 403


def test_an_admin_adds_a_webhook_sees_the_secret_once_and_sends_a_test(client, owner, settings):
    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["hooks.example.com"]
    login(client, "lea")
    response = client.post(
        reverse("notifications:webhooks"),
        {"name": "Chat", "url": "https://hooks.example.com/x", "events": ["assigned"]},
    )
    page = response.content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["assigned"]
    secret = page.split('id="webhook-secret">', 1)[1].split("<", 1)[0]
    assert secret.startswith("whsec_")
    assert secret not in client.get(reverse("notifications:webhooks")).content.decode()
    with transport(httpx.MockTransport(lambda request: httpx.Response(200))):
        client.post(reverse("notifications:webhook_test", args=[endpoint.pk]))
    assert WebhookDelivery.objects.get().state == "delivered"
    assert "webhook.test" in client.get(reverse("notifications:webhooks")).content.decode()


def test_a_private_webhook_url_is_refused_on_the_form(client, owner):
    login(client, "lea")
    response = client.post(
        reverse("notifications:webhooks"), {"name": "x", "url": "http://192.168.1.10/hook"}
    )
    assert response.status_code == 422 and not WebhookEndpoint.objects.exists()


def test_a_new_secret_is_shown_once_and_the_old_one_stops_signing(client, owner, settings):
    from cercle.core.crypto import decrypt_json
    from cercle.notifications.actions import do_create_webhook_endpoint

    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["hooks.example.com"]
    endpoint, old = do_create_webhook_endpoint(
        owner, owner.workspace, name="Chat", url="https://hooks.example.com/x", events=[]
    )
    login(client, "lea")
    response = client.post(reverse("notifications:webhook_rotate", args=[endpoint.pk]))
    new = response.content.decode().split('id="webhook-secret">', 1)[1].split("<", 1)[0]
    assert response["Cache-Control"] == "no-store"
    stored = decrypt_json(WebhookEndpoint.objects.get(pk=endpoint.pk).secret_encrypted)["secret"]
    assert new == stored and new != old


def test_another_workspaces_webhook_is_a_404(client, owner, settings):
    from cercle.notifications.actions import do_create_webhook_endpoint
    from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
    from cercle.workspaces.choices import Role

    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["hooks.example.com"]
    endpoint, _secret = do_create_webhook_endpoint(
        owner, owner.workspace, name="Chat", url="https://hooks.example.com/x", events=[]
    )
    elsewhere = do_create_workspace("Autre", timezone="UTC")
    do_add_member(elsewhere, do_create_user("zoe", "correct horse battery"), Role.OWNER)
    login(client, "zoe")
    for name in ("webhook_test", "webhook_rotate", "webhook_delete", "webhook_change"):
        assert client.post(reverse(f"notifications:{name}", args=[endpoint.pk])).status_code == 404
    assert "Chat" not in client.get(reverse("notifications:webhooks")).content.decode()
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
