"""Outgoing webhooks: payload, Standard Webhooks signature, retries with backoff, giving up, SSRF."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import httpx
import pytest

from cercle.connectors.http import transport
from cercle.core import clock
from cercle.core.crypto import decrypt_json
from cercle.inbox.actions import do_add_note, do_assign_conversation
from cercle.notifications import webhooks
from cercle.notifications.actions import (
    ActionRefused,
    do_create_webhook_endpoint,
    do_drain_activity_log,
    do_send_test_webhook,
)
from cercle.notifications.choices import DeliveryState
from cercle.notifications.models import WebhookDelivery, WebhookEndpoint
from cercle.workspaces.choices import Verb

HOOK_URL = "https://hooks.example.com/cercle"


@pytest.fixture(autouse=True)
def _allow_example_host(settings):
    # The test host is fake: trust its name instead of resolving it (the guard still runs).
    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["hooks.example.com"]
    settings.CERCLE_BASE_URL = "https://cercle.example.org"


class Receiver:
    """A webhook receiver at the HTTP boundary: answers from a script, keeps every request."""

    def __init__(self, *answers: int | type[Exception]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, type):
            raise answer("scripted failure", request=request)  # type: ignore[call-arg]
        return httpx.Response(answer)


@pytest.fixture
def endpoint(owner):
    ep, secret = do_create_webhook_endpoint(
        owner, owner.workspace, name="Team chat", url=HOOK_URL, events=[Verb.ASSIGNED]
    )
    ep.plain_secret = secret  # type: ignore[attr-defined]
    return ep


def _send(receiver: Receiver) -> int:
    with transport(httpx.MockTransport(receiver)):
        return webhooks.send_due()


def _reference_verify(secret: str, request: httpx.Request) -> bool:
    """The documented algorithm, written out as a receiver would (not calling Cercle's code)."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = (
        request.headers["webhook-id"] + "." + request.headers["webhook-timestamp"] + "."
    ).encode() + request.content
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return f"v1,{expected}" in request.headers["webhook-signature"].split()


def test_the_secret_is_shown_once_and_stored_encrypted(endpoint):
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk).secret_encrypted
    assert endpoint.plain_secret.startswith("whsec_") and endpoint.plain_secret not in stored
    assert decrypt_json(stored)["secret"] == endpoint.plain_secret


