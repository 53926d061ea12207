"""What the task queue holds, whatever the backend (the database queue or RQ on Redis).

The scheduler and `enqueue_once` ask two questions: is a run of this drain
already waiting, and is a task of this queue running now. Each backend answers
from its own store: the database backend from its task rows, RQ from its Redis
queues and started-job registries. Another backend answers "no" (a drain may
then be enqueued twice, which costs an empty run, never lost work).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django_tasks import TaskResultStatus
from django_tasks.base import Task

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
