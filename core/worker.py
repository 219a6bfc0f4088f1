"""The background worker: the django-tasks-db worker loop, in a thread or a process,
made to outlive database outages (core.resilience) and to keep house beside it
(core.housekeeping: heartbeats, abandoned tasks, lost follow-up work)."""

from __future__ import annotations

import logging
import os
import socket
import threading

from django.conf import settings
from django_tasks_db.management.commands.db_worker import Worker

from core.resilience import OUTAGE_ERRORS, drop_connection, outage_log, wait_for_database

logger = logging.getLogger(__name__)


def new_worker_id(prefix: str) -> str:
    """Unique across the pool (django-tasks-db requires it) and readable in the task
    table: which host and process ran a task."""
    return f"{prefix}-{socket.gethostname()}-{os.getpid()}"[:64]


class ResilientWorker(Worker):
    """django-tasks-db's worker loop, which a database outage does not end.

    The loop it runs raises out on the first failed poll; here the outage is logged once,
    waited out with back-off and jitter, and the loop starts again. A task that was
    running when the database went away cannot record its end: it is queued again (all
    tasks here take ids and check the state they act on, so a second run is safe).
    """

    def run(self) -> None:
        while self.running:
            try:
                super().run()
                return  # --batch or --max-tasks: the loop ended by itself
            except OUTAGE_ERRORS as exc:
                outage_log.failed(exc, who=f"worker {self.worker_id}")
                drop_connection()
                self.startup_delay = False
                back = wait_for_database(
                    who=f"worker {self.worker_id}", timeout=None, should_stop=self._stopping
                )
                if not back:
                    return
                self._requeue_own_running()

    def _stopping(self) -> bool:
        return not self.running

    def _requeue_own_running(self) -> None:
        from core.task_recovery import tasks_requeue_of_worker

        try:
            tasks_requeue_of_worker(worker_id=self.worker_id)
        except OUTAGE_ERRORS as exc:
            # Gone again already: the next poll fails and this runs once more.
            outage_log.failed(exc, who=f"worker {self.worker_id}")


def make_worker(*, worker_id: str, interval: float = 0.5) -> ResilientWorker:
    return ResilientWorker(
        queue_names=["*"],
        interval=interval,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )


class InProcessWorker:
    """Runs the task worker in a daemon thread beside the web server (embedded default).

    At scale, run ``manage.py worker`` processes instead and start the web
    process with ``serve --no-worker``.
    """

    def __init__(self, *, worker_id: str | None = None) -> None:
        self.worker = make_worker(worker_id=worker_id or new_worker_id("serve"))
        self.thread = threading.Thread(target=self._run, name="task-worker", daemon=True)

    def _run(self) -> None:
        try:
            self.worker.run()
        except Exception:
            logger.exception("The in-process task worker stopped")

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.worker.running = False


def database_wait_at_start(*, who: str) -> bool:
    """Wait (IZONIE_DB_WAIT_SECONDS at most) for the database before a process starts
    its work, instead of exiting at once and being restarted in a loop by its
    supervisor while the database comes up."""
    return wait_for_database(who=who, timeout=settings.IZONIE_DB_WAIT_SECONDS)
