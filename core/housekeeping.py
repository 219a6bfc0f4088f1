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

    def start(self, *, first_tick_now: bool = False) -> None:
        """Start the thread; with ``first_tick_now`` the jobs run once in the caller
        first, so the heartbeat exists before the worker claims a task."""
        if first_tick_now:
            self.tick()
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()


def worker_housekeeping(*, worker_id: str) -> Housekeeping:
    """Everything a worker process (or serve's in-process worker) does beside its task
    loop, so that no cron job is needed:

    - beat its heartbeat, and queue again the tasks of workers that stopped beating
      (every IZONIE_WORKER_HEARTBEAT_SECONDS);
    - queue again tasks RUNNING for IZONIE_TASK_ABANDONED_AFTER_SECONDS on workers that
      never beat (django-tasks-db's plain db_worker), every minute;
    - sweep for follow-up work that lost its task (IZONIE_SWEEP_EVERY_SECONDS);
    - offer again the chats left waiting, and take back offers whose timer was lost
      (IZONIE_CHAT_REOFFER_SECONDS);
    - forget expired Idempotency-Key answers and old heartbeats, hourly.
    """
    from chat.services import chat_offers_sweep
    from core.idempotency import idempotency_purge_expired
    from core.sweeper import follow_up_sweep
    from core.task_recovery import (
        abandoned_after,
        heartbeats_forget_old,
        tasks_requeue_abandoned,
        tasks_requeue_of_dead_workers,
        worker_beat,
    )

    housekeeping = Housekeeping(worker_id=worker_id)
    beat = settings.IZONIE_WORKER_HEARTBEAT_SECONDS
    housekeeping.every(beat, lambda: worker_beat(worker_id=worker_id))
    housekeeping.every(beat, tasks_requeue_of_dead_workers)
    housekeeping.every(60, lambda: tasks_requeue_abandoned(older_than=abandoned_after()))
    housekeeping.every(settings.IZONIE_SWEEP_EVERY_SECONDS, follow_up_sweep)
    housekeeping.every(settings.IZONIE_CHAT_REOFFER_SECONDS, chat_offers_sweep)
    housekeeping.every(3600, idempotency_purge_expired)
    housekeeping.every(3600, heartbeats_forget_old)
    return housekeeping
