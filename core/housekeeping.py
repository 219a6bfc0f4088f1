"""A daemon thread beside each task worker (a ``worker`` process, or serve's in-process
worker) that keeps the queue honest without cron: it finds tasks abandoned by a worker
that died, and outlives database outages like the worker itself (core.resilience)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections

from core.resilience import OUTAGE_ERRORS, drop_connection, outage_log

logger = logging.getLogger(__name__)


class Housekeeping:
    def __init__(self, *, worker_id: str, every_seconds: float | None = None) -> None:
        self.worker_id = worker_id
        self.every_seconds = (
            settings.IZONIE_WORKER_HEARTBEAT_SECONDS if every_seconds is None else every_seconds
        )
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="housekeeping", daemon=True)
        # (job, every seconds, next run on the monotonic clock)
        self.jobs: list[tuple[Callable[[], object], float]] = []
        self._next: list[float] = []

    def every(self, seconds: float, job: Callable[[], object]) -> None:
        self.jobs.append((job, seconds))
        self._next.append(0.0)  # each job runs once at start

    def tick(self) -> None:
        """Run the jobs that are due. One job failing does not stop the others."""
        for index, (job, seconds) in enumerate(self.jobs):
            now = time.monotonic()
            if now < self._next[index]:
                continue
            self._next[index] = now + seconds
            try:
                job()
                outage_log.recovered()
            except OUTAGE_ERRORS as exc:
                outage_log.failed(exc, who="housekeeping")
                drop_connection()
                self._next[index] = 0.0  # due again as soon as the database is back
            except Exception:
                logger.exception("Housekeeping job %s failed; trying again later", job)

    def _run(self) -> None:
        while not self.stopped.is_set():
            self.tick()
            try:
                close_old_connections()
            except OUTAGE_ERRORS:
                drop_connection()
            self.stopped.wait(self.every_seconds)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
