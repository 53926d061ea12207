"""Hostile webhook deliveries found in review: each gets a clear error and stores nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cercle.connectors.simulator.connector import SIGNATURE_HEADER, sign
from cercle.inbox.models import Conversation, Message
from cercle.pipeline.models import RawEvent
from cercle.workspaces.actors import system
from tests.conftest import sim_body, sim_event
from tests.inbox.test_views import receive

# Larger than any id the database can hold (a signed 64-bit integer).
HUGE = "9" * 30


@pytest.fixture
def lea(owner) -> Client:
    # Server errors become responses, as a browser would see them.
    client = Client(raise_request_exception=False)
    assert client.login(username="lea", password="correct horse battery")
    return client


@pytest.fixture
def conversation(sim_channel) -> Conversation:
    receive(sim_channel, sim_event("c1"))
    return Conversation.objects.get(channel=sim_channel)


def _signed_post(client: Client, channel, body: bytes, **extra):
    header = "HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_")
    headers = {header: sign(body, "s3cret"), **extra}
    return client.post(
        reverse("pipeline:webhook", kwargs={"channel_uuid": channel.uuid}),
        data=body,
        content_type="application/json",
        **headers,
    )


@pytest.fixture
def targets(owner, conversation):
    """A tag, an inbound message and a failed outbox row of `conversation`, by URL."""
    from cercle.inbox.actions import do_reply, do_tag_conversation
    from cercle.inbox.models import Outbox

    tag = do_tag_conversation(owner, conversation, "vip")
    inbound = Message.objects.get(conversation=conversation, direction="inbound")
    reply = do_reply(owner, conversation, "Bonjour !")
    outbox = Outbox.objects.get(message=reply)
    Outbox.objects.filter(pk=outbox.pk).update(state="failed")
    pk = conversation.pk
    return [
        (reverse("inbox:send", args=[pk]), {"mode": "reply", "text": "hi"}),
        (reverse("inbox:assign", args=[pk]), {"assignee": "me"}),
        (reverse("inbox:status", args=[pk]), {"status": "closed"}),
        (reverse("inbox:tag", args=[pk]), {"name": "urgent"}),
        (reverse("inbox:untag", args=[pk, tag.pk]), {}),
        (reverse("inbox:moderate", args=[inbound.pk]), {"action": "hide"}),
        (reverse("inbox:retry", args=[outbox.pk]), {}),
    ]


def _state() -> tuple[int, int, list[tuple[str, int | None]]]:
    from cercle.inbox.models import Outbox
    from cercle.workspaces.models import Activity

    conversations = list(Conversation.objects.order_by("pk").values_list("status", "assignee_id"))
    queued = Outbox.objects.filter(state="queued").count()
    return Activity.objects.count(), queued, conversations


def _member_client(workspace, username: str, role: str) -> Client:
    from cercle.workspaces.actions import do_add_member, do_create_user

    do_add_member(workspace, do_create_user(username, "correct horse battery"), role)
    client = Client(raise_request_exception=False)
    assert client.login(username=username, password="correct horse battery")
    return client


def test_webhook_with_a_non_numeric_content_length_is_a_400_and_stores_nothing(sim_channel):
    client = Client(raise_request_exception=False)
    response = _signed_post(client, sim_channel, sim_body(sim_event("c1")), CONTENT_LENGTH="abc")
    assert (response.status_code, RawEvent.objects.count()) == (400, 0)


def test_webhook_with_json_nested_too_deep_is_a_400_and_stores_nothing(sim_channel):
    client = Client(raise_request_exception=False)
    response = _signed_post(client, sim_channel, b"[" * 100_000 + b"]" * 100_000)
    assert (response.status_code, RawEvent.objects.count()) == (400, 0)


def test_webhook_with_a_non_ascii_signature_is_a_403_and_stores_nothing(sim_channel):
    client = Client(raise_request_exception=False)
    header = "HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_")
    response = client.post(
        reverse("pipeline:webhook", kwargs={"channel_uuid": sim_channel.uuid}),
        data=sim_body(sim_event("c1")),
        content_type="application/json",
        **{header: "signé"},
    )
    assert (response.status_code, RawEvent.objects.count()) == (403, 0)


def test_webhook_of_an_unknown_channel_is_a_404_and_stores_nothing(sim_channel):
    import uuid

    response = Client().post(
        reverse("pipeline:webhook", kwargs={"channel_uuid": uuid.uuid4()}),
        data=sim_body(sim_event("c1")),
        content_type="application/json",
    )
    assert (response.status_code, RawEvent.objects.count()) == (404, 0)


def test_webhook_of_a_disconnected_channel_is_a_404_and_stores_nothing(sim_channel):
    from cercle.pipeline.actions import do_deactivate_channel

    do_deactivate_channel(sim_channel, system(sim_channel.workspace_id))
    response = _signed_post(Client(), sim_channel, sim_body(sim_event("c1")))
    assert (response.status_code, RawEvent.objects.count()) == (404, 0)


@pytest.mark.parametrize("method", ["put", "patch", "delete", "head", "options"])
def test_webhook_with_another_method_is_a_405(sim_channel, method):
    url = reverse("pipeline:webhook", kwargs={"channel_uuid": sim_channel.uuid})
    assert getattr(Client(), method)(url).status_code == 405


@pytest.mark.parametrize("signature", ["", "sha256=00", "sha256=" + "0" * 64])
def test_webhook_with_a_bad_signature_is_a_403_and_stores_nothing(sim_channel, signature):
    header = "HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_")
    response = Client().post(
        reverse("pipeline:webhook", kwargs={"channel_uuid": sim_channel.uuid}),
        data=sim_body(sim_event("c1")),
        content_type="application/json",
        **{header: signature},
    )
    assert (response.status_code, RawEvent.objects.count()) == (403, 0)


@pytest.mark.parametrize(
    "body", [b"", b"\xff", b"null", b"[]", b"{}", b'{"events":[1]}', b'{"events":[{"id":"1"}]}']
)
def test_webhook_with_a_malformed_payload_is_a_400_and_stores_nothing(sim_channel, body):
    response = _signed_post(Client(), sim_channel, body)
    assert (response.status_code, RawEvent.objects.count()) == (400, 0)


def test_a_well_formed_signed_delivery_is_stored(sim_channel):
    """The helper above signs correctly: the refusals are about what each test changes."""
    response = _signed_post(Client(), sim_channel, sim_body(sim_event("c1")))
    assert (response.status_code, RawEvent.objects.count()) == (200, 1)
