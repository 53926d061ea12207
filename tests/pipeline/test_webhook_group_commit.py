"""The webhook route's group commit (`pipeline.hooks_asgi`): many deliveries, one transaction.

A batch is handed to `WebhookApp.handle_batch` as the writer thread does, on an
event loop of its own; the answers are read back from each delivery's future.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import OperationalError, connections

from cercle.asgi import application
from cercle.connectors.simulator.connector import SIGNATURE_HEADER, SimulatorConnector, sign
from cercle.pipeline import actions, hooks_asgi
from cercle.pipeline.actions import do_create_channel
from cercle.pipeline.models import RawEvent
from cercle.workspaces.actions import do_create_workspace
from tests.conftest import sim_body, sim_event

pytestmark = pytest.mark.django_db(transaction=True)

Answer = tuple[int, dict[str, str], bytes]


def _scope(path: str, headers: dict[str, str], length: int) -> dict[str, Any]:
    sent = [(b"host", b"127.0.0.1"), (b"content-length", str(length).encode())]
    sent += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": sent,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


def _in_own_thread(work: Callable[[], Any]) -> Any:
    """On a thread and event loop of their own, as uvicorn's and the writer's (see
    test_webhook_asgi); that thread's connections are closed afterwards."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # raised again in the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if errors:
        raise errors[0]
    return result[0]


def _batch(deliveries: list[tuple[uuid.UUID | str, str, str]]) -> list[Answer]:
    """Handle (channel uuid, event id, secret) deliveries as one batch; their answers in order."""

    def work() -> list[Answer]:
        loop = asyncio.new_event_loop()
        try:
            app = hooks_asgi.WebhookApp()
            batch = []
            for channel_uuid, event_id, secret in deliveries:
                body = sim_body(sim_event(event_id))
                headers = {SIGNATURE_HEADER: sign(body, secret), "Content-Type": "application/json"}
                found = uuid.UUID(str(channel_uuid))
                scope = _scope(f"/hooks/{found}", headers, len(body))
                batch.append(hooks_asgi.Pending(scope, body, found, loop, loop.create_future()))
            app.handle_batch(batch)
            answers = loop.run_until_complete(asyncio.gather(*(p.future for p in batch)))
        finally:
            loop.close()
        return [
            (status, {k.decode().lower(): v.decode() for k, v in headers}, content)
            for status, headers, content in answers
        ]

    answers: list[Answer] = _in_own_thread(work)
    return answers


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many deliveries each call to the store was given (one call: one transaction)."""
    calls: list[int] = []
    real = hooks_asgi.do_store_deliveries

    def counted(deliveries: list[actions.WebhookDelivery]) -> None:
        calls.append(len(deliveries))
        real(deliveries)

    monkeypatch.setattr(hooks_asgi, "do_store_deliveries", counted)
    return calls


@pytest.fixture
def named_deliveries(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a platform that names its deliveries: the id is the first event's id."""
    monkeypatch.setattr(
        SimulatorConnector, "delivery_id", lambda self, raw: json.loads(raw.body)["events"][0]["id"]
    )


def test_a_batch_is_stored_in_one_transaction_and_each_delivery_answered_200(sim_channel, stores):
    answers = _batch([(sim_channel.uuid, f"e{n}", "s3cret") for n in range(5)])
    assert [a[0] for a in answers] == [200] * 5
    assert answers[0][1].get("x-content-type-options") == "nosniff"
    assert stores == [5]
    stored = sorted(json.loads(bytes(r.body))["events"][0]["id"] for r in RawEvent.objects.all())
    assert stored == [f"e{n}" for n in range(5)]


def test_concurrent_deliveries_through_the_application_are_each_stored_once(sim_channel):
    def work() -> list[int]:
        async def one(n: int) -> int:
            body = sim_body(sim_event(f"c{n}"))
            headers = {SIGNATURE_HEADER: sign(body, "s3cret")}
            scope = _scope(f"/hooks/{sim_channel.uuid}", headers, len(body))
            messages = [{"type": "http.request", "body": body, "more_body": False}]
            status: list[int] = []

            async def receive() -> dict[str, Any]:
                if messages:
                    return messages.pop(0)
                await asyncio.sleep(3600)
                return {"type": "http.disconnect"}

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    status.append(message["status"])

            await application(scope, receive, send)
            return status[0]

        async def all_of_them() -> list[int]:
            return list(await asyncio.gather(*(one(n) for n in range(30))))

        return asyncio.run(all_of_them())

    statuses = _in_own_thread(work)
    assert (statuses, RawEvent.objects.filter(channel=sim_channel).count()) == ([200] * 30, 30)


