"""Liveness, readiness and the Prometheus metrics."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError
from django.test import Client

from cercle.api import health
from cercle.core import clock
from cercle.inbox.actions import do_reply
from cercle.inbox.models import Conversation
from cercle.pipeline.actions import do_store_raw_event
from cercle.pipeline.tasks import ingest_pending, send_outbox
from tests.conftest import sim_body, sim_event


def test_healthz_touches_nothing(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_checks_database_and_migrations(db, client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok"}


def test_readyz_is_503_when_the_database_is_unreachable(db, client, monkeypatch):
    class Unreachable:
        def cursor(self):
            raise DatabaseError("connection refused")

    monkeypatch.setattr(health, "connection", Unreachable())
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["status"] == "unavailable"
    assert "unreachable" in response.json()["checks"]["database"]


def test_readyz_is_503_while_a_migration_is_not_applied(db, client, monkeypatch):
    monkeypatch.setattr(health, "_migrated", False)
    monkeypatch.setattr(
        health.MigrationExecutor, "migration_plan", lambda self, targets: [("api", "0002")]
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 migration(s) not applied"


def _metrics(client: Client, **headers: str) -> str:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return response.content.decode()


def _value(text: str, name: str, **labels: str) -> float:
    selector = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.escape(name + (f"{{{selector}}}" if selector else "")) + r" (\S+)"
    match = re.search(r"^" + pattern + r"$", text, re.MULTILINE)
    assert match, f"{name} {labels} not in:\n{text}"
    return float(match.group(1))


def test_metrics_figures(client, owner, sim_channel, workspace):
    raw = do_store_raw_event(sim_channel, sim_body(sim_event("m1")), headers={})
    from tests.api.conftest import conversation_of

    waiting = conversation_of(sim_channel, "w1")
    answered = conversation_of(sim_channel, "w2")
    do_reply(owner, answered, "Merci")
    now = clock.now()
    Conversation.objects.filter(pk=waiting.pk).update(sla_due_at=now + timedelta(minutes=5))
    late = conversation_of(sim_channel, "w3")
    Conversation.objects.filter(pk=late.pk).update(sla_due_at=now - timedelta(minutes=5))
    with clock.at(now + timedelta(seconds=90)):
        text = _metrics(client)
    assert _value(text, "cercle_up") == 1
    assert _value(text, "cercle_ingest_pending_events") == 1
    lag = _value(text, "cercle_ingest_lag_seconds")
    assert lag >= 90 and raw is not None
    assert _value(text, "cercle_outbox_backlog", state="queued", workspace=workspace.slug) == 1
    assert _value(text, "cercle_sla_at_risk_conversations", workspace=workspace.slug) == 1
    assert _value(text, "cercle_sla_breached_conversations", workspace=workspace.slug) == 1
    # The queue depths are counted in test_queue_depth_counts_the_waiting_tasks_of_the_backend.
    assert "# TYPE cercle_task_queue_depth gauge" in text
    assert "# TYPE cercle_ingest_lag_seconds gauge" in text


def test_metrics_empty_installation(client, db):
    text = _metrics(client)
    assert _value(text, "cercle_ingest_lag_seconds") == 0
    assert _value(text, "cercle_task_queue_depth", queue="ingest", state="ready") == 0


def test_metrics_refused_through_a_proxy_or_from_afar(client, db):
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 403


def test_metrics_with_a_token(settings, db):
    settings.CERCLE_METRICS_TOKEN = "scrape-me"
    far = Client(REMOTE_ADDR="203.0.113.9")
    assert far.get("/metrics").status_code == 403
    assert far.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 403
    assert far.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_operator_endpoints_need_no_login_and_keep_the_csp(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_api_docs_page_loads_swagger_from_our_static_files(client, db):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert "default-src 'self'" in response["Content-Security-Policy"]
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "Cercle API" and "/api/v1/conversations" in schema["paths"]


@pytest.mark.django_db(transaction=True)
def test_queue_depth_counts_the_waiting_tasks_of_the_backend(client):
    # Whatever backend the suite runs with: the database queue, or RQ on Redis (CI's RQ step).
    ingest_pending.enqueue()
    ingest_pending.enqueue()
    send_outbox.using(run_after=datetime(2099, 1, 1, tzinfo=UTC)).enqueue()
    text = _metrics(client)
    assert (
        _value(text, "cercle_task_queue_depth", queue="ingest", state="ready"),
        _value(text, "cercle_task_queue_depth", queue="outbox", state="ready"),
        _value(text, "cercle_task_queue_depth", queue="ingest", state="running"),
    ) == (2, 1, 0)
