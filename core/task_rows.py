"""Task rows for a whole batch in one INSERT.

``task.enqueue`` writes one ``DBTaskResult`` row per call; a batch of 100 new tickets
schedules about 200 tasks (SLA timers, outbox deliveries), which would be 200 INSERTs.
``tasks_enqueue_many`` writes the same rows in one statement when the database backend is
in use, and falls back to ``enqueue`` per task otherwise (the test backends, a future
broker). Rows are what ``DatabaseBackend.enqueue`` would write.

``tasks_enqueue_with_transaction`` writes the database backend's rows inside the caller's
transaction instead of after it: they are invisible to the workers until the commit, gone
with a rollback, and committed with the work they follow up, so no crash can fall between
the two (the transactional outbox). That saves the write path a second transaction per
batch (on SQLite, a second WAL commit). Tasks of any other backend, which would run or be
sent at once, are still enqueued on commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import transaction
from django_tasks import task_backends
from django_tasks.base import Task

from core.rows_insert import rows_insert


@dataclass(frozen=True)
class PlannedTask:
    """One call to enqueue: the task, its keyword arguments and when it may run."""

    task: Task[Any, Any]
    kwargs: dict[str, Any]
    run_after: dt.datetime | None = None


def tasks_enqueue_many(planned: Sequence[PlannedTask]) -> None:
    """Enqueue every planned task; one INSERT on the database backend."""

    rows, others = _rows(planned)
    for item in others:
        _task(item).enqueue(**item.kwargs)
    if rows:
        rows_insert(rows)


def tasks_enqueue_with_transaction(planned: Sequence[PlannedTask]) -> None:
    """Enqueue every planned task so that it commits with the current transaction: the
    database backend's rows in one INSERT now, the other backends' tasks on commit."""

    rows, others = _rows(planned)
    if rows:
        rows_insert(rows)
    if others:
        transaction.on_commit(partial(tasks_enqueue_many, others))


def _task(item: PlannedTask) -> Task[Any, Any]:
    return item.task.using(run_after=item.run_after) if item.run_after else item.task


def _rows(planned: Sequence[PlannedTask]) -> tuple[list[Any], list[PlannedTask]]:
    """The rows the database backend would write for ``planned``, and the tasks of any
    other backend (or of a database backend on another database than the default).

    Each task (with or without a run-after time) is checked by its backend once per call,
    not once per row: a batch of 100 tickets plans 200 rows of two tasks."""
    from django.db import DEFAULT_DB_ALIAS, router
    from django.utils import timezone
    from django_tasks.utils import normalize_json
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult, get_date_max

    rows: list[DBTaskResult] = []
    others: list[PlannedTask] = []
    same_database = router.db_for_write(DBTaskResult) == DEFAULT_DB_ALIAS
    checked: dict[tuple[int, bool | None], DatabaseBackend | None] = {}
    date_max = get_date_max()
    for item in planned:
        # None: no run-after time; True: an aware one (checked once); False: a naive one,
        # which the backend checks each time (it refuses it).
        aware = None if item.run_after is None else timezone.is_aware(item.run_after)
        key = (id(item.task), aware)
        if key not in checked or aware is False:
            task = _task(item)
            found = task_backends[task.backend]
            if isinstance(found, DatabaseBackend) and same_database:
                found.validate_task(task)
                checked[key] = found
            else:
                checked[key] = None
        backend = checked[key]
        if backend is None:
            others.append(item)
            continue
        task = item.task
        rows.append(
            DBTaskResult(
                id=backend._get_id(),
                args_kwargs=normalize_json({"args": [], "kwargs": item.kwargs}),
                priority=task.priority,
                task_path=task.module_path,
                queue_name=task.queue_name,
                run_after=item.run_after or task.run_after or date_max,
                backend_name=backend.alias,
            )
        )
    return rows, others
