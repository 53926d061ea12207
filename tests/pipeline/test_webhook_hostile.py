"""Hostile webhook deliveries found in review: each gets a clear error and stores nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cercle.connectors.simulator.connector import SIGNATURE_HEADER, sign
from cercle.pipeline.models import RawEvent
from cercle.workspaces.actors import system
from tests.conftest import sim_body, sim_event


def _signed_post(client: Client, channel, body: bytes, **extra):
    header = "HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_")
    headers = {header: sign(body, "s3cret"), **extra}
    return client.post(
        reverse("pipeline:webhook", kwargs={"channel_uuid": channel.uuid}),
        data=body,
        content_type="application/json",
        **headers,
    )


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
