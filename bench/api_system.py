"""The API as deployed: ``POST /api/v1/tickets/create_many`` through nginx to the two page
processes, with a worker running, from several clients at once.

    .venv/bin/python -m bench.api_system                          # 1 and 2 clients
    .venv/bin/python -m bench.api_system --clients 1 2 4 --requests 60

``bench.write_path`` measures one process in-process (Django's test client, one request
after another): its figure is what a request costs. This one measures what the machine
takes in: the production layout of ``deploy/layout.py`` (nginx, ``--web`` uvicorn
processes, one ``db_worker``) on PostgreSQL and Redis, and ``--clients`` callers each
posting bodies of 100 tickets with an API token, one request after another. Each ticket
carries a marker in its body; after each step the database is read for them, so the
figure counts tickets stored (lost or doubled ones are printed). Also printed: requests'
p50/p95 latency and the CPU seconds of the system's processes, PostgreSQL's backends and
this load generator (its bodies are encoded before the clock starts).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import BENCH_PG, generated_database, percentile  # noqa: E402
from deploy.layout import Layout  # noqa: E402

DB_NAME = "izonie_bench_api_system"
REDIS_URL = os.environ.get("IZONIE_BENCH_API_REDIS_URL", "redis://127.0.0.1:6379/6")
PER_REQUEST = 100
KINDS = [
    ("order_status", "Where is my order? It was due on Monday."),
    ("returns", "I want to return the phone I received, the screen is cracked."),
    ("technical_support", "The app crashes when I open my orders."),
    ("payments", "I was charged twice for one order."),
]


def prepare() -> tuple[str, str, list[int]]:
    """A fresh database with a few thousand tickets and customers; an agent's API token
    and the customers' ids."""
    os.environ["REDIS_URL"] = REDIS_URL
    url = generated_database(
        DB_NAME, tickets=2000, customers=2000, agents=12, progress=lambda _line: None
    )
    from accounts.models import ApiToken, Role, User

    agent = User.objects.filter(role=Role.AGENT).order_by("pk").first()
    assert agent is not None
    token = ApiToken.objects.create(user=agent, name="api_system").key
    customers = list(
        User.objects.filter(role__in=["buyer", "seller"]).values_list("pk", flat=True)[:2000]
    )
    return url, token, customers


def bodies(*, run: str, clients: int, requests: int, customers: list[int]) -> list[list[bytes]]:
    """Each client's request bodies, encoded now (not on the clock)."""
    out: list[list[bytes]] = []
    number = 0
    for _client in range(clients):
        mine = []
        for _request in range(requests):
            items = []
            for _item in range(PER_REQUEST):
                category, text = KINDS[number % len(KINDS)]
                items.append(
                    {
                        "requester_id": customers[number % len(customers)],
                        "category": category,
                        "body": f"{text} [api-{run}-{number}]",
                    }
                )
                number += 1
            mine.append(json.dumps({"tickets": items}).encode())
        out.append(mine)
    return out


def step(*, base: str, token: str, payloads: list[list[bytes]]) -> dict[str, Any]:
    """Every client posts its bodies one after another; all clients at once."""
    import httpx

    latencies: list[float] = []
    refused: list[str] = []
    created = [0]
    lock = threading.Lock()
    start = threading.Barrier(len(payloads) + 1)

    def client(mine: list[bytes]) -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
            http.get("/api/v1/tickets?limit=1")  # the connection, before the clock
            start.wait()
            for body in mine:
                began = time.perf_counter()
                response = http.post("/api/v1/tickets/create_many", content=body)
                took = (time.perf_counter() - began) * 1000
                with lock:
                    latencies.append(took)
                    if response.status_code == 200:
                        created[0] += response.json()["created"]
                    else:
                        refused.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=client, args=(mine,)) for mine in payloads]
    for thread in threads:
        thread.start()
    start.wait()
    wall, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.join()
    return {
        "seconds": time.perf_counter() - wall,
        "load_cpu_s": time.process_time() - cpu,
        "created": created[0],
        "latencies": latencies,
        "refused": refused,
    }


def stored(run: str) -> tuple[int, int]:
    """(distinct markers stored, tickets stored twice) for this run."""
    from django.db import connection

    pattern = re.compile(rf"\[api-{re.escape(run)}-(\d+)\]")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT body_text FROM tickets_message WHERE body_text LIKE %s",
            [f"%[api-{run}-%"],
        )
        numbers = [int(m.group(1)) for (text,) in cursor.fetchall() if (m := pattern.search(text))]
    return len(set(numbers)), len(numbers) - len(set(numbers))


