"""./manage.py reports_rebuild [--from YYYY-MM-DD] [--to YYYY-MM-DD]"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from reports import rollups


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = (
        "Recompute the reports' daily rollups from tickets and events, for every day with "
        "data or for --from/--to (days in the support team's time zone)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="first", help="first day (default: first ticket)")
        parser.add_argument("--to", dest="last", help="last day (default: today)")
        parser.add_argument("--chunk-days", type=int, default=31, help="days per transaction")

    def handle(self, *args: Any, first: str | None, last: str | None, **options: Any) -> None:
        start, end = (_date(first) if first else None), (_date(last) if last else None)
        span = rollups.data_span()
        if span is None and (start is None or end is None):
            self.stdout.write("No tickets yet: nothing to rebuild.")
            return
        start = start or span[0]  # type: ignore[index]
        end = end or span[1]  # type: ignore[index]
        if end < start:
            raise CommandError(f"--to {end} is before --from {start}")
        total = (end - start).days + 1
        began = time.perf_counter()
        # tqdm writes straight to the command's error stream: OutputWrapper would end every
        # carriage-return update with a newline.
        progress_stream = self.stderr._out
        with tqdm(total=total, unit="day", desc="Rebuilding rollups", file=progress_stream) as bar:
            rollups.rebuild_range(
                first=start, last=end, chunk_days=options["chunk_days"], progress=bar.update
            )
        rollups.refresh_dirty()  # what changed meanwhile
        self.stdout.write(
            f"Rebuilt {total:,} days ({start} to {end}) in {time.perf_counter() - began:.1f} s."
        )
