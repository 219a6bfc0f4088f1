"""Tasks that a dead worker left RUNNING are queued again.

django-tasks-db marks a task RUNNING when a worker claims it and SUCCESSFUL or FAILED when
it ends. A worker killed in between (out of memory, a deploy, a power cut) leaves the row
RUNNING for ever and the task never runs again: an SLA timer that never records its
breach, an agent's reply that is neither sent nor shown as failed. Every task here takes
ids and checks the state it acts on, so running one twice is safe. Each worker beats a
heartbeat (core.models.WorkerHeartbeat); a task RUNNING on a worker that stopped beating
for IZONIE_WORKER_DEAD_AFTER_SECONDS is put back in the queue, and one RUNNING on a worker
that never beat, long after any task could take.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket

from django.conf import settings
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from core.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def abandoned_after() -> dt.timedelta:
    return dt.timedelta(seconds=settings.IZONIE_TASK_ABANDONED_AFTER_SECONDS)


def tasks_requeue_abandoned(*, older_than: dt.timedelta) -> int:
    """Queue again every task RUNNING since before ``older_than`` ago. Returns how many."""
    cutoff = timezone.now() - older_than
    abandoned = list(
        DBTaskResult.objects.running()
        .filter(started_at__lt=cutoff)
        .values_list("pk", "task_path", "worker_ids")
    )
    if not abandoned:
        return 0
    # The status is checked again in the UPDATE: a task that ended meanwhile stays ended.
    requeued = DBTaskResult.objects.filter(
        pk__in=[pk for pk, _path, _workers in abandoned], status=TaskResultStatus.RUNNING
    ).update(status=TaskResultStatus.READY, started_at=None)
    for pk, path, workers in abandoned:
        logger.warning(
            "Task %s (%s) was still running on worker %s after %s: queued again",
            pk,
            path,
            workers[-1] if workers else "?",
            older_than,
        )
    return requeued


def tasks_requeue_of_worker(*, worker_id: str) -> int:
    """Queue again the tasks RUNNING on ``worker_id``, said by that worker itself when it
    is between tasks: whatever it still holds was cut off (the database went away while
    the task ran, so its end was never recorded)."""
    running = DBTaskResult.objects.running().values_list("pk", "worker_ids")
    mine = [pk for pk, workers in running if workers and workers[-1] == worker_id]
    if not mine:
        return 0
    requeued = DBTaskResult.objects.filter(pk__in=mine, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.READY, started_at=None
    )
    logger.warning("Worker %s queued again %s task(s) cut off by an outage", worker_id, requeued)
    return requeued


def live_task_ids(*, task_path: str, key: str) -> set[object]:
    """The ``key`` argument of every task of ``task_path`` still to run or running: what
    already has its task, for the sweeps that look for work that lost its own."""
    live = DBTaskResult.objects.filter(
        task_path=task_path, status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
    ).values_list("args_kwargs", flat=True)
    return {args_kwargs["kwargs"].get(key) for args_kwargs in live}


# --- Heartbeats: a task whose worker stopped beating is queued again within a minute.


def worker_beat(*, worker_id: str) -> None:
    """Record that ``worker_id`` is alive (its housekeeping thread calls this every
    IZONIE_WORKER_HEARTBEAT_SECONDS, also while the worker runs a long task)."""
    now = timezone.now()
    updated = WorkerHeartbeat.objects.filter(worker_id=worker_id).update(beat_at=now)
    if not updated:
        WorkerHeartbeat.objects.update_or_create(
            worker_id=worker_id,
            defaults={
                "beat_at": now,
                "started_at": now,
                "host": socket.gethostname()[:255],
                "pid": os.getpid(),
            },
        )


def tasks_requeue_of_dead_workers(*, dead_after: dt.timedelta | None = None) -> int:
    """Queue again every task RUNNING on a worker whose last heartbeat is older than
    ``dead_after`` (IZONIE_WORKER_DEAD_AFTER_SECONDS). Tasks of workers that never beat
    (django-tasks-db's own ``db_worker``) are left to ``tasks_requeue_abandoned``."""
    if dead_after is None:
        dead_after = dt.timedelta(seconds=settings.IZONIE_WORKER_DEAD_AFTER_SECONDS)
    running = list(DBTaskResult.objects.running().values_list("pk", "task_path", "worker_ids"))
    if not running:
        return 0
    last_worker = {pk: workers[-1] for pk, _path, workers in running if workers}
    dead = set(
        WorkerHeartbeat.objects.filter(
            worker_id__in=set(last_worker.values()), beat_at__lt=timezone.now() - dead_after
        ).values_list("worker_id", flat=True)
    )
    orphaned = [(pk, path) for pk, path, _workers in running if last_worker.get(pk) in dead]
    if not orphaned:
        return 0
    # The status is checked again in the UPDATE: a task that ended meanwhile stays ended.
    requeued = DBTaskResult.objects.filter(
        pk__in=[pk for pk, _path in orphaned], status=TaskResultStatus.RUNNING
    ).update(status=TaskResultStatus.READY, started_at=None)
    for pk, path in orphaned:
        logger.warning(
            "Task %s (%s) lost its worker %s (no heartbeat for %s): queued again",
            pk,
            path,
            last_worker[pk],
            dead_after,
        )
    return requeued


def heartbeats_forget_old(*, older_than: dt.timedelta = dt.timedelta(days=7)) -> int:
    """Drop the rows of workers gone for a week (each process start adds one)."""
    deleted, _ = WorkerHeartbeat.objects.filter(beat_at__lt=timezone.now() - older_than).delete()
    return deleted
