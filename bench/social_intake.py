"""Social webhook intake: signed Messenger/Instagram deliveries posted at increasing
rates to one web process; the acknowledgement latency at each rate, and afterwards the
count stored against the count sent (Meta's retries of the same delivery removed).

    .venv/bin/python -m bench.social_intake                      # SQLite (the embedded default)
    .venv/bin/python -m bench.social_intake --database postgres
    .venv/bin/python -m bench.social_intake --batch 10           # 10 events per delivery
    .venv/bin/python -m bench.social_intake --drain 3000         # the worker's drain alone
    SOCIAL_BENCH_PROFILE=1 .venv/bin/python -m bench.social_intake --drain 600  # cProfile it

The server is ``uvicorn config.asgi:application`` in its own process on a fresh database
with one Facebook page configured; a ``db_worker`` process turns the stored deliveries into
tickets while the load runs, as in production. The Graph API (profile names, the category
question) is a loopback stub. Each rate runs for ``--seconds``; requests are sent on a fixed
schedule (open loop) over keep-alive connections, and latency counts from the scheduled
moment, so a server falling behind shows as latency, not as a slower sender. One delivery
in ``--retry-every`` is sent a second time, byte for byte (Meta's retry).

Reports, per rate: deliveries and events per second accepted, p50/p95/p99 acknowledgement
latency, errors; the highest rate whose p99 stays under 200 ms; then, once the worker has
drained the queue, events stored versus distinct events sent.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.chat_load import free_port, start_server  # noqa: E402
from bench.harness import BENCH_PG, percentile  # noqa: E402

APP_SECRET = "bench-app-secret"
PAGE_ID = "104857600001"
TARGET_P99_MS = 200.0


def prepare(workdir: Path, database: str, graph_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "IZONIE_VAR_DIR": str(workdir),
        "IZONIE_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "IZONIE_META_GRAPH_URL": graph_url,
        "IZONIE_OUTBOX_BACKOFF_SECONDS": "1",
    }
    env.pop("REDIS_URL", None)
    if database == "postgres":
        import psycopg

        name = os.environ.get("IZONIE_BENCH_SOCIAL_DATABASE", "izonie_bench_social")
        with psycopg.connect(f"{BENCH_PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = f"{BENCH_PG}/{name}"
    else:
        env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    script = (
        "from social.models import SocialAccount\n"
        f"SocialAccount.objects.create(platform='facebook', external_id='{PAGE_ID}', "
        f"name='Izonie', access_token='bench-token', app_secret='{APP_SECRET}', "
        "verify_token='bench')\n"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return env


TEXTS = [
    "Where is my order? The tracking has not moved since Monday",
    "My refund has not arrived in my wallet",
    "The phone I received has a cracked screen, I want to return it",
    "Hello, I need help",
    "Payment failed but money left my account",
]


class Deliveries:
    """Signed delivery bodies, each event with a new mid; every ``retry_every``-th
    delivery is a byte-for-byte copy of an earlier one."""

    def __init__(self, *, batch: int, senders: int, retry_every: int) -> None:
        self.batch, self.senders, self.retry_every = batch, senders, retry_every
        self.counter = itertools.count(1)
        self.sent_ok: list[bytes] = []
        self.unique_events = 0
        self.unique_lock = set[str]()

    def next(self) -> tuple[bytes, str, int]:
        n = next(self.counter)
        if self.retry_every and n % self.retry_every == 0 and self.sent_ok:
            body = self.sent_ok[len(self.sent_ok) // 2]
            return body, sign(body), 0
        now = int(time.time() * 1000)
        items = [
            {
                "sender": {"id": f"psid-{(n * self.batch + i) % self.senders}"},
                "recipient": {"id": PAGE_ID},
                "timestamp": now,
                "message": {"mid": f"m_bench_{n}_{i}", "text": TEXTS[(n + i) % len(TEXTS)]},
            }
            for i in range(self.batch)
        ]
        body = json.dumps(
            {"object": "page", "entry": [{"id": PAGE_ID, "time": now, "messaging": items}]}
        ).encode()
        return body, sign(body), self.batch


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()


async def post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes, signature: str
) -> int:
    writer.write(
        b"POST /social/webhooks/meta/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\n"
        + f"X-Hub-Signature-256: {signature}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def run_rate(
    port: int, deliveries: Deliveries, rate: float, seconds: float, connections: int
) -> dict[str, float]:
    """Send ``rate`` deliveries per second for ``seconds`` on a fixed schedule."""
    queue: asyncio.Queue[float | None] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0
    events = 0

    async def connection() -> None:
        nonlocal errors, events
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while True:
            scheduled = await queue.get()
            if scheduled is None:
                writer.close()
                return
            body, signature, count = deliveries.next()
            try:
                status = await post(reader, writer, body, signature)
            except (ConnectionError, asyncio.IncompleteReadError):
                errors += 1
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            latencies.append((time.perf_counter() - scheduled) * 1000)
            if status == 200:
                events += count
                if count:
                    deliveries.sent_ok.append(body)
                    deliveries.unique_events += count
            else:
                errors += 1

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    start = time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):
        at = start + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(at)
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    return {
        "deliveries_per_s_offered": rate,
        "deliveries": total,
        "events_accepted": events,
        "events_per_s_accepted": round(events / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "errors": errors,
    }


def counts(env: dict[str, str]) -> tuple[int, int, int]:
    script = (
        "from social.models import InboundEvent, WebhookDelivery\n"
        "print(InboundEvent.objects.count(), WebhookDelivery.objects.count(), "
        "WebhookDelivery.objects.filter(status='received').count())"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    stored, deliveries, waiting = out.stdout.strip().splitlines()[-1].split()
    return int(stored), int(deliveries), int(waiting)


def drain_child(count: int, senders: int) -> None:
    """In a prepared environment: store ``count`` deliveries as the webhook does (every
    tenth a copy of an earlier one), then time one worker's drain of them in this
    process and print what it did."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from social import services
    from social.models import InboundEvent, WebhookDelivery

    deliveries = Deliveries(batch=1, senders=senders, retry_every=10)
    bodies: list[bytes] = []
    while len(bodies) < count:
        body, _signature, events = deliveries.next()
        if events:
            deliveries.sent_ok.append(body)
            deliveries.unique_events += events
        bodies.append(body)
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(source="meta", body=body, event_count=1) for body in bodies
    )
    from triage.services import classifier_active

    classifier_active(bootstrap=True)  # trained once on a new installation: not timed
    from core.startup import freeze_startup_objects

    freeze_startup_objects()  # what `manage.py worker` does when it starts: not timed
    profiler = None
    if os.environ.get("SOCIAL_BENCH_PROFILE"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    from django.db import connection

    from bench.mail_ingest import _StatementCounter

    counter = _StatementCounter()  # by kind, e.g. "INSERT tickets_message"
    cpu, started = time.process_time(), time.perf_counter()
    with connection.execute_wrapper(counter):
        drained = services.deliveries_process_received()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
    stored = InboundEvent.objects.count()
    print(
        json.dumps(
            {
                "deliveries": count,
                "distinct_events": deliveries.unique_events,
                "events_stored": stored,
                "new_events": drained.new_events,
                "seconds": round(seconds, 2),
                "cpu_seconds": round(cpu, 2),
                "events_per_s": round(drained.new_events / seconds, 1),
                "cpu_ms_per_event": round(cpu * 1000 / max(drained.new_events, 1), 2),
                "statements_per_event": round(
                    sum(counter.kinds.values()) / max(drained.new_events, 1), 2
                ),
                "statements": dict(sorted(counter.kinds.items(), key=lambda kv: -kv[1])),
            }
        )
    )


def drain_only(database: str, count: int, senders: int) -> None:
    """``--drain``: no web server; the worker's drain alone, timed in one process."""
    from social.tests.platform_server import PlatformServer

    graph = PlatformServer().start()
    for n in range(senders):
        graph.profiles[f"psid-{n}"] = {"first_name": "Bench", "last_name": f"Customer {n}"}
    try:
        with tempfile.TemporaryDirectory(prefix="izonie-social-bench-") as tmp:
            env = prepare(Path(tmp), database, graph.url)
            out = subprocess.run(
                [sys.executable, "-m", "bench.social_intake", "--drain-child", str(count),
                 "--senders", str(senders)],
                cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            result = json.loads(out.stdout.strip().splitlines()[-1])
            print(json.dumps({"database": database, **result}))
    finally:
        graph.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--rates",
        default="100,200,300,400,500,600,800,1000",
        help="events per second to try, in order",
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--batch", type=int, default=1, help="events per delivery")
    parser.add_argument("--senders", type=int, default=300)
    parser.add_argument("--retry-every", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--drain-timeout", type=float, default=1800.0)
    parser.add_argument(
        "--worker",
        choices=["during", "after"],
        default="during",
        help="run the db_worker during the load (as in production) or only after it",
    )
    parser.add_argument(
        "--drain",
        type=int,
        default=0,
        help="no load: store this many deliveries and time one worker's drain of them",
    )
    parser.add_argument("--drain-child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drain_child:
        drain_child(args.drain_child, args.senders)
        return
    if args.drain:
        drain_only(args.database, args.drain, args.senders)
        return

    from social.tests.platform_server import PlatformServer

    graph = PlatformServer().start()
    for n in range(args.senders):
        graph.profiles[f"psid-{n}"] = {"first_name": "Bench", "last_name": f"Customer {n}"}
    with tempfile.TemporaryDirectory(prefix="izonie-social-bench-") as tmp:
        env = prepare(Path(tmp), args.database, graph.url)
        port = free_port()
        server = start_server(env, port)

        def start_worker() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "manage.py", "db_worker", "--interval", "0.2"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        worker = start_worker() if args.worker == "during" else None
        deliveries = Deliveries(
            batch=args.batch, senders=args.senders, retry_every=args.retry_every
        )
        results = []
        try:
            for events_per_s in (float(r) for r in args.rates.split(",")):
                rate = events_per_s / args.batch
                result = asyncio.run(
                    run_rate(port, deliveries, rate, args.seconds, args.connections)
                )
                result["events_per_s_offered"] = events_per_s
                results.append(result)
                print(json.dumps(result), flush=True)
            best = max(
                (
                    r["events_per_s_accepted"]
                    for r in results
                    if r["p99_ms"] < TARGET_P99_MS and not r["errors"]
                ),
                default=0.0,
            )
            if worker is None:
                worker = start_worker()
            started = time.perf_counter()
            while True:
                stored, received, waiting = counts(env)
                if waiting == 0 or time.perf_counter() - started > args.drain_timeout:
                    break
                time.sleep(5)
            drained_in = time.perf_counter() - started
        finally:
            for process in (worker, server):
                if process is None:
                    continue
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            graph.stop()
        summary = {
            "database": args.database,
            "events_per_delivery": args.batch,
            "seconds_per_rate": args.seconds,
            "best_events_per_s_with_p99_under_200ms": best,
            "deliveries_stored": received,
            "distinct_events_sent": deliveries.unique_events,
            "events_stored": stored,
            "stored_equals_sent": stored == deliveries.unique_events,
            "deliveries_still_waiting": waiting,
            "worker": args.worker,
            "worker_drain_after_load_s": round(drained_in, 1),
        }
        print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
