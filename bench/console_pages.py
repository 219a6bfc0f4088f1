"""The console pages bench.day's agents open, one at a time: CPU and SQL statements per page.

    .venv/bin/python -m bench.console_pages            # 5,000 tickets, 60 agents, 3 rounds
    .venv/bin/python -m bench.console_pages --fresh    # generate the database again

In ``bench.day`` the web processes' Python time goes mostly to two pages and the chat
desk; this measures the two pages alone, through Django's test client in this process,
on a PostgreSQL database shaped as ``bench.day``'s (``izonie_bench_console_pages``: 5,000
generated tickets, made once and reused; ``--fresh`` makes it again). Each of ``--agents``
agents opens the inbox and then a ticket, for ``--rounds`` rounds (the first is a warm-up
and not counted). As in ``bench.day``, where each agent comes back to the inbox after
its 30-s cache of its own counts has expired, each agent's own inbox counts are dropped
before its inbox page; the counts every agent shares stay cached. Prints per page: CPU
ms p50/p95 of this process (the database's own time is not in it) and statements per
page, with the data size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import BENCH_PG, percentile  # noqa: E402

DB_NAME = "izonie_bench_console_pages"
TICKETS = 5000


def _database(fresh: bool) -> None:
    import psycopg

    with psycopg.connect(f"{BENCH_PG}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if fresh and exists:
            conn.execute(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)')
        if fresh or not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
            exists = None
    os.environ["DATABASE_URL"] = f"{BENCH_PG}/{DB_NAME}"
    from bench.harness import django_setup

    django_setup()
    if exists:
        return
    from django.core.management import call_command
    from django.db import connection

    from bench.generate import generate

    call_command("migrate", verbosity=0)
    generate(tickets=TICKETS, customers=2000, agents=160, progress=print)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    # As bench.day's layout runs them: no debug, no second factor asked in the bench.
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-console-pages-" + "x" * 40)
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    os.environ["IZONIE_STAFF_2FA_REQUIRED"] = "0"
    os.environ.setdefault("IZONIE_VAR_DIR", str(ROOT / "var" / "bench-console-pages"))
    _database(args.fresh)

    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from tickets.models import Message, Ticket

    agents = [u for u in User.objects.order_by("pk") if u.is_agent and not u.is_supervisor][
        : args.agents
    ]
    clients = []
    for agent in agents:
        client = Client()
        client.force_login(agent)
        clients.append(client)
    tickets = list(Ticket.objects.order_by("-pk").values_list("pk", flat=True)[:500])
    figures: dict[str, dict[str, list[float]]] = {
        page: {"cpu": [], "statements": []} for page in ("inbox", "ticket")
    }
    for round_ in range(args.rounds):
        for i, (agent, client) in enumerate(zip(agents, clients, strict=True)):
            cache.delete(f"inbox-counts:{agent.pk}")
            ticket = tickets[(i * args.rounds + round_) % len(tickets)]
            for page, url in (("inbox", "/console/"), ("ticket", f"/console/tickets/{ticket}/")):
                start = time.process_time()
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(url, secure=True)
                cpu = (time.process_time() - start) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"{url} answered {response.status_code}")
                if round_:
                    figures[page]["cpu"].append(cpu)
                    figures[page]["statements"].append(len(queries.captured_queries))
    print(
        f"Data: {Ticket.objects.count():,} tickets, {Message.objects.count():,} messages, "
        f"{len(agents)} agents; {args.rounds - 1} counted rounds"
    )
    print(f"{'page':8} {'n':>4} {'cpu p50':>8} {'cpu p95':>8} {'statements p50':>15}")
    for page, values in figures.items():
        samples = values["cpu"]
        print(
            f"{page:8} {len(samples):4} {statistics.median(samples):8.1f} "
            f"{percentile(samples, 95):8.1f} "
            f"{statistics.median(values['statements']):15.0f}"
        )


if __name__ == "__main__":
    main()
