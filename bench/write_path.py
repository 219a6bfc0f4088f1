"""The write path in batches (issue 22): cost per message of opening tickets and of
appending customer messages, in batches of 1, 10 and 100, and POST /tickets/create_many.

    .venv/bin/python -m bench.write_path [--database postgres] [--messages 1000]

Prints, per batch size: wall and CPU milliseconds per message and SQL statements per
message (commit and after-commit work included: task rows, screen hints), then the API's
single and bulk creation rates (Django's test client, session auth), and the data size.
SQLite runs on a fresh file in a temporary directory; PostgreSQL on
``izonie_bench_write_path`` (or ``--pg-name``; emptied first) at ``IZONIE_BENCH_DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import tempfile
import time
from collections.abc import Callable
from typing import Any

from bench.harness import django_setup, use_database

KINDS = [
    ("order_status", "Where is my order? It was due last week."),
    ("returns", "The blender arrived broken, I want to send it back."),
    ("technical_support", "The app crashes when I open my orders."),
    ("payments", "I was charged twice for one order."),
]


class Counter:
    """SQL statements run on the connection (an execute wrapper: no query log)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def _measure(run: Callable[[], None]) -> tuple[float, float, int]:
    from django.db import connection

    counter = Counter()
    wall, cpu = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(counter):
        run()
    return time.perf_counter() - wall, time.process_time() - cpu, counter.count


