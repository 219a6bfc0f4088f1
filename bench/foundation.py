"""Foundation figures: inbox, API list, opening a ticket, creating tickets through the API.

One command runs every data size in its own PostgreSQL database and prints a table:

    .venv/bin/python bench/foundation.py                      # 100,000 and 1,000,000 tickets
    .venv/bin/python bench/foundation.py --sizes 20000        # a quick run

Data is generated once per size (``bench/generate.py``) and reused by later runs; pass
``--fresh`` to rebuild it. Requests go through Django's full stack in this process (URL
routing, middleware, sessions, auth, views, templates, the database) without a network hop.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, django_setup, prepare_dataset, timed, use_database

DEFAULT_SIZES = [100_000, 1_000_000]
GROUPS = {"inbox", "search", "api"}


def _deep_cursor(*, filters: dict, depth: int) -> str:
    """The cursor of the page ``depth`` rows into a filtered, newest-first list."""
    from tickets.models import Ticket
    from tickets.selectors import encode_cursor

    row = Ticket.objects.filter(**filters).order_by("-updated_at", "-id")[depth - 1 : depth].get()
    return encode_cursor(row)


def _sizes() -> dict[str, object]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM tickets_ticket), (SELECT count(*) FROM tickets_message),"
            " (SELECT count(*) FROM tickets_ticket_tags), (SELECT count(*) FROM accounts_user),"
            " pg_size_pretty(pg_database_size(current_database())),"
            " pg_size_pretty(pg_relation_size('tickets_message_body_fts'))"
        )
        tickets, messages, tags, users, db_size, fts_size = cursor.fetchone()
    return {
        "tickets": tickets,
        "messages": messages,
        "tags_on_tickets": tags,
        "users": users,
        "database": db_size,
        "full_text_index": fts_size,
    }


def _bench_agent() -> tuple[object, object]:
    """The agent the figures are taken as (with saved views and tickets they have opened),
    and a supervisor."""
    from django.utils import timezone

    from accounts.models import User
    from console.models import SavedView
    from console.services import saved_view_create
    from tickets.models import Ticket
    from workload.models import TicketSeen

    agent = User.objects.filter(role="agent").order_by("pk").first()
    supervisor = User.objects.filter(role="supervisor").order_by("pk").first()
    assert agent and supervisor
    if not SavedView.objects.filter(owner=agent).exists():
        # As an agent keeps them: their urgent work, a queue by due time, a tag, and a
        # colleague's shared view.
        saved_view_create(
            owner=agent, name="My urgent", query="view=mine&sort=priority", shared=False
        )
        saved_view_create(
            owner=agent,
            name="Returns by due",
            query="view=open&category=returns&sort=due",
            shared=False,
        )
        saved_view_create(
            owner=agent, name="Chargebacks", query="view=open&tag=chargeback", shared=False
        )
        saved_view_create(
            owner=supervisor,
            name="Unassigned email",
            query="view=unassigned&channel=email",
            shared=True,
        )
        # The agent has opened the newest 10 of their tickets a while ago: the inbox marks
        # those the customer wrote on since.
        mine = Ticket.objects.filter(assignee=agent).order_by("-updated_at")[:10]
        TicketSeen.objects.bulk_create(
            TicketSeen(agent=agent, ticket=t, seen_at=timezone.now()) for t in mine
        )
    return agent, supervisor


def _search_queries() -> dict[str, str]:
    """One realistic query per kind, taken from the data."""
    from accounts.models import User
    from tickets.models import Ticket

    middle = Ticket.objects.order_by("-pk").values_list("pk", flat=True)[
        Ticket.objects.count() // 3
    ]
    order = (
        Ticket.objects.exclude(order_number="")
        .filter(pk__lt=middle)
        .order_by("-pk")
        .values_list("order_number", flat=True)[0]
    )
    customer = User.objects.filter(role="buyer").order_by("pk")[137]
    # The generator's call-back messages carry +44 7700 9NNNNN, NNNNN from the requester.
    caller = Ticket.objects.filter(pk__lt=middle, pk__endswith="3").order_by("-pk")[0]
    phone = f"+44 7700 9{caller.requester_id % 100000:05d}"
    return {
        "reference": f"IZS-{middle}",
        "order number": order,
        "customer name": str(customer.display_name),
        "customer email": str(customer.email),
        "phone number": phone,
        "common word in messages": "refund",
        "two words in messages": "cracked screen",
        "rare word in messages": "Android",
        "tag": "chargeback",
    }


def measure(size: int, runs: int, groups: set[str]) -> dict:
    from urllib.parse import urlencode

    from django.core.cache import cache
    from django.test import Client

    from accounts.models import User
    from console.views import INBOX_COLUMNS
    from tickets.choices import ACTIVE_STATUSES
    from tickets.models import Ticket

    agent, supervisor = _bench_agent()
    customer = User.objects.filter(role="buyer").order_by("pk").first()
    assert customer
    client = Client()
    client.force_login(agent)
    boss = Client()
    boss.force_login(supervisor)
    results: dict[str, dict] = {}

    def get(url: str, on: Client = client) -> None:
        response = on.get(url)
        assert response.status_code == 200, (url, response.status_code)

    active = {"status__in": ACTIVE_STATUSES, "category": "returns"}
    # 5,000 rows into the filtered list (or half of it on small data sets).
    depth = max(1, min(5_000, Ticket.objects.filter(**active).count() // 2))
    deep = _deep_cursor(filters=active, depth=depth)
    if "inbox" in groups:
        results["inbox, first page (all active)"] = timed(lambda: get("/console/"), runs=runs)

        def cold() -> None:
            cache.clear()  # the view counts and saved-view counts are recomputed
            get("/console/")

        results["inbox, first page, counts not cached"] = timed(cold, runs=max(20, runs // 5))
        for key, _label, _rest, _natural in INBOX_COLUMNS:
            for sort in (key, f"-{key}"):
                results[f"inbox, sorted by {sort} (all active)"] = timed(
                    lambda sort=sort: get(f"/console/?view=open&sort={sort}"), runs=runs
                )
        results["inbox, filtered (returns, email)"] = timed(
            lambda: get("/console/?view=open&category=returns&channel=email"), runs=runs
        )
        results["inbox, filtered deep page (returns)"] = timed(
            lambda: get(f"/console/?view=open&category=returns&cursor={deep}"), runs=runs
        )
        from console.models import SavedView

        for saved in SavedView.objects.filter(owner=agent).order_by("pk"):
            results[f"inbox, saved view {saved.name!r}"] = timed(
                lambda saved=saved: get(f"/console/?{saved.query}&saved={saved.pk}"), runs=runs
            )
        # The ticket page works out "next in this view" from the list last looked at.
        sorted_list = Ticket.objects.filter(status__in=ACTIVE_STATUSES).order_by("-pk")[:50]
        ticket_ids = list(sorted_list.values_list("pk", flat=True))
        get("/console/?view=open&sort=priority")
        turn = iter(range(10**9))
        results["ticket page after a priority-sorted inbox (next in view)"] = timed(
            lambda: get(f"/console/tickets/{ticket_ids[next(turn) % len(ticket_ids)]}/"),
            runs=runs,
        )
    if "search" in groups:
        queries = _search_queries()
        for who, on in (("agent", client), ("supervisor", boss)):
            for kind, text in queries.items():
                results[f"global search, {kind} ({who})"] = timed(
                    lambda text=text, on=on: get("/console/search?" + urlencode({"q": text}), on),
                    runs=runs,
                )
        results["search queries"] = {"queries": queries}
    if "api" in groups:
        results["API list, first page"] = timed(
            lambda: get("/api/v1/tickets?status=open&status=new&limit=25"), runs=runs
        )
        results["API list, filtered deep page"] = timed(
            lambda: get(
                "/api/v1/tickets?status=new&status=open&status=on_hold&category=returns"
                f"&limit=25&cursor={deep}"
            ),
            runs=runs,
        )
        twenty = (
            Ticket.objects.filter(message_count=20).order_by("-pk").values_list("pk", flat=True)[0]
        )
        results["open a ticket with 20 messages (API)"] = timed(
            lambda: get(f"/api/v1/tickets/{twenty}"), runs=runs
        )
        results["open a ticket with 20 messages (console page)"] = timed(
            lambda: get(f"/console/tickets/{twenty}/"), runs=runs
        )

        # Creating tickets through the API, one process, sequential requests.
        creator = Client()
        creator.force_login(customer)
        body = json.dumps({"category": "order_status", "body": "Where is my order? It is late."})
        count = max(200, runs * 5)
        start = time.perf_counter()
        for _ in range(count):
            response = creator.post("/api/v1/tickets", body, content_type="application/json")
            assert response.status_code == 201, response.content
        elapsed = time.perf_counter() - start
        results["create tickets through the API"] = {
            "per_second": round(count / elapsed, 1),
            "runs": count,
        }
        # Leave the data set at its size for the next run.
        Ticket.objects.filter(pk__gt=size).delete()
    return {
        "tickets": size,
        "depth": depth,
        "sizes": _sizes(),
        "load": os.getloadavg(),
        "results": results,
    }


def _child(size: int, runs: int, fresh: bool, prepare_only: bool, groups: set[str]) -> None:
    # Staff sign in with a second factor in production; the test client's force_login
    # has none, so the check is off here (its cost, one device lookup, stays in).
    os.environ.setdefault("IZONIE_STAFF_2FA_REQUIRED", "0")
    use_database(f"{os.environ.get('IZONIE_BENCH_FOUNDATION_DATABASE', 'izonie_bench')}_{size}")
    django_setup()
    prepare_dataset(size, fresh=fresh)
    if not prepare_only:
        # As the server process does once it has loaded (config.asgi): the figures are
        # those of a serving process, whose collector does not walk the startup objects.
        from core.startup import freeze_startup_objects

        freeze_startup_objects()
        print(json.dumps(measure(size, runs, groups)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=DEFAULT_SIZES)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument(
        "--prepare-only", action="store_true", help="Generate the data sets and stop."
    )
    parser.add_argument(
        "--figures",
        nargs="+",
        choices=sorted(GROUPS),
        default=sorted(GROUPS),
        help="Which figures: the inbox pages, the global search, the API (all by default).",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.runs, args.fresh, args.prepare_only, set(args.figures))
        return
    # Each size runs in its own process: Django's settings name one database per process.
    reports = []
    for size in args.sizes:
        print(f"{size:,} tickets: preparing and measuring...", file=sys.stderr)
        command = [sys.executable, __file__, "--child", str(size), "--runs", str(args.runs)]
        command += ["--fresh"] if args.fresh else []
        command += ["--prepare-only"] if args.prepare_only else []
        command += ["--figures", *args.figures]
        output = subprocess.run(
            command, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True
        ).stdout
        if not args.prepare_only:
            reports.append(json.loads(output.strip().splitlines()[-1]))
    if args.prepare_only:
        return
    print(f"\nFoundation benchmark (PostgreSQL, one process, {args.runs} requests per figure)\n")
    for report in reports:
        sizes = report["sizes"]
        load = ", ".join(f"{x:.2f}" for x in report["load"])
        print(
            f"{sizes['tickets']:,} tickets, {sizes['messages']:,} messages, "
            f"{sizes['tags_on_tickets']:,} tags on tickets, {sizes['users']:,} users; "
            f"database {sizes['database']}, full-text index {sizes['full_text_index']}; "
            f"load average at the end {load}"
        )
    print()
    names = [n for n in reports[0]["results"] if n != "search queries"]
    header = "| figure | " + " | ".join(f"{r['tickets']:,} tickets" for r in reports) + " |"
    print(header)
    print("|---|" + "---|" * len(reports))
    for name in names:
        cells = []
        for report in reports:
            figure = report["results"][name]
            if "per_second" in figure:
                cells.append(f"{figure['per_second']:,} per second")
            else:
                cells.append(
                    f"p50 {figure['p50_ms']} ms, p95 {figure['p95_ms']} ms "
                    f"(CPU p50 {figure['cpu_p50_ms']} ms)"
                )
        print(f"| {name} | " + " | ".join(cells) + " |")
    for report in reports:
        print(f"\nDeep pages at {report['tickets']:,} tickets start {report['depth']:,} rows in.")
        queries = report["results"].get("search queries", {}).get("queries", {})
        if queries:
            print("Search queries: " + "; ".join(f"{k}: {v!r}" for k, v in queries.items()))


if __name__ == "__main__":
    main()
