"""Queue again webhook deliveries left unprocessed (a worker died while on them).

Workers and serve do this by themselves every minute (core.sweeper), so no cron job is
needed; this command is for an operator who wants it now. Processing is idempotent:
``./manage.py social_requeue --older-than 300``.
"""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from social.services import delivery_requeue_stale


class Command(BaseCommand):
    help = "Queue again social webhook deliveries still unprocessed after --older-than seconds."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--older-than", type=int, default=300, help="seconds (default 300)")

    def handle(self, *args: Any, **options: Any) -> None:
        count = delivery_requeue_stale(older_than=dt.timedelta(seconds=options["older_than"]))
        self.stdout.write(f"Queued {count} unprocessed deliveries again.")