def _people(customers: int) -> list[Any]:
    from accounts.models import Role, User

    User.objects.bulk_create(
        [
            User(
                username=f"bench-agent-{n}",
                email=f"agent{n}@example.com",
                role=Role.AGENT,
                teams=["customer_care", "payments", "technical"],
            )
            for n in range(20)
        ]
    )
    User.objects.bulk_create(
        [
            User(username=f"bench-buyer-{n}", email=f"buyer{n}@example.com", role=Role.BUYER)
            for n in range(customers)
        ]
    )
    return list(User.objects.filter(role=Role.BUYER).order_by("pk"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--messages", type=int, default=1000, help="per batch size and kind")
    parser.add_argument("--sizes", default="1,10,100")
    parser.add_argument("--pg-name", default="izonie_bench_write_path", help="PostgreSQL database")
    parser.add_argument(
        "--profile",
        choices=["create_many", "single"],
        help="print a cProfile (CPU time) of create_many's requests or of single POSTs",
    )
    parser.add_argument("--profile-sort", default="cumulative", help="e.g. tottime")
    args = parser.parse_args()
    if args.database == "postgres":
        use_database(args.pg_name)
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["IZONIE_VAR_DIR"] = tempfile.mkdtemp(prefix="izonie-bench-write-")
    os.environ.setdefault("IZONIE_STAFF_2FA_REQUIRED", "0")
    django_setup()

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from tickets.models import Message, Ticket
    from tickets.write_path import MessageToAppend, TicketToOpen, messages_append, tickets_open

    call_command("migrate", verbosity=0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE tickets_ticket, accounts_user RESTART IDENTITY CASCADE")
    sizes = [int(size) for size in args.sizes.split(",")]
    buyers = _people(max(1000, args.messages))
    # The first batch trains nothing (every item has a category) but reads the team lists.
    tickets_open([TicketToOpen(requester=buyers[0], channel="api", category="payments", body="Hi")])

    from core.startup import freeze_startup_objects

    # What the web server (config.asgi) and the worker do once loaded.
    freeze_startup_objects()
    rows: list[dict[str, Any]] = []
    print(f"database: {connection.vendor}; {args.messages:,} messages per batch size")
    heads = ("batch", 6), ("ms/msg", 9), ("cpu ms/msg", 12), ("stmts/msg", 11), ("stmts/batch", 13)
    print(f"{'operation':<16}" + "".join(f"{head:>{width}}" for head, width in heads))
    opened: list[Ticket] = []
    for size in sizes:
        requests = [
            TicketToOpen(
                requester=buyers[n % len(buyers)],
                channel="api",
                category=KINDS[n % len(KINDS)][0],
                body=KINDS[n % len(KINDS)][1],
            )
            for n in range(args.messages)
        ]
        batches = [requests[i : i + size] for i in range(0, len(requests), size)]

        def run_open(batches: list[list[TicketToOpen]] = batches) -> None:
            for batch in batches:
                opened.extend(o.unwrap() for o in tickets_open(batch))

        wall, cpu, statements = _measure(run_open)
        rows.append(_row("tickets_open", size, args.messages, wall, cpu, statements, len(batches)))
    # Half the conversations had a first reply: their customer's message starts the
    # next-reply clock.
    Ticket.objects.filter(pk__in=[t.pk for t in opened[::2]]).update(
        first_replied_at=timezone.now()
    )
    targets = list(Ticket.objects.filter(pk__in=[t.pk for t in opened]).select_related("requester"))
    for size in sizes:
        items = [
            MessageToAppend(ticket=t, author=t.requester, body="Any news? Thanks.")
            for t in targets[: args.messages]
        ]
        groups = [items[i : i + size] for i in range(0, len(items), size)]

        def run_append(groups: list[list[MessageToAppend]] = groups) -> None:
            for group in groups:
                for outcome in messages_append(group):
                    outcome.unwrap()

        wall, cpu, statements = _measure(run_append)
        rows.append(
            _row("messages_append", size, args.messages, wall, cpu, statements, len(groups))
        )

    from accounts.models import Role, User

    agent = User.objects.filter(role=Role.AGENT).first()
    client = Client()
    client.force_login(agent)  # type: ignore[arg-type]

    def post(path: str, body: Any) -> Any:
        return client.post(path, json.dumps(body), content_type="application/json")

    api_count = min(args.messages, 500)
    single = [
        {"requester_id": buyers[n].pk, "category": KINDS[n % 4][0], "body": KINDS[n % 4][1]}
        for n in range(api_count)
    ]

    def api_run(run: Callable[[], None]) -> str:
        wall, cpu, statements = _measure(run)
        return (
            f"{api_count / wall:,.0f}/s wall, {api_count / cpu:,.0f}/s own CPU "
            f"({cpu * 1000 / api_count:.2f} ms CPU and {statements / api_count:.2f} statements "
            f"per ticket)"
        )

    def singles() -> None:
        for body in single:
            assert post("/api/v1/tickets", body).status_code == 201

    def many() -> None:
        for i in range(0, len(single), 100):
            answer = post("/api/v1/tickets/create_many", {"tickets": single[i : i + 100]})
            assert answer.json()["created"] == len(single[i : i + 100]), answer.content

    print(f"API, {api_count} tickets each way (load average {os.getloadavg()[0]:.2f}):")
    print(f"  POST /tickets one by one: {api_run(singles)}")
    print(f"  POST /tickets/create_many, 100 per request: {api_run(many)}")
    if args.profile:
        single[:] = [dict(body, body=f"{body['body']} (profiled)") for body in single]
        profile = cProfile.Profile(time.process_time)
        profile.runcall(many if args.profile == "create_many" else singles)
        pstats.Stats(profile).sort_stats(args.profile_sort).print_stats(60)
    print(
        f"data: {Ticket.objects.count():,} tickets, {Message.objects.count():,} messages, "
        f"{User.objects.count():,} users"
    )


def _row(
    operation: str, size: int, messages: int, wall: float, cpu: float, statements: int, batches: int
) -> dict[str, Any]:
    row = {
        "operation": operation,
        "batch": size,
        "ms_per_message": round(wall * 1000 / messages, 2),
        "cpu_ms_per_message": round(cpu * 1000 / messages, 2),
        "statements_per_message": round(statements / messages, 2),
        "statements_per_batch": round(statements / batches, 1),
    }
    print(
        f"{operation:<16}{size:>6}{row['ms_per_message']:>9}{row['cpu_ms_per_message']:>12}"
        f"{row['statements_per_message']:>11}{row['statements_per_batch']:>13}"
    )
    return row


if __name__ == "__main__":
    main()
