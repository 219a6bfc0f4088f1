"""Feed raw emails in: ``manage.py ingest_mail FILE...`` or ``-`` for standard input
(a Postfix pipe, or replaying saved .eml files)."""

import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mail.intake import ingest_raw


class Command(BaseCommand):
    help = "Ingest raw RFC 5322 emails from files or standard input."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("files", nargs="+", help="Paths to .eml files, or - for stdin.")

    def handle(self, *args: Any, **options: Any) -> None:
        paths = options["files"]
        counts: dict[str, int] = {}
        for index, name in enumerate(paths, start=1):
            try:
                raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
            except OSError as exc:
                raise CommandError(f"{name}: {exc.strerror}") from exc
            record = ingest_raw(raw=raw, source="command")
            counts[record.status] = counts.get(record.status, 0) + 1
            detail = f" ({record.reason})" if record.reason else ""
            self.stdout.write(f"[{index}/{len(paths)}] {name}: {record.status}{detail}")
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        self.stdout.write(self.style.SUCCESS(f"Done: {summary}."))
