"""The background worker: the django-tasks-db worker loop, in a thread or a process."""

from __future__ import annotations

import logging
import threading

from django_tasks_db.management.commands.db_worker import Worker

logger = logging.getLogger(__name__)


def make_worker(*, worker_id: str, interval: float = 0.5) -> Worker:
    return Worker(
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

    At scale, run ``manage.py db_worker`` processes instead and start the web
    process with ``serve --no-worker``.
    """

    def __init__(self) -> None:
        self.worker = make_worker(worker_id="in-process")
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
