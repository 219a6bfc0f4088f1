"""``manage.py backup [FILE]``: the database and the stored files in one ``.tar`` (core.backup)."""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the database and the stored files (attachments, images) with a manifest."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "output",
            nargs="?",
            help="the .tar file to write (default: var/backups/izonie-YYYYmmdd-HHMMSS.tar)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        output = Path(
            options["output"] or Path(settings.VAR_DIR) / "backups" / f"izonie-{stamp}.tar"
        )
        try:
            manifest = backup_create(output=output, progress=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        for name in manifest["files_missing_at_backup"]:
            self.stderr.write(f"Referenced but missing when backed up: {name}")
