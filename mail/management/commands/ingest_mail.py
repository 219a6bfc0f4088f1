"""Feed raw emails in: ``manage.py ingest_mail FILE...`` or ``-`` for standard input
(a Postfix pipe, or replaying saved .eml files). Exit status 0: stored (processed,
duplicate, ignored or quarantined); 75 (EX_TEMPFAIL): the database could not take it,
deliver again later."""

import sys
from argparse import ArgumentParser
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from core.startup import freeze_startup_objects
from mail.intake import ingest_many

EX_TEMPFAIL = 75  # sysexits.h

# Read and committed together: one commit per batch, memory bounded by its bytes.
BATCH_FILES = 100
BATCH_BYTES = 20 * 1024 * 1024


class Command(BaseCommand):
    help = "Ingest raw RFC 5322 emails from files or standard input."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("files", nargs="+", help="Paths to .eml files, or - for stdin.")

    def handle(self, *args: Any, **options: Any) -> None:
        paths = options["files"]
        # Loaded: keep the startup objects out of every full collection (core.startup).
        freeze_startup_objects()
        counts: dict[str, int] = {}
        done = 0
        for batch in self._batches(paths):
            # One commit per batch; each file is reported once its batch is committed.
            try:
                records = ingest_many((raw for _name, raw in batch), source="command")
            except DatabaseError as exc:
                # Nothing of this batch was stored. EX_TEMPFAIL tells Postfix (and any
                # sysexits-aware caller) to keep the mail and deliver it again later.
                self.stderr.write(f"Not stored, try again later: {exc}")
                sys.exit(EX_TEMPFAIL)
            for (name, _raw), record in zip(batch, records, strict=True):
                done += 1
                counts[record.status] = counts.get(record.status, 0) + 1
                detail = f" ({record.reason})" if record.reason else ""
                self.stdout.write(f"[{done}/{len(paths)}] {name}: {record.status}{detail}")
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        self.stdout.write(self.style.SUCCESS(f"Done: {summary}."))

    @staticmethod
    def _batches(paths: list[str]) -> Iterator[list[tuple[str, bytes]]]:
        batch: list[tuple[str, bytes]] = []
        size = 0
        for name in paths:
            try:
                raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
            except OSError as exc:
                raise CommandError(f"{name}: {exc.strerror}") from exc
            if batch and (len(batch) >= BATCH_FILES or size + len(raw) > BATCH_BYTES):
                yield batch
                batch, size = [], 0
            batch.append((name, raw))
            size += len(raw)
        if batch:
            yield batch
