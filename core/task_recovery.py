"""Tasks that a dead worker left RUNNING are queued again.

django-tasks-db marks a task RUNNING when a worker claims it and SUCCESSFUL or FAILED when
it ends. A worker killed in between (out of memory, a deploy, a power cut) leaves the row
RUNNING for ever and the task never runs again: an SLA timer that never records its
breach, an agent's reply that is neither sent nor shown as failed. Every task here takes
ids and checks the state it acts on, so running one twice is safe; a task still RUNNING
long after any task could take is put back in the queue.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

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
