"""Run a background task worker that outlives database outages: ``manage.py worker``.

The same options as django-tasks-db's ``db_worker`` (queues, interval, --batch...), with
what a production worker needs on top (docs/operations/recovery.md): it waits for the
database at start instead of exiting, rides out outages with back-off, and beside the
loop a housekeeping thread beats its heartbeat and finds work that lost its worker or its
task, so no cron job is needed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from core.housekeeping import worker_housekeeping
from core.startup import freeze_startup_objects
from core.worker import ResilientWorker, database_wait_at_start, new_worker_id


class Command(DbWorkerCommand):
    help = "Run a background task worker (survives database outages; no cron needed)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        if options["exclude_queues"] and "*" not in options["queue_name"].split(","):
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        # db_worker's default id is random; ours says where the worker runs.
        worker_id = options["worker_id"]
        if options["worker_id"] == self._default_worker_id:
            worker_id = new_worker_id("worker")
        if not database_wait_at_start(who=f"worker {worker_id}"):
            raise CommandError("The database did not answer within IZONIE_DB_WAIT_SECONDS.")
        worker = ResilientWorker(
            queue_names=options["queue_name"].split(","),
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=worker_id,
            excluded_queue_names=[q for q in options["exclude_queues"].split(",") if q],
        )
        housekeeping = worker_housekeeping(worker_id=worker_id)
        if not options["batch"]:
            # The first heartbeat is written before the first task is claimed: a worker
            # killed in its first task must still be known, or no other worker would ever
            # see it stop beating and its task would wait for the abandoned-task sweep.
            housekeeping.start(first_tick_now=True)
        worker.configure_signals()
        # Loaded: keep the startup objects out of every full collection (core.startup).
        freeze_startup_objects()
        try:
            worker.run()
        finally:
            housekeeping.stop()

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        self._default_worker_id = parser.get_default("worker_id")
        return parser
