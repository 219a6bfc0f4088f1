"""Task rows for a whole batch in one INSERT.

``task.enqueue`` writes one ``DBTaskResult`` row per call; a batch of 100 new tickets
schedules about 200 tasks (SLA timers, outbox deliveries), which would be 200 INSERTs
after the commit. ``tasks_enqueue_many`` writes the same rows in one statement when the
database backend is in use, and falls back to ``enqueue`` per task otherwise (the test
backends, a future broker). Rows are what ``DatabaseBackend.enqueue`` would write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django_tasks import task_backends
from django_tasks.base import Task


@dataclass(frozen=True)
class PlannedTask:
    """One call to enqueue: the task, its keyword arguments and when it may run."""

    task: Task[Any, Any]
    kwargs: dict[str, Any]
    run_after: dt.datetime | None = None


def tasks_enqueue_many(planned: Sequence[PlannedTask]) -> None:
    """Enqueue every planned task; one INSERT on the database backend."""
    from django_tasks.utils import normalize_json
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult, get_date_max

    if not planned:
        return
    rows: list[DBTaskResult] = []
    for item in planned:
        task = item.task.using(run_after=item.run_after) if item.run_after else item.task
        backend = task_backends[task.backend]
        if not isinstance(backend, DatabaseBackend):
            task.enqueue(**item.kwargs)
            continue
        backend.validate_task(task)
        rows.append(
            DBTaskResult(
                id=backend._get_id(),
                args_kwargs=normalize_json({"args": [], "kwargs": item.kwargs}),
                priority=task.priority,
                task_path=task.module_path,
                queue_name=task.queue_name,
                run_after=task.run_after or get_date_max(),
                backend_name=backend.alias,
            )
        )
    if rows:
        DBTaskResult.objects.bulk_create(rows)
