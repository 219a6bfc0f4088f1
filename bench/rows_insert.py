"""How the write path's multi-row INSERT is sent to PostgreSQL (issue 22).

    .venv/bin/python -m bench.rows_insert [--rows 100] [--runs 200]

Writes the same rows (chat messages, the write path's widest common table) four ways on
``izonie_bench_rows_insert`` at ``IZONIE_BENCH_DATABASE_URL`` and prints, per statement,
the median wall and CPU time of this process and the statement's length:

- ``VALUES, client-bound``: one ``(%s, ...)`` per row, every value written into the SQL
  text by the driver (what ``core.rows_insert`` sent before; Django's cursors bind on the
  client);
- ``bulk_create``: Django 5.2's own, ``UNNEST`` of one array per column, client-bound;
- ``rows_insert``: ``core.rows_insert`` as it is, ``UNNEST`` of binary arrays, bound by
  the server;
- the same three through psycopg alone on a 15-column table, without Django.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from collections.abc import Callable
from typing import Any

from bench.harness import django_setup, timed, use_database


def _median_ms(run: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``runs`` calls, after 5 untimed ones."""
    figures = timed(run, runs=runs, warmup=5)
    return figures["p50_ms"], figures["cpu_p50_ms"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100, help="rows per statement")
    parser.add_argument("--runs", type=int, default=200, help="statements timed per way")
    args = parser.parse_args()
    use_database("izonie_bench_rows_insert")
    django_setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from accounts.models import Role, User
    from core.rows_insert import _plan, rows_insert
    from tickets.choices import Channel, Direction, MessageKind
    from tickets.models import Message, Ticket

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tickets_ticket, accounts_user RESTART IDENTITY CASCADE")
    buyer = User.objects.create(username="bench-buyer", email="b@example.com", role=Role.BUYER)
    ticket = Ticket.objects.create(subject="Bench", requester=buyer, channel=Channel.LIVE_CHAT)

    def messages() -> list[Message]:
        return [
            Message(
                ticket=ticket,
                kind=MessageKind.REPLY,
                direction=Direction.INBOUND,
                author=buyer,
                author_name="Ann Buyer",
                channel=Channel.LIVE_CHAT,
                body_text=f"Is order IZ-{n:08d} on its way? I paid on Monday. ✓",
            )
            for n in range(args.rows)
        ]

    plan = _plan(Message, "default", connection)
    fields = plan.fields_without_pk
    columns = ", ".join(plan.columns[id(f)] for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"

    # The rows are made before the clock starts (each way writes fresh objects).
    prepared: list[list[Message]] = []

    def values_client_bound() -> None:
        objs = prepared.pop()
        params = plan.rows(objs, fields)
        sql = f"INSERT INTO {plan.table} ({columns}) VALUES " + ", ".join([row] * len(objs))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql + plan.returning, params)
            cursor.fetchall()

    def django_bulk_create() -> None:
        with transaction.atomic():
            Message.objects.bulk_create(prepared.pop())

    def ours() -> None:
        with transaction.atomic():
            rows_insert(prepared.pop())

    length = len(f"INSERT INTO {plan.table} ({columns}) VALUES " + ", ".join([row] * args.rows))
    server = connection.cursor().connection.info.server_version // 10000
    print(
        f"PostgreSQL {server}; {args.rows} rows of "
        f"{len(fields)} columns per statement, {args.runs} statements per way, median "
        f"(load average {os.getloadavg()[0]:.2f})"
    )
    print(f"{'way':<34}{'wall ms':>9}{'CPU ms':>9}  statement")
    for name, run, text in (
        ("Message: VALUES, client-bound", values_client_bound, f"{length:,} characters"),
        ("Message: bulk_create (UNNEST)", django_bulk_create, "constant"),
        ("Message: rows_insert (binary)", ours, "constant"),
    ):
        prepared[:] = [messages() for _ in range(args.runs + 5)]
        wall, cpu = _median_ms(run, args.runs)
        print(f"{name:<34}{wall:>9.2f}{cpu:>9.2f}  {text}")
    _psycopg_alone(args.rows, args.runs)
    print(f"data: {Message.objects.count():,} messages written")


def _psycopg_alone(rows: int, runs: int) -> None:
    """The same comparison without Django: 15 columns of common types."""
    import psycopg

    from bench.harness import BENCH_PG

    types = (
        ["bigint", "text", "text", "timestamptz", "boolean", "text", "integer", "text"]
        + ["text"] * 4
        + ["bigint", "text", "timestamptz"]
    )
    names = [f"c{n}" for n in range(len(types))]
    now = dt.datetime.now(dt.UTC)
    data = [
        (
            n,
            f"subject {n}",
            "api",
            now,
            False,
            "",
            3,
            "normal",
            "open",
            "x" * 40,
            "",
            "",
            None,
            "",
            now,
        )
        for n in range(rows)
    ]
    with psycopg.connect(f"{BENCH_PG}/izonie_bench_rows_insert") as conn:
        conn.execute(
            "CREATE TEMP TABLE t (id bigserial PRIMARY KEY, "
            + ", ".join(f"{c} {t}" for c, t in zip(names, types, strict=True))
            + ")"
        )
        client, server = psycopg.ClientCursor(conn), psycopg.Cursor(conn)
        cols = ", ".join(names)
        values = f"INSERT INTO t ({cols}) VALUES " + ", ".join(
            ["(" + ", ".join(["%s"] * len(types)) + ")"] * rows
        )
        unnest_text = f"INSERT INTO t ({cols}) SELECT * FROM UNNEST(" + ", ".join(
            f"(%s)::{t}[]" for t in types
        )
        unnest_binary = f"INSERT INTO t ({cols}) SELECT * FROM UNNEST(" + ", ".join(
            f"%b::{t}[]" for t in types
        )
        flat = [v for r in data for v in r]
        arrays = [list(c) for c in zip(*data, strict=True)]
        ways: list[tuple[str, psycopg.Cursor[Any], str, list[Any]]] = [
            ("psycopg: VALUES, client-bound", client, values, flat),
            ("psycopg: UNNEST, client-bound", client, unnest_text + ")", arrays),
            ("psycopg: UNNEST, binary", server, unnest_binary + ")", arrays),
        ]
        for name, cursor, sql, params in ways:

            def run(
                cursor: psycopg.Cursor[Any] = cursor, sql: str = sql, params: Any = params
            ) -> None:
                cursor.execute(sql + " RETURNING id", params).fetchall()

            wall, cpu = _median_ms(run, runs)
            print(f"{name:<34}{wall:>9.2f}{cpu:>9.2f}")
        conn.rollback()


if __name__ == "__main__":
    main()
