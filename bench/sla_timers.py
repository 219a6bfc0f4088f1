"""SLA timer cost grows with the deadlines falling due, not with the open tickets.

    .venv/bin/python bench/sla_timers.py                  # 10,000 and 1,000,000 tickets
    .venv/bin/python bench/sla_timers.py --sizes 10000

For each size (its own PostgreSQL database, generated once by bench/generate.py, shared
with bench/foundation.py), 1,000 running clocks whose warning moments have just passed
get their timer tasks enqueued, then the worker's own task runner processes them.
Printed: seconds to process the 1,000 timers and timers per second, beside the number
of tickets in the database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, django_setup, prepare_dataset, use_database

DUE = 1_000


def _child(size: int) -> None:
    use_database(f"izonie_bench_{size}")
    django_setup()
    from django_tasks_db.models import DBTaskResult

    from core.worker import make_worker
    from sla.models import SlaClock
    from sla.services import MOMENT_FIELDS
    from sla.tasks import sla_clock_fire
    from tickets.models import Ticket

    prepare_dataset(size)
    SlaClock.objects.all().delete()
    DBTaskResult.objects.all().delete()
    now = dt.datetime.now(dt.UTC)
    ticket_ids = list(
        Ticket.objects.filter(status__in=["new", "open"])
        .order_by("?")
        .values_list("pk", flat=True)[:DUE]
    )
    clocks = SlaClock.objects.bulk_create(
        SlaClock(
            ticket_id=ticket_id,
            target_id="email_first_reply",
            measure="first_reply",
            business=False,
            target_seconds=86400,
            breach_seconds=86400,
            warn_fraction=0.8,
            status="running",
            started_at=now - dt.timedelta(hours=19, minutes=12),
            segment_started_at=now - dt.timedelta(hours=19, minutes=12),
            warn_at=now - dt.timedelta(seconds=30),
            due_at=now + dt.timedelta(hours=4, minutes=48),
            breach_at=now + dt.timedelta(hours=4, minutes=48),
        )
        for ticket_id in ticket_ids
    )
    for clock in clocks:
        sla_clock_fire.using(run_after=clock.warn_at).enqueue(
            clock_id=clock.pk,
            moment="warn",
            expected_at=getattr(clock, MOMENT_FIELDS["warn"]).isoformat(),
        )
    worker = make_worker(worker_id="bench", interval=0)
    start = time.perf_counter()
    ran = 0
    while True:
        result = DBTaskResult.objects.ready().filter(task_path__endswith="sla_clock_fire").first()
        if result is None:
            break
        result.claim(worker.worker_id)
        worker.run_task(result)
        ran += 1
    elapsed = time.perf_counter() - start
    warned = SlaClock.objects.filter(warned_at__isnull=False).count()
    open_tickets = Ticket.objects.filter(status__in=["new", "open", "on_hold", "pending"]).count()
    SlaClock.objects.all().delete()
    DBTaskResult.objects.all().delete()
    print(
        json.dumps(
            {
                "tickets": Ticket.objects.count(),
                "open": open_tickets,
                "timers": ran,
                "warned": warned,
                "seconds": round(elapsed, 2),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    print("| tickets in the database | open tickets | timers due | processed in | per second |")
    print("|---|---|---|---|---|")
    for size in args.sizes:
        output = subprocess.run(
            [sys.executable, __file__, "--child", str(size)],
            cwd=ROOT,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        row = json.loads(output.strip().splitlines()[-1])
        assert row["warned"] == row["timers"] == DUE, row
        print(
            f"| {row['tickets']:,} | {row['open']:,} | {row['timers']:,} | "
            f"{row['seconds']} s | {row['timers'] / row['seconds']:,.0f} |"
        )


if __name__ == "__main__":
    main()
