"""The sender with the simulator connector, its platform faked at the HTTP boundary."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.utils import timezone

from cercle.connectors.base import OAuthTokens, RawEventData
from cercle.connectors.choices import Health
from cercle.connectors.http import transport
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for
from cercle.connectors.simulator.connector import SimulatorConnector
from cercle.inbox.actions import do_receive, do_reply
from cercle.inbox.choices import Delivery, OutboxState
from cercle.inbox.models import Conversation, Message, Outbox
from cercle.pipeline.actions import do_store_credentials
from cercle.pipeline.sender import send_due
from cercle.workspaces.choices import Verb
from cercle.workspaces.models import Activity
from tests.conftest import sim_body, sim_event


class FakeSimulatorPlatform:
    """The simulator platform's API: POST/GET /api/actions and GET /api/me.

    `script` gives the behaviour of successive POSTs: "ok", "timeout" (created,
    then no answer), an HTTP status, or (status, headers).
    """

    def __init__(self, *script: Any, find_status: list[int] | None = None) -> None:
        self.script = list(script)
        self.find_status = list(find_status or [])
        self.posts: list[dict[str, Any]] = []
        self.created: dict[str, dict[str, str]] = {}

    def _create(self, payload: dict[str, Any]) -> dict[str, str]:
        key = payload["idempotency_key"]
        made = {
            "id": f"sim-{len(self.created) + 1}",
            "url": f"https://sim.test/i/{len(self.created) + 1}",
        }
        self.created[key] = made
        return made

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/actions" and request.method == "POST":
            payload = json.loads(request.content)
            self.posts.append(payload)
            behaviour = self.script.pop(0) if self.script else "ok"
            if behaviour == "timeout":
                self._create(payload)
                raise httpx.ReadTimeout("no answer", request=request)
            if behaviour == "ok":
                return httpx.Response(200, json=self._create(payload))
            status, headers = behaviour if isinstance(behaviour, tuple) else (behaviour, {})
            return httpx.Response(status, headers=headers, json={"error": "scripted"})
        if request.url.path == "/api/actions" and request.method == "GET":
            if self.find_status:
                return httpx.Response(self.find_status.pop(0), json={})
            found = self.created.get(request.url.params.get("idempotency_key", ""))
            return httpx.Response(200, json=found) if found else httpx.Response(404, json={})
        if request.url.path == "/api/me":
            return httpx.Response(200, json={"name": "Lumen"})
        return httpx.Response(404)

    @property
    def creations(self) -> int:
        return len(self.created)


@pytest.fixture
def reply(sim_channel: Channel, owner: Any) -> Message:
    items = connector_for(sim_channel).parse(RawEventData(body=sim_body(sim_event("c1"))))
    do_receive(sim_channel, items)
    conversation = Conversation.objects.get(channel=sim_channel)
    return do_reply(owner, conversation, "Bonjour Camille, nous regardons tout de suite.")


def _row() -> Outbox:
    return Outbox.objects.get()


def _make_due() -> None:
    """Let time pass: backoff and pauses are over (no sleeping in tests)."""
    past = timezone.now() - timedelta(seconds=1)
    Outbox.objects.update(next_attempt_at=past)
    Channel.objects.update(paused_until=None)


def _send(platform: FakeSimulatorPlatform) -> int:
    with transport(httpx.MockTransport(platform)):
        return send_due()


def test_success_records_platform_id_and_activity(reply):
    platform = FakeSimulatorPlatform("ok")
    _send(platform)
    reply.refresh_from_db()
    assert (_row().state, reply.external_id, reply.delivery) == (
        OutboxState.DONE,
        "sim-1",
        Delivery.SENT,
    )
    assert Activity.objects.filter(
        verb=Verb.DELIVERED, message=reply, data__platform_id="sim-1"
    ).exists()


def test_request_carries_token_and_idempotency_key(reply):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "sim-1"})

    with transport(httpx.MockTransport(handler)):
        send_due()
    assert seen[0].headers["Authorization"] == "Bearer tok"
    assert seen[0].headers["Idempotency-Key"] == _row().idempotency_key


def test_429_pauses_channel_until_retry_after_without_counting_an_attempt(reply, sim_channel):
    platform = FakeSimulatorPlatform((429, {"Retry-After": "120"}))
    before = timezone.now()
    _send(platform)
    sim_channel.refresh_from_db()
    row = _row()
    assert sim_channel.paused_until >= before + timedelta(seconds=120)
    assert (row.state, row.attempts, row.next_attempt_at) == (
        OutboxState.QUEUED,
        0,
        sim_channel.paused_until,
    )


def test_paused_channel_sends_nothing_until_reset_then_sends(reply, sim_channel):
    platform = FakeSimulatorPlatform((429, {"Retry-After": "120"}))
    _send(platform)
    assert _send(platform) == 0
    _make_due()
    _send(platform)
    assert (_row().state, platform.creations) == (OutboxState.DONE, 1)


def test_5xx_retries_with_backoff(reply):
    platform = FakeSimulatorPlatform(503, 502)
    _send(platform)
    first = _row()
    assert (first.state, first.attempts) == (OutboxState.QUEUED, 1)
    assert _send(platform) == 0  # not due before its backoff
    _make_due()
    _send(platform)
    second = _row()
    assert second.attempts == 2
    # Backoff doubles: the second wait is longer than the first.
    assert second.next_attempt_at - second.updated_at > first.next_attempt_at - first.updated_at
    _make_due()
    _send(platform)
    assert (_row().state, platform.creations) == (OutboxState.DONE, 1)


def test_timeout_after_sending_is_unknown_then_reconciled_without_posting_again(reply):
    platform = FakeSimulatorPlatform("timeout")
    _send(platform)
    assert _row().state == OutboxState.UNKNOWN
    _make_due()
    _send(platform)
    reply.refresh_from_db()
    assert (_row().state, reply.external_id, len(platform.posts)) == (OutboxState.DONE, "sim-1", 1)


def test_unknown_result_stays_reconciled_after_a_failed_reconciliation(reply):
    # The reconciliation itself hits a 5xx: the next attempt must still look before posting.
    platform = FakeSimulatorPlatform("timeout", find_status=[503])
    _send(platform)
    _make_due()
    _send(platform)
    _make_due()
    _send(platform)
    assert (_row().state, len(platform.posts), platform.creations) == (OutboxState.DONE, 1, 1)


def test_unknown_result_that_did_not_happen_is_posted_once(reply):
    # As a crashed worker leaves it: ambiguous, but the platform has nothing.
    Outbox.objects.update(state=OutboxState.UNKNOWN)
    platform = FakeSimulatorPlatform("ok")
    _send(platform)
    assert (_row().state, len(platform.posts)) == (OutboxState.DONE, 1)


def test_token_revoked_waits_for_reconnection_then_sends_once(reply, sim_channel):
    platform = FakeSimulatorPlatform(401)
    _send(platform)
    sim_channel.refresh_from_db()
    reply.refresh_from_db()
    assert (sim_channel.health, _row().state, reply.delivery) == (
        Health.NEEDS_REAUTH,
        OutboxState.WAITING,
        Delivery.WAITING,
    )
    assert _send(platform) == 0
    do_store_credentials(
        sim_channel, OAuthTokens(credentials={"access_token": "new", "webhook_secret": "s3cret"})
    )
    _send(platform)
    _send(platform)
    assert (_row().state, platform.creations, platform.posts[-1]["idempotency_key"]) == (
        OutboxState.DONE,
        1,
        _row().idempotency_key,
    )


def test_permission_denied_fails_the_row_and_degrades_the_channel(reply, sim_channel):
    platform = FakeSimulatorPlatform(403)
    _send(platform)
    sim_channel.refresh_from_db()
    reply.refresh_from_db()
    assert (_row().state, reply.delivery, sim_channel.health) == (
        OutboxState.FAILED,
        Delivery.FAILED,
        Health.DEGRADED,
    )


def test_success_after_degraded_restores_health(reply, sim_channel, owner):
    _send(FakeSimulatorPlatform(403))
    conversation = Conversation.objects.get(channel=sim_channel)
    do_reply(owner, conversation, "Second try")
    _send(FakeSimulatorPlatform("ok"))
    sim_channel.refresh_from_db()
    assert sim_channel.health == Health.OK


def test_unexpected_connector_exception_keeps_the_row(reply, monkeypatch):
    def broken(self, action):
        raise RuntimeError("bug in a connector")

    monkeypatch.setattr(SimulatorConnector, "perform", broken)
    _send(FakeSimulatorPlatform())
    row = _row()
    assert (row.state, row.attempts, "RuntimeError" in row.last_error) == (
        OutboxState.UNKNOWN,
        1,
        True,
    )


def test_row_kept_after_a_connector_bug_is_sent_once_when_fixed(reply, monkeypatch):
    platform = FakeSimulatorPlatform()
    with monkeypatch.context() as patch:
        patch.setattr(SimulatorConnector, "perform", lambda self, action: 1 / 0)
        _send(platform)
    _make_due()
    _send(platform)
    assert (_row().state, platform.creations) == (OutboxState.DONE, 1)


def test_rows_behind_a_rate_limited_one_do_not_lose_an_attempt(reply, sim_channel, owner):
    conversation = Conversation.objects.get(channel=sim_channel)
    do_reply(owner, conversation, "Second answer")
    platform = FakeSimulatorPlatform((429, {"Retry-After": "60"}))
    _send(platform)
    assert list(Outbox.objects.order_by("id").values_list("state", "attempts")) == [
        (OutboxState.QUEUED, 0),
        (OutboxState.QUEUED, 0),
    ]


# --- a reply left "sending" by a crashed worker ----------------------------------


def _run_ready_tasks(platform: FakeSimulatorPlatform) -> None:
    """Play the task worker: run every waiting task once (the platform faked at HTTP)."""
    from django.conf import settings

    from cercle.core import taskqueue

    with transport(httpx.MockTransport(platform)):
        if taskqueue.backend_kind() == taskqueue.RQ:
            import django_rq
            from django_tasks_rq.backend import Job

            for name in settings.CERCLE_TASK_QUEUES:
                for job in django_rq.get_queue(name, job_class=Job).get_jobs():
                    job.func.call(*job.args, **job.kwargs)
            return
        from django_tasks_db.models import DBTaskResult

        for result in DBTaskResult.objects.ready():
            result.task.call()


@pytest.fixture
def scheduler_tick(monkeypatch: pytest.MonkeyPatch) -> Any:
    """One tick of the worker's scheduler, inside the test's transaction."""
    from cercle.pipeline import worker

    # The tick drops stale connections; here the connection is the test's open transaction.
    monkeypatch.setattr(worker, "close_old_connections", lambda: None)
    return lambda: worker.schedule_once(last_poll=float("inf"))


def _abandon_claim() -> None:
    """A worker claims the due rows, then dies before recording anything; time passes."""
    from cercle.pipeline.sender import _claim, stale_sending_age

    assert [row.state for row in _claim(10)] == [OutboxState.SENDING]
    Outbox.objects.update(updated_at=timezone.now() - stale_sending_age() - timedelta(seconds=1))


def test_a_reply_abandoned_while_sending_is_recovered_by_the_scheduler_and_posted_once(
    reply, scheduler_tick
):
    _abandon_claim()
    platform = FakeSimulatorPlatform("ok")
    scheduler_tick()  # no other reply on the channel: the scheduler alone
    _run_ready_tasks(platform)
    reply.refresh_from_db()
    assert (_row().state, reply.delivery, len(platform.posts)) == (
        OutboxState.DONE,
        Delivery.SENT,
        1,
    )


def test_a_reply_posted_by_a_worker_that_then_crashed_is_reconciled_not_posted_again(
    reply, scheduler_tick
):
    from cercle.connectors.base import OutboundAction

    _abandon_claim()
    platform = FakeSimulatorPlatform("ok")
    with transport(httpx.MockTransport(platform)):
        # The dead worker's call went through before it died.
        connector_for(_row().channel).perform(OutboundAction.from_payload(_row().payload))
    scheduler_tick()
    _run_ready_tasks(platform)
    reply.refresh_from_db()
    assert (_row().state, reply.external_id, len(platform.posts)) == (
        OutboxState.DONE,
        "sim-1",
        1,
    )


def test_a_sending_row_younger_than_the_stale_age_is_left_to_its_worker(reply):
    from cercle.pipeline.sender import _claim, recover_stale_sending

    _claim(10)
    assert (recover_stale_sending(), _row().state) == (0, OutboxState.SENDING)


def test_a_row_recovered_by_another_worker_mid_batch_is_not_sent_by_the_first(reply, monkeypatch):
    from cercle.pipeline import sender

    claim = sender._claim

    def claim_then_lose_it(limit: int) -> list[Outbox]:
        rows = claim(limit)
        # While this worker was busy, another one recovered the row and took it over.
        Outbox.objects.update(updated_at=timezone.now() + timedelta(seconds=1))
        return rows

    monkeypatch.setattr(sender, "_claim", claim_then_lose_it)
    platform = FakeSimulatorPlatform("ok")
    _send(platform)
    assert platform.posts == []