def test_a_delivery_named_twice_in_one_batch_is_stored_once(sim_channel, named_deliveries, stores):
    answers = _batch([(sim_channel.uuid, i, "s3cret") for i in ("d1", "d2", "d1", "d1")])
    assert [a[0] for a in answers] == [200, 200, 200, 200]
    assert sorted(RawEvent.objects.values_list("delivery_id", flat=True)) == ["d1", "d2"]


def test_a_delivery_stored_by_an_earlier_batch_is_acknowledged_and_not_stored_again(
    sim_channel, named_deliveries, stores
):
    first = _batch([(sim_channel.uuid, "d1", "s3cret")])
    second = _batch([(sim_channel.uuid, i, "s3cret") for i in ("d1", "d2")])
    assert ([a[0] for a in first + second], stores) == ([200, 200, 200], [1, 2])
    assert sorted(RawEvent.objects.values_list("delivery_id", flat=True)) == ["d1", "d2"]


def test_a_failed_store_answers_503_to_every_accepted_delivery_and_stores_none(
    sim_channel, monkeypatch
):
    real = actions.insert_values

    def fails_half_way(model: Any, rows: list[dict[str, Any]], **kwargs: Any) -> list[Any]:
        real(model, rows[:1], **kwargs)  # the first row is written, then the disk fails
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(actions, "insert_values", fails_half_way)
    answers = _batch(
        [
            (sim_channel.uuid, "e1", "s3cret"),
            (sim_channel.uuid, "e2", "wrong"),
            (sim_channel.uuid, "e3", "s3cret"),
        ]
    )
    assert [a[0] for a in answers] == [503, 403, 503]
    assert json.loads(answers[0][2]) == {"error": "temporarily unavailable, retry later"}
    assert "retry-after" in answers[0][1]
    assert answers[0][1].get("x-content-type-options") == "nosniff"
    assert RawEvent.objects.count() == 0
    # The next batch finds the connection usable and stores.
    monkeypatch.setattr(actions, "insert_values", real)
    assert [a[0] for a in _batch([(sim_channel.uuid, "e1", "s3cret")])] == [200]
    assert RawEvent.objects.count() == 1


def test_unreadable_channels_answer_503_to_the_whole_batch(sim_channel, monkeypatch):
    def down(uuids: Any) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(hooks_asgi.hooks, "active_channels", down)
    answers = _batch([(sim_channel.uuid, "e1", "s3cret"), (sim_channel.uuid, "e2", "s3cret")])
    assert ([a[0] for a in answers], RawEvent.objects.count()) == ([503, 503], 0)
    assert "retry-after" in answers[1][1]


def test_each_delivery_of_a_batch_goes_to_its_own_channel_and_unknown_ones_are_404(
    sim_channel, stores
):
    other_workspace = do_create_workspace("Autre marque")
    foreign = do_create_channel(
        other_workspace,
        "simulator",
        "Other forum",
        external_id="forum-2",
        config={"api_base": "http://simulator.test/api"},
        credentials={"webhook_secret": "other", "access_token": "tok"},
    )
    paused = do_create_channel(
        sim_channel.workspace,
        "simulator",
        "Paused forum",
        external_id="forum-3",
        config={"api_base": "http://simulator.test/api"},
        credentials={"webhook_secret": "s3cret", "access_token": "tok"},
    )
    paused.is_active = False
    paused.save(update_fields=["is_active"])
    answers = _batch(
        [
            (sim_channel.uuid, "e1", "s3cret"),
            (foreign.uuid, "e2", "other"),
            (foreign.uuid, "e3", "s3cret"),  # signed with another workspace's secret
            (paused.uuid, "e4", "s3cret"),
            ("0b7c8a5e-1f2d-4c3b-9a8e-7d6c5b4a3f21", "e5", "s3cret"),
        ]
    )
    assert [a[0] for a in answers] == [200, 200, 403, 404, 404]
    assert json.loads(answers[4][2]) == {"error": "unknown channel"}
    stored = {
        (r.channel_id, r.workspace_id, json.loads(bytes(r.body))["events"][0]["id"])
        for r in RawEvent.objects.all()
    }
    assert stored == {
        (sim_channel.pk, sim_channel.workspace_id, "e1"),
        (foreign.pk, other_workspace.pk, "e2"),
    }
    assert stores == [2]
