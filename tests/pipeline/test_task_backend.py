"""The task backend is a setting: the same drains, coalescing and scheduler checks on each.

These tests run on whatever CERCLE_TASK_BACKEND the suite runs with: the
database queue by default, RQ on Redis in the CI step that sets it (`.ci/run`).
`run_queued` plays the worker of that backend, in burst mode.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from cercle.connectors.simulator.connector import SIGNATURE_HEADER, sign
from cercle.core import taskqueue
from cercle.inbox.models import Message
from cercle.pipeline import worker
from cercle.pipeline.tasks import enqueue_once, ingest_pending, wake_ingest
from tests.conftest import sim_body, sim_event
from tests.pipeline import worker_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def run_queued(heavy: bool = False) -> None:
    """Run the queued tasks (of the heavy queues, or of the others) until none is left."""
    if taskqueue.backend_kind() == taskqueue.RQ:
        worker._rq_worker(heavy).work(burst=True)
        return
    options: dict[str, Any] = (
        {"queue_name": ",".join(worker.HEAVY_QUEUES)}
        if heavy
        else {"queue_name": "*", "exclude_queues": ",".join(worker.HEAVY_QUEUES)}
    )
    call_command("db_worker", batch=True, interval=0, reload=False, verbosity=0, **options)


def test_a_drain_already_waiting_is_not_enqueued_again():
    first, second = enqueue_once(ingest_pending), enqueue_once(ingest_pending)
    run_queued()
    third = enqueue_once(ingest_pending)
    assert (first, second, third) == (True, False, True)


def test_the_scheduler_sees_a_classify_drain_running():
    result = worker_tasks.classify_in_flight_seen_from_inside.enqueue()
    run_queued(heavy=True)
    result.refresh()
    assert (result.return_value, worker._classify_in_flight(result.finished_at)) == (True, False)


def test_a_webhook_is_ingested_by_the_worker_of_the_backend(client, sim_channel):
    body = sim_body(sim_event("backend-1"))
    response = client.post(
        reverse("pipeline:webhook", kwargs={"channel_uuid": sim_channel.uuid}),
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: sign(body, "s3cret")},
    )
    wake_ingest()  # what the worker's ingest waker does when the delivery is stored
    run_queued()
    assert (response.status_code, Message.objects.filter(channel=sim_channel).count()) == (200, 1)