def test_an_activity_is_delivered_signed_with_the_documented_algorithm(
    owner, agent, conversation, endpoint
):
    do_assign_conversation(owner, conversation, agent)
    do_add_note(owner, conversation, "not in the filter")
    do_drain_activity_log()
    receiver = Receiver(200)
    assert _send(receiver) == 1
    request = receiver.requests[0]
    assert _reference_verify(endpoint.plain_secret, request)
    assert not _reference_verify(webhooks.new_secret(), request)
    body = json.loads(request.content)
    assert body["type"] == "activity.assigned"
    assert body["data"]["conversation"]["url"] == f"https://cercle.example.org/c/{conversation.pk}/"
    assert body["data"]["details"]["assignee_id"] == agent.pk
    assert "Sam" in body["text"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 1
    assert request.headers["webhook-id"] == delivery.message_id


def test_a_tampered_body_does_not_verify(owner, agent, conversation, endpoint):
    do_assign_conversation(owner, conversation, agent)
    do_drain_activity_log()
    receiver = Receiver(200)
    _send(receiver)
    request = receiver.requests[0]
    headers = dict(request.headers)
    assert webhooks.verify(endpoint.plain_secret, headers, request.content)
    assert not webhooks.verify(endpoint.plain_secret, headers, request.content + b" ")


def test_no_secret_leaves_in_the_payload(owner, conversation, endpoint):
    from cercle.workspaces.actors import actor_fields
    from cercle.workspaces.models import Activity

    activity = Activity.objects.create(
        workspace_id=owner.workspace_id,
        conversation=conversation,
        verb=Verb.ASSIGNED,
        data={"assignee_id": owner.pk, "access_token": "tok", "nested": {"client_secret": "x"}},
        **actor_fields(owner),
    )
    payload = webhooks.activity_payload(activity)
    assert payload["data"]["details"] == {"assignee_id": owner.pk, "nested": {}}


def test_failures_are_retried_with_backoff_then_delivered(owner, agent, conversation, endpoint):
    do_assign_conversation(owner, conversation, agent)
    do_drain_activity_log()
    receiver = Receiver(500, httpx.ReadTimeout, 200)
    start = clock.now()
    with clock.at(start):
        assert _send(receiver) == 1
    delivery = WebhookDelivery.objects.get()
    first_wait = delivery.next_attempt_at - start
    assert delivery.state == DeliveryState.PENDING and delivery.last_status == 500
    assert timedelta(seconds=24) <= first_wait <= timedelta(seconds=36)
    # Not due yet: nothing is sent.
    with clock.at(start + timedelta(seconds=10)):
        assert _send(receiver) == 0
    second = start + timedelta(seconds=40)
    with clock.at(second):
        assert _send(receiver) == 1
    delivery.refresh_from_db()
    assert "no answer" in delivery.last_error and delivery.attempts == 2
    assert timedelta(seconds=48) <= delivery.next_attempt_at - second <= timedelta(seconds=72)
    with clock.at(second + timedelta(minutes=5)):
        assert _send(receiver) == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 3
    # The same message id on every attempt (receivers drop duplicates by it).
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1


def test_backoff_doubles_up_to_the_cap_with_jitter():
    assert webhooks.backoff(1, rand=lambda: 0.5) == timedelta(seconds=30)
    assert webhooks.backoff(4, rand=lambda: 0.5) == timedelta(minutes=4)
    assert webhooks.backoff(30, rand=lambda: 0.5) == webhooks.BACKOFF_CAP
    assert webhooks.backoff(1, rand=lambda: 0.0) == timedelta(seconds=24)
    assert webhooks.backoff(1, rand=lambda: 1.0) == timedelta(seconds=36)


def test_a_delivery_gives_up_after_the_last_attempt(settings, owner, agent, conversation, endpoint):
    settings.CERCLE_WEBHOOK_MAX_ATTEMPTS = 3
    do_assign_conversation(owner, conversation, agent)
    do_drain_activity_log()
    receiver = Receiver(503, 503, 503, 200)
    when = clock.now()
    for _ in range(5):
        when += timedelta(hours=3)
        with clock.at(when):
            _send(receiver)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.FAILED and delivery.attempts == 3
    assert len(receiver.requests) == 3 and delivery.next_attempt_at is None


def test_a_private_address_is_refused_by_the_guard(settings, owner, agent, conversation):
    with pytest.raises(ActionRefused):
        do_create_webhook_endpoint(
            owner, owner.workspace, name="x", url="http://127.0.0.1:9/hook", events=[]
        )
    # An endpoint whose name later resolves to a private address: refused at send time, final.
    ep, _secret = do_create_webhook_endpoint(
        owner, owner.workspace, name="x", url="http://intranet.example.com/", events=[]
    )
    WebhookEndpoint.objects.filter(pk=ep.pk).update(url="http://10.0.0.5/hook")
    do_assign_conversation(owner, conversation, agent)
    do_drain_activity_log()
    receiver = Receiver(200)
    assert webhooks.send_due() >= 1  # no test transport: the real guarded client
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.filter(endpoint=ep).first()
    assert delivery is not None and delivery.state == DeliveryState.FAILED
    assert "egress" in delivery.last_error and delivery.attempts == 1


def test_an_endpoint_receives_only_what_happened_after_it_was_made(owner, agent, conversation):
    do_assign_conversation(owner, conversation, agent)
    do_create_webhook_endpoint(owner, owner.workspace, name="late", url=HOOK_URL, events=[])
    do_drain_activity_log()
    # The assignment came before it; only its own creation (logged after it) is sent.
    assert list(WebhookDelivery.objects.values_list("event_type", flat=True)) == [
        "activity.workspace_changed"
    ]


def test_send_test_delivers_once_and_logs_it(owner, endpoint):
    receiver = Receiver(204)
    with transport(httpx.MockTransport(receiver)):
        delivery = do_send_test_webhook(owner, endpoint)
    assert delivery.state == DeliveryState.DELIVERED and delivery.last_status == 204
    assert json.loads(receiver.requests[0].content)["type"] == "webhook.test"


def test_only_owners_and_admins_manage_webhooks(agent):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        do_create_webhook_endpoint(agent, agent.workspace, name="x", url=HOOK_URL, events=[])
