"""Liveness, readiness and the Prometheus metrics of a Cercle installation.

- liveness: the process answers (no database);
- readiness: the database answers and every migration is applied;
- metrics: the work waiting in each place (task queue, raw events, outbox) and the
  conversations whose answer is due soon or late, in the Prometheus text format.

Each figure is one aggregate query on an indexed column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Min, Q

from cercle.core import clock, taskqueue
from cercle.inbox.choices import ACTIVE_STATUSES, OUTBOX_OPEN_STATES, OutboxState
from cercle.inbox.models import Conversation, Outbox
from cercle.pipeline.choices import RawEventStatus
from cercle.pipeline.models import RawEvent
from cercle.workflow.actions import DEFAULT_AT_RISK_MINUTES
from cercle.workspaces.models import Workspace

# Once every migration was seen applied, a process need not look again (migrations only
# move forward while it runs; a new release restarts it).
_migrated = False


def database_ok() -> tuple[bool, str]:
    """Whether the database answers a trivial query; and why not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return False, f"database unreachable: {type(exc).__name__}"
    return True, "ok"


def migrations_ok() -> tuple[bool, str]:
    """Whether every migration of every installed app is applied; and how many are not."""
    global _migrated
    if _migrated:
        return True, "ok"
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        return False, f"migrations unknown: {type(exc).__name__}"
    if plan:
        return False, f"{len(plan)} migration(s) not applied"
    _migrated = True
    return True, "ok"


@dataclass
class Metric:
    """One metric family of the text exposition format."""

    name: str
    help: str
    kind: str = "gauge"
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        for labels, value in self.samples:
            yield f"{self.name}{_labels(labels)} {_number(value)}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items())) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def queue_depth() -> Metric:
    metric = Metric(
        "cercle_task_queue_depth",
        "Background tasks waiting (ready, or due later) or running, by queue and state "
        "(the database task backend or RQ).",
    )
    counts = taskqueue.depths()
    if counts is None:
        return metric
    for queue in sorted(set(taskqueue.queue_names()) | {q for q, _s in counts}):
        for state in ("ready", "running"):
            metric.samples.append(({"queue": queue, "state": state}, counts.get((queue, state), 0)))
    return metric


def ingest_lag() -> list[Metric]:
    """How long the oldest raw event has waited for the ingest worker, and how many wait."""
    pending = RawEvent.objects.filter(status=RawEventStatus.PENDING).aggregate(
        oldest=Min("received_at"), n=Count("id")
    )
    oldest = pending["oldest"]
    lag = max(0.0, (clock.now() - oldest).total_seconds()) if oldest else 0.0
    return [
        Metric(
            "cercle_ingest_lag_seconds",
            "Age of the oldest raw event not yet ingested (0 when none waits).",
            samples=[({}, round(lag, 3))],
        ),
        Metric(
            "cercle_ingest_pending_events",
            "Raw events stored and not yet ingested.",
            samples=[({}, pending["n"] or 0)],
        ),
    ]


def outbox_backlog(slugs: dict[int, str]) -> Metric:
    metric = Metric(
        "cercle_outbox_backlog",
        "Replies and moderation actions not yet done on the platforms, by workspace and state.",
    )
    states = [*OUTBOX_OPEN_STATES, OutboxState.SENDING, OutboxState.FAILED]
    rows = (
        Outbox.objects.filter(state__in=states)
        .values("workspace_id", "state")
        .annotate(n=Count("id"))
        .order_by("workspace_id", "state")
    )
    for row in rows:
        metric.samples.append(
            (
                {
                    "workspace": slugs.get(row["workspace_id"], str(row["workspace_id"])),
                    "state": row["state"],
                },
                row["n"],
            )
        )
    return metric


def sla(slugs: dict[int, str]) -> list[Metric]:
    """Conversations waiting whose answer is due soon (at risk) or already late (breached)."""
    now = clock.now()
    lead = timedelta(minutes=DEFAULT_AT_RISK_MINUTES)
    rows = (
        Conversation.objects.filter(
            status__in=ACTIVE_STATUSES,
            waiting_since__isnull=False,
            sla_due_at__isnull=False,
            sla_due_at__lte=now + lead,
        )
        .values("workspace_id")
        .annotate(
            breached=Count("id", filter=Q(sla_due_at__lte=now)),
            total=Count("id"),
        )
        .order_by("workspace_id")
    )
    at_risk = Metric(
        "cercle_sla_at_risk_conversations",
        f"Conversations waiting whose answer is due within {DEFAULT_AT_RISK_MINUTES} minutes.",
    )
    breached = Metric(
        "cercle_sla_breached_conversations",
        "Conversations waiting whose answer is overdue.",
    )
    for row in rows:
        labels = {"workspace": slugs.get(row["workspace_id"], str(row["workspace_id"]))}
        at_risk.samples.append((labels, row["total"] - row["breached"]))
        breached.samples.append((labels, row["breached"]))
    return [at_risk, breached]


def exposition() -> str:
    """Every metric, in the Prometheus text exposition format (version 0.0.4)."""
    slugs = dict(Workspace.objects.values_list("pk", "slug"))
    families = [
        Metric("cercle_up", "1 while this process answers.", samples=[({}, 1)]),
        queue_depth(),
        *ingest_lag(),
        outbox_backlog(slugs),
        *sla(slugs),
    ]
    return "\n".join(line for family in families for line in family.render()) + "\n"
