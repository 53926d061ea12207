"""What the task queue holds, whatever the backend (the database queue or RQ on Redis).

The scheduler and `enqueue_once` ask two questions: is a run of this drain
already waiting, and is a task of this queue running now. Each backend answers
from its own store: the database backend from its task rows, RQ from its Redis
queues and started-job registries. Another backend answers "no" (a drain may
then be enqueued twice, which costs an empty run, never lost work).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django_tasks import TaskResultStatus
from django_tasks.base import Task

logger = logging.getLogger(__name__)

DATABASE = "database"
RQ = "rq"


def backend_kind() -> str:
    """ "database", "rq", or the backend's dotted path."""
    path = str(settings.TASKS["default"]["BACKEND"])
    if path.startswith("django_tasks_db."):
        return DATABASE
    if path.startswith("django_tasks_rq."):
        return RQ
    return path


def queue_names() -> list[str]:
    return [str(q) for q in settings.TASKS["default"].get("QUEUES", ["default"])]


def depths() -> dict[tuple[str, str], int] | None:
    """How many tasks wait ("ready", including those due later) or run ("running"), by queue.

    From the database backend's task rows, or RQ's queues and registries (waiting:
    the queue and its scheduled jobs; running: its started jobs). None for another
    backend, or while Redis cannot be reached.
    """
    kind = backend_kind()
    if kind == DATABASE:
        from django.db.models import Count
        from django_tasks_db.models import DBTaskResult

        states = {
            str(TaskResultStatus.READY.value): "ready",
            str(TaskResultStatus.RUNNING.value): "running",
        }
        rows = (
            DBTaskResult.objects.filter(status__in=list(states))
            .values("queue_name", "status")
            .annotate(n=Count("id"))
        )
        return {(row["queue_name"], states[row["status"]]): row["n"] for row in rows}
    if kind == RQ:
        import django_rq
        from redis.exceptions import RedisError
        from rq.registry import ScheduledJobRegistry, StartedJobRegistry

        found: dict[tuple[str, str], int] = {}
        try:
            for name in queue_names():
                queue = django_rq.get_queue(name)
                scheduled = ScheduledJobRegistry(queue=queue).count  # type: ignore[no-untyped-call]
                found[(name, "ready")] = queue.count + scheduled
                found[(name, "running")] = StartedJobRegistry(queue=queue).count
        except RedisError as exc:
            logger.warning("task queue depth unknown: Redis unreachable (%s)", exc)
            return None
        return found
    return None


def is_waiting(task: Task[Any, Any]) -> bool:
    """Whether a run of `task` is queued and not started yet."""
    kind = backend_kind()
    if kind == DATABASE:
        from django_tasks_db.models import DBTaskResult

        return (
            DBTaskResult.objects.ready()
            .filter(backend_name=task.backend, task_path=task.module_path)
            .exists()
        )
    if kind == RQ:
        import django_rq

        queue = django_rq.get_queue(task.queue_name)
        return any(job.func_name == task.module_path for job in queue.get_jobs())
    return False


def is_running(queue_name: str, since: datetime) -> bool:
    """Whether a task of `queue_name` started at or after `since` is running now."""
    kind = backend_kind()
    if kind == DATABASE:
        from django_tasks_db.models import DBTaskResult

        return DBTaskResult.objects.filter(
            queue_name=queue_name, status=TaskResultStatus.RUNNING, started_at__gte=since
        ).exists()
    if kind == RQ:
        import django_rq
        from rq.registry import StartedJobRegistry

        queue = django_rq.get_queue(queue_name)
        registry = StartedJobRegistry(queue=queue)
        for job in queue.job_class.fetch_many(registry.get_job_ids(), connection=queue.connection):
            if job is not None and job.started_at is not None and job.started_at >= since:
                return True
        return False
    return False


def calls_in_hand(task: Task[Any, Any], running_since: datetime) -> list[list[Any]]:
    """The positional arguments of each run of `task` waiting (whenever due) or running.

    A run counts as running only if it started at or after `running_since`: one
    started earlier is presumed cut off with its worker (a SIGKILL leaves the
    database backend's row RUNNING; RQ moves such a job to its failed registry).
    Another backend answers [] (the caller may then enqueue a duplicate run).
    """
    kind = backend_kind()
    if kind == DATABASE:
        from django.db.models import Q
        from django_tasks_db.models import DBTaskResult

        rows = DBTaskResult.objects.filter(
            backend_name=task.backend, task_path=task.module_path
        ).filter(
            Q(status=TaskResultStatus.READY)
            | Q(status=TaskResultStatus.RUNNING, started_at__gte=running_since)
        )
        return [list(row["args"]) for row in rows.values_list("args_kwargs", flat=True)]
    if kind == RQ:
        import django_rq
        from rq.registry import ScheduledJobRegistry, StartedJobRegistry

        queue = django_rq.get_queue(task.queue_name)
        ids = set(queue.get_job_ids())
        ids |= set(ScheduledJobRegistry(queue=queue).get_job_ids())  # type: ignore[no-untyped-call]
        started = set(StartedJobRegistry(queue=queue).get_job_ids())
        found: list[list[Any]] = []
        jobs = queue.job_class.fetch_many(list(ids | started), connection=queue.connection)
        for job in jobs:
            if job is None or job.func_name != task.module_path:
                continue
            cut_off = job.started_at is None or job.started_at < running_since
            if job.id in started and job.id not in ids and cut_off:
                continue
            found.append(list(job.args))
        return found
    return []
