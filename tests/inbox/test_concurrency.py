"""The inbound pipeline under concurrency and hostile input, through the real webhook endpoint.

Threads play independent web and worker processes: each has its own database
connection. On PostgreSQL two workers really overlap (SKIP LOCKED claims, the
unique indexes, row locks); on SQLite the writers queue behind each other (WAL,
BEGIN IMMEDIATE) and the outcome must be the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from cercle.connectors.models import Channel
from cercle.connectors.simulator.connector import SIGNATURE_HEADER, sign
from cercle.inbox.models import Message, Tombstone
from cercle.pipeline.actions import do_create_channel, do_ingest_pending
from cercle.pipeline.models import RawEvent
from cercle.workspaces.actions import do_create_workspace
from cercle.workspaces.models import Activity
from tests.conftest import database_vendor, sim_body, sim_event

SECRET = "s3cret"


def _post(channel: Channel, body: bytes, secret: str = SECRET) -> int:
    """POST `body` to the channel's webhook like the platform does; the status code."""
    response = Client().post(
        reverse("pipeline:webhook", args=[channel.uuid]),
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: sign(body, secret)},
    )
    return response.status_code


def _in_parallel(*jobs: Callable[[], Any]) -> list[Any]:
    """Run `jobs` at the same time, each in its own thread with its own connection."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = job()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def _store_and_ingest(channel: Channel, body: bytes) -> Callable[[], int]:
    """One webhook delivery then one worker's drain, one event per batch (so workers overlap)."""

    def job() -> int:
        status = _post(channel, body)
        drained = 0
        while do_ingest_pending(limit=1).events:
            drained += 1
        return status

    return job


def _same_payload_twice(channel: Channel) -> None:
    body = sim_body(sim_event("c1"))
    statuses = _in_parallel(_store_and_ingest(channel, body), _store_and_ingest(channel, body))
    assert statuses == [200, 200]
    do_ingest_pending()  # whatever a worker left behind
    received = Activity.objects.filter(channel=channel, verb="received").count()
    assert (Message.objects.filter(channel=channel).count(), received) == (1, 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_same_payload_twice_concurrently_gives_one_message_on_postgresql(sim_channel):
    _same_payload_twice(sim_channel)


@pytest.mark.skipif(database_vendor() != "sqlite", reason="the SQLite variant of the test above")
@pytest.mark.django_db(transaction=True)
def test_same_payload_twice_concurrently_gives_one_message_on_sqlite(sim_channel):
    _same_payload_twice(sim_channel)


@pytest.mark.django_db(transaction=True)
def test_a_delete_racing_an_add_leaves_no_visible_message(sim_channel):
    add, delete = sim_body(sim_event("c1")), sim_body(sim_event("c1", op="delete"))
    _in_parallel(_store_and_ingest(sim_channel, add), _store_and_ingest(sim_channel, delete))
    do_ingest_pending()
    assert not Message.objects.filter(external_id="c1", deleted_at__isnull=True).exists()
    assert Tombstone.objects.filter(channel=sim_channel, external_id="c1").exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_count_every_message_of_a_conversation(sim_channel):
    # Same author, same post: one conversation that both workers update.
    bodies = [sim_body(sim_event(f"c{i}", text=f"Toujours rien, jour {i}")) for i in range(6)]
    for body in bodies:
        assert _post(sim_channel, body) == 200

    def drain() -> None:
        while do_ingest_pending(limit=1).events:
            pass

    _in_parallel(drain, drain)
    conversation = Message.objects.get(external_id="c0").conversation
    assert conversation.message_count == 6


def test_a_batch_with_the_same_item_twice_gives_one_message(sim_channel):
    assert _post(sim_channel, sim_body(sim_event("c1"), sim_event("c1"))) == 200
    do_ingest_pending()
    received = Activity.objects.filter(channel=sim_channel, verb="received").count()
    assert (Message.objects.filter(channel=sim_channel).count(), received) == (1, 1)


def test_a_huge_body_is_refused_and_nothing_stored(sim_channel):
    body = sim_body(sim_event("c1", text="x" * settings.CERCLE_MAX_WEBHOOK_BYTES))
    assert (_post(sim_channel, body), RawEvent.objects.count()) == (413, 0)


def test_malformed_json_is_refused_and_nothing_stored(sim_channel):
    assert (_post(sim_channel, b'{"events": [{"type": '), RawEvent.objects.count()) == (400, 0)


def test_a_bad_signature_is_refused_and_nothing_stored(sim_channel):
    body = sim_body(sim_event("c1"))
    assert (_post(sim_channel, body, secret="guess"), RawEvent.objects.count()) == (403, 0)


def test_a_payload_signed_for_another_workspace_channel_is_refused(sim_channel):
    other = do_create_channel(
        do_create_workspace("Autre marque"),
        "simulator",
        "Other forum",
        external_id="forum-9",
        credentials={"webhook_secret": "other-secret", "access_token": "tok"},
    )
    # Signed with our channel's secret, sent to the other workspace's channel uuid.
    assert _post(other, sim_body(sim_event("c1"))) == 403
    assert RawEvent.objects.count() == 0


def test_items_land_in_the_workspace_of_the_channel_they_were_posted_to(sim_channel):
    other = do_create_channel(
        do_create_workspace("Autre marque"),
        "simulator",
        "Other forum",
        external_id="forum-9",
        credentials={"webhook_secret": "other-secret", "access_token": "tok"},
    )
    assert _post(other, sim_body(sim_event("c1")), secret="other-secret") == 200
    do_ingest_pending()
    message = Message.objects.get(external_id="c1")
    assert (message.workspace_id, message.conversation.workspace_id) == (other.workspace_id,) * 2
    assert not Message.objects.filter(workspace=sim_channel.workspace).exists()


def test_the_vendor_helper_knows_this_database():
    assert database_vendor() == connection.vendor


@pytest.mark.django_db(transaction=True)
def test_workers_taking_two_channels_in_opposite_orders_do_not_deadlock(sim_channel, workspace):
    other = do_create_channel(
        workspace,
        "simulator",
        "Reviews",
        external_id="reviews-1",
        credentials={"webhook_secret": SECRET, "access_token": "tok"},
    )
    # Claimed two by two in id order: one worker gets (ours, other), the next (other, ours).
    for channel, item in [(sim_channel, "a"), (other, "b"), (other, "c"), (sim_channel, "d")]:
        assert _post(channel, sim_body(sim_event(item))) == 200

    def drain() -> int:
        return do_ingest_pending(limit=2).events

    assert sorted(_in_parallel(drain, drain)) == [2, 2]
    assert Message.objects.count() == 4
