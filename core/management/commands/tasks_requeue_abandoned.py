"""Queue again background tasks left RUNNING by a worker that died (core.task_recovery).

No cron job is needed: every ``manage.py worker`` and ``serve`` do this by themselves
(heartbeats, core.housekeeping). This command is for an operator who wants it now:
``./manage.py tasks_requeue_abandoned`` (``--older-than SECONDS``, default
``IZONIE_TASK_ABANDONED_AFTER_SECONDS``).
"""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from core.task_recovery import abandoned_after, tasks_requeue_abandoned


class Command(BaseCommand):
    help = "Queue again tasks still RUNNING after --older-than seconds (their worker died)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=None,
            help="seconds (default: the IZONIE_TASK_ABANDONED_AFTER_SECONDS setting)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        seconds = options["older_than"]
        older_than = abandoned_after() if seconds is None else dt.timedelta(seconds=seconds)
        count = tasks_requeue_abandoned(older_than=older_than)
        self.stdout.write(f"Queued {count} abandoned tasks again.")
