"""Read the support mailbox over IMAP until stopped: ``manage.py fetch_mail``.

IDLE when the server offers it, polling otherwise; reconnects with back-off after a
drop. Settings come from IZONIE_IMAP_* (config/settings.py); options override them.
"""

import signal
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from core.startup import freeze_startup_objects
from core.worker import database_wait_at_start
from mail.imap import Backoff, ImapFetcher, ImapSettings
from mail.models import InboundEmail


class Command(BaseCommand):
    help = "Fetch the support mailbox over IMAP into tickets, until stopped."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host")
        parser.add_argument("--port", type=int)
        parser.add_argument("--user", dest="username")
        parser.add_argument("--folder")
        parser.add_argument("--processed-folder", dest="processed_folder")
        parser.add_argument("--no-ssl", dest="use_ssl", action="store_false", default=None)
        parser.add_argument(
            "--idle-seconds",
            type=float,
            default=30.0,
            help="Re-issue IDLE (or poll) this often; a stop request waits at most this long.",
        )
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        overrides = {
            key: options[key]
            for key in ("host", "port", "username", "folder", "processed_folder", "use_ssl")
        }
        config = ImapSettings.from_django(**overrides)
        if not config.host or not config.username:
            raise CommandError("Set IZONIE_IMAP_HOST and IZONIE_IMAP_USER (or --host/--user).")
        if not database_wait_at_start(who=f"IMAP {config.mailbox_key}"):
            raise CommandError("The database did not answer within IZONIE_DB_WAIT_SECONDS.")
        fetcher = ImapFetcher(config, backoff=Backoff(first=1.0, longest=300.0))
        # Loaded: keep the startup objects out of every full collection (core.startup).
        freeze_startup_objects()
        if options["once"]:
            try:
                self._report(fetcher.fetch_new())
            finally:
                fetcher.disconnect()
            return
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True
            self.stdout.write("Stopping after the current step...")

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"Fetching {config.mailbox_key}; Ctrl-C or SIGTERM stops.")
        fetcher.run(
            should_stop=lambda: stopping,
            idle_seconds=options["idle_seconds"],
            on_records=self._report,
            # A long-running process: drop database connections that went stale.
            between_passes=close_old_connections,
        )

    def _report(self, records: list[InboundEmail]) -> None:
        for record in records:
            detail = f" ({record.reason})" if record.reason else ""
            self.stdout.write(f"{record.pk}: {record.status}{detail}")
