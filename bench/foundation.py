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
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, django_setup, prepare_dataset, timed, use_database

DEFAULT_SIZES = [100_000, 1_000_000]


def _deep_cursor(*, filters: dict, depth: int) -> str:
    """The cursor of the page ``depth`` rows into a filtered, newest-first list."""
    from tickets.models import Ticket
    from tickets.selectors import encode_cursor

    row = Ticket.objects.filter(**filters).order_by("-updated_at", "-id")[depth - 1 : depth].get()
    return encode_cursor(row)


def measure(size: int, runs: int) -> dict:
    from django.test import Client

    from accounts.models import User
    from tickets.choices import ACTIVE_STATUSES
    from tickets.models import Ticket

    agent = User.objects.filter(role="agent").order_by("pk").first()
    customer = User.objects.filter(role="buyer").order_by("pk").first()
    assert agent and customer
    client = Client()
    client.force_login(agent)
    results: dict[str, dict] = {}

    def get(url: str) -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    active = {"status__in": ACTIVE_STATUSES, "category": "returns"}
    # 5,000 rows into the filtered list (or half of it on small data sets).
    depth = max(1, min(5_000, Ticket.objects.filter(**active).count() // 2))
    deep = _deep_cursor(filters=active, depth=depth)
    results["inbox, first page (all active)"] = timed(lambda: get("/console/"), runs=runs)
    results["inbox, filtered deep page (returns)"] = timed(
        lambda: get(f"/console/?view=open&category=returns&cursor={deep}"), runs=runs
    )
    # The inbox's other orders (offset-paged, no index: sorted per request).
    results["inbox, sorted by reply due (all active)"] = timed(
        lambda: get("/console/?view=open&sort=due"), runs=runs
    )
    results["inbox, sorted by priority (all active)"] = timed(
        lambda: get("/console/?view=open&sort=priority"), runs=runs
    )
    # The header's global search: words in any message, and a customer's address.
    results["global search, words in messages"] = timed(
        lambda: get("/console/search?q=refund+screen"), runs=runs
    )
    results["global search, customer email"] = timed(
        lambda: get(f"/console/search?q={customer.email}"), runs=runs
    )
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
    twenty = Ticket.objects.filter(message_count=20).order_by("-pk").values_list("pk", flat=True)[0]
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
    return {"tickets": size, "depth": depth, "results": results}


def _child(size: int, runs: int, fresh: bool, prepare_only: bool) -> None:
    use_database(f"izonie_bench_{size}")
    django_setup()
    prepare_dataset(size, fresh=fresh)
    if not prepare_only:
        # As the server process does once it has loaded (config.asgi): the figures are
        # those of a serving process, whose collector does not walk the startup objects.
        from core.startup import freeze_startup_objects

        freeze_startup_objects()
        print(json.dumps(measure(size, runs)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=DEFAULT_SIZES)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument(
        "--prepare-only", action="store_true", help="Generate the data sets and stop."
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.runs, args.fresh, args.prepare_only)
        return
    # Each size runs in its own process: Django's settings name one database per process.
    reports = []
    for size in args.sizes:
        print(f"{size:,} tickets: preparing and measuring...", file=sys.stderr)
        command = [sys.executable, __file__, "--child", str(size), "--runs", str(args.runs)]
        command += ["--fresh"] if args.fresh else []
        command += ["--prepare-only"] if args.prepare_only else []
        output = subprocess.run(
            command, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True
        ).stdout
        if not args.prepare_only:
            reports.append(json.loads(output.strip().splitlines()[-1]))
    if args.prepare_only:
        return
    print(f"\nFoundation benchmark (PostgreSQL, one process, {args.runs} requests per figure)\n")
    names = list(reports[0]["results"])
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
                cells.append(f"p50 {figure['p50_ms']} ms, p95 {figure['p95_ms']} ms")
        print(f"| {name} | " + " | ".join(cells) + " |")
    for report in reports:
        print(f"\nDeep pages at {report['tickets']:,} tickets start {report['depth']:,} rows in.")


if __name__ == "__main__":
    main()