def _process_cpu(pids: list[int]) -> float:
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _backend_pids() -> list[int]:
    import psycopg

    with psycopg.connect(f"{BENCH_PG}/{DB_NAME}", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [DB_NAME],
        ).fetchall()
    return [pid for (pid,) in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--requests", type=int, default=40, help="requests of 100 tickets per client per step"
    )
    parser.add_argument("--web", type=int, default=2, help="uvicorn processes for the API")
    parser.add_argument("--workers", type=int, default=1, help="db_worker processes")
    args = parser.parse_args()
    var_dir = Path(os.environ.get("IZONIE_VAR_DIR") or "/tmp/izonie-bench-api-system")
    var_dir.mkdir(parents=True, exist_ok=True)
    os.environ["IZONIE_VAR_DIR"] = str(var_dir)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    print(f"Preparing {DB_NAME}...", flush=True)
    url, token, customers = prepare()
    layout = Layout(
        database_url=url,
        redis_url=REDIS_URL,
        web_count=args.web,
        socket_count=0,
        worker_count=args.workers,
        extra_env={
            "IZONIE_VAR_DIR": str(var_dir),
            "IZONIE_STAFF_2FA_REQUIRED": "0",
            "IZONIE_LOG_LEVEL": "WARNING",
        },
        prepare=False,  # migrated above
    )
    rows = []
    try:
        layout.up(timeout=300)
        names = ", ".join(p.name for p in layout.processes)
        print(f"System up: {names}; {PER_REQUEST} tickets per request", flush=True)
        # Warm every page process (imports, first statements) before measuring.
        warm = bodies(run="warm", clients=args.web * 2, requests=1, customers=customers)
        step(base=layout.url, token=token, payloads=warm)
        for clients in args.clients:
            run = f"{int(time.time()) % 100000}-{clients}"
            payloads = bodies(run=run, clients=clients, requests=args.requests, customers=customers)
            pids = [p.pid for p in layout.processes]
            each_before = {p.name: _process_cpu([p.pid]) for p in layout.processes}
            system_before, backends = _process_cpu(pids), _backend_pids()
            backends_before = _process_cpu(backends)
            result = step(base=layout.url, token=token, payloads=payloads)
            system_cpu = _process_cpu(pids) - system_before
            each = {p.name: _process_cpu([p.pid]) - each_before[p.name] for p in layout.processes}
            backend_cpu = _process_cpu(backends) - backends_before
            kept, doubled = stored(run)
            sent = clients * args.requests * PER_REQUEST
            row = {
                "clients": clients,
                "sent": sent,
                "created": result["created"],
                "stored": kept,
                "doubled": doubled,
                "per_s": kept / result["seconds"],
                "p50": percentile(result["latencies"], 50),
                "p95": percentile(result["latencies"], 95),
                "system_cpu": system_cpu,
                "backend_cpu": backend_cpu,
                "load_cpu": result["load_cpu_s"],
                "seconds": result["seconds"],
            }
            rows.append(row)
            print(
                f"{clients} client(s): {sent:,} tickets in {row['seconds']:.1f} s: "
                f"{row['per_s']:,.0f} tickets/s stored; request p50 {row['p50']:.0f} ms, "
                f"p95 {row['p95']:.0f} ms; stored {kept:,} of {sent:,}, doubled {doubled}; "
                f"CPU s: system {system_cpu:.1f}, PostgreSQL {backend_cpu:.1f}, "
                f"this generator {row['load_cpu']:.1f}",
                flush=True,
            )
            print("  CPU s by process: " + ", ".join(f"{n} {s:.1f}" for n, s in each.items()))
            for line in result["refused"][:5]:
                print(f"  refused: {line}")
    finally:
        layout.down()
        shutil.rmtree(layout.run_dir, ignore_errors=True)
    best = max(rows, key=lambda r: r["per_s"]) if rows else None
    if best:
        print(
            f"Highest: {best['per_s']:,.0f} tickets/s with {best['clients']} client(s) "
            f"(target 2,000); {os.cpu_count()} cores"
        )


if __name__ == "__main__":
    main()
