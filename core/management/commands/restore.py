"""``manage.py restore FILE``: put a backup made by ``backup`` into an empty installation."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = "Restore a backup (database and stored files) into an empty installation."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("backup", help="a .tar file written by ./manage.py backup")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = backup_restore(source=Path(options["backup"]), progress=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        for name in report.files_missing:
            self.stderr.write(f"Missing from the backup (restored everything else): {name}")
        for name in report.files_damaged:
            self.stderr.write(f"Damaged in the backup (checksum differs), not restored: {name}")
        for label, (expected, found) in sorted(report.count_mismatches.items()):
            self.stderr.write(f"{label}: {expected} rows in the backup, {found} restored")
        verdict = "Restored" if not report.count_mismatches else "Restored with differences"
        self.stdout.write(
            f"{verdict}: {report.tables} tables, {report.files_restored:,} files, "
            f"{len(report.files_missing)} missing, {len(report.files_damaged)} damaged."
        )
        if report.count_mismatches:
            raise CommandError("Row counts differ from the backup's manifest (listed above).")
