"""Live-chat load: one web process, N conversations, customers and agents exchanging
messages over real WebSockets (the ``websockets`` client library) for a while.

    .venv/bin/python bench/chat_load.py --conversations 1000 --duration 60
    .venv/bin/python bench/chat_load.py --database postgres   # PostgreSQL instead of SQLite
    .venv/bin/python bench/chat_load.py --idle 4000           # idle connections and memory
    .venv/bin/python bench/chat_load.py --ramp-rate 20 --interval 30  # arrivals, pace

Prints messages per second, relay latency p50/p95/p99 (send to receipt, both
directions), lost and duplicated messages, memory per open connection and how many idle
connections fit in 1 GB at that rate. The server is ``uvicorn config.asgi:application``
in its own process on a fresh database, with live chat open around the clock (a copy
of the Izonie policy) and enough agents online to take every conversation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import BENCH_PG, percentile  # noqa: E402

ORIGIN = "http://127.0.0.1"
# Each simulated agent takes this many chats at once (``--chats-per-agent``). A person
# handles about three (``AgentPresence.max_chats`` defaults to 3); the default here keeps
# the socket count of the earlier figures: 40 consoles for 1,000 chats, each carrying the
# frames of 25 conversations.
CHATS_PER_AGENT = 25


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare(
    workdir: Path,
    database: str,
    agents: int,
    pg_name: str = "izonie_bench_chat",
    chats_per_agent: int = CHATS_PER_AGENT,
) -> tuple[dict[str, str], list[str]]:
    """A fresh database with ``agents`` agents online; returns (env, session cookies)."""
    policy = yaml.safe_load((ROOT / "policies" / "izonie.yaml").read_text())
    policy["channels"]["live_chat"]["hours"] = None
    (workdir / "policy.yaml").write_text(yaml.safe_dump(policy))
    env = {
        **os.environ,
        "IZONIE_VAR_DIR": str(workdir),
        "IZONIE_POLICY_FILE": str(workdir / "policy.yaml"),
        "IZONIE_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # A thousand customers, all from 127.0.0.1: the per-IP chat limit is for strangers.
        "IZONIE_THROTTLE_CHAT_START_PER_IP": "0",
        # The simulated consoles sign in with a session made here, without the second
        # factor production asks staff for.
        "IZONIE_STAFF_2FA_REQUIRED": "0",
    }
    env.pop("REDIS_URL", None)
    if database == "postgres":
        import psycopg

        name = pg_name
        with psycopg.connect(f"{BENCH_PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = f"{BENCH_PG}/{name}"
    else:
        env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    script = f"""
import datetime as dt
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from accounts.models import User, Role
from chat.models import AgentPresence, Presence
cookies = []
for i in range({agents}):
    user = User.objects.create(
        username=f"bench.agent{{i}}", role=Role.AGENT, display_name=f"Agent {{i}}")
    AgentPresence.objects.create(agent=user, status=Presence.ONLINE, max_chats={chats_per_agent},
                                 last_seen_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    cookies.append(store.session_key)
print(",".join(cookies))
"""
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    # The shell prints a note about its automatic imports first; the cookies are last.
    return env, out.stdout.strip().splitlines()[-1].split(",")


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--lifespan",
            "off",
            "--ws-max-queue",
            "64",
            # As the production unit (deploy/systemd/izonie-web@.service).
            "--ws-per-message-deflate",
            "false",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(1200):  # two minutes: a loaded machine starts it slowly
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start")


class Stats:
    """Relay latency of chat messages, send to receipt by the other side, by client id."""

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}  # client_id -> send time
        self.received: dict[str, int] = {}  # client_id -> times received by the other side
        self.latencies_ms: list[float] = []
        self.timeline: list[tuple[float, float]] = []  # (send time, latency ms)

    def on_send(self, client_id: str) -> None:
        self.sent[client_id] = time.perf_counter()

    def on_receive(self, client_id: str) -> None:
        count = self.received.get(client_id, 0) + 1
        self.received[client_id] = count
        sent_at = self.sent.get(client_id)
        if count == 1 and sent_at is not None:
            latency_ms = (time.perf_counter() - sent_at) * 1000
            self.latencies_ms.append(latency_ms)
            self.timeline.append((sent_at, latency_ms))

    def lost(self) -> int:
        """Messages sent that the other side never received."""
        return sum(1 for client_id in self.sent if client_id not in self.received)

    def duplicated(self) -> int:
        """Messages the other side received more than once."""
        return sum(1 for times in self.received.values() if times > 1)

    def percentile_ms(self, q: float) -> float | None:
        return round(percentile(self.latencies_ms, q), 1) if self.latencies_ms else None

    def p99_by_period(self, start: float, seconds: float) -> list[float]:
        """p99 of the messages sent in each ``seconds`` of the measured time: shows whether
        slow messages are spread over the minute or bunched (a backlog, a pause)."""
        periods: dict[int, list[float]] = {}
        for sent_at, latency_ms in self.timeline:
            periods.setdefault(int((sent_at - start) // seconds), []).append(latency_ms)
        return [round(percentile(periods[k], 99), 1) for k in sorted(periods) if k >= 0]


async def run_load(
    port: int,
    cookies: list[str],
    conversations: int,
    duration: float,
    interval: float,
    ramp_rate: float,
    server_pid: int,
) -> dict[str, object]:
    from websockets.asyncio.client import connect

    url = f"ws://127.0.0.1:{port}"
    stats = Stats()
    stop = asyncio.Event()
    agent_sockets = []
    agent_heartbeats: list[asyncio.Task[None]] = []
    ready = asyncio.Event()
    accepted: set[str] = set()
    accepting: set[str] = set()  # accept sent once per chat, as a person clicks once

    async def agent(cookie: str) -> None:
        try:
            await agent_loop(cookie)
        except Exception as exc:
            print(f"agent socket failed: {exc!r}")
            raise

    async def agent_loop(cookie: str) -> None:
        async with connect(
            f"{url}/ws/console/chat/",
            origin=ORIGIN,
            additional_headers={"Cookie": f"sessionid={cookie}"},
            max_queue=None,
        ) as ws:
            agent_sockets.append(ws)

            async def heartbeat() -> None:
                # As the console does: without it the agent stops counting as online.
                while True:
                    await asyncio.sleep(20)
                    await ws.send(json.dumps({"type": "ping"}))

            beat = asyncio.create_task(heartbeat())
            agent_heartbeats.append(beat)
            async for raw in ws:
                frame = json.loads(raw)
                if os.environ.get("BENCH_DEBUG"):
                    print("agent <", raw[:200])
                offered = []
                if frame["type"] == "offer":
                    offered = [frame["session"]]
                elif frame["type"] == "queue":
                    # Offers also show in the queue snapshot, as on the desk.
                    offered = [c["session"] for c in frame["mine"] if c["state"] == "assigned"]
                for session in offered:
                    if session not in accepting:
                        accepting.add(session)
                        await ws.send(json.dumps({"type": "accept", "session": session}))
                if frame["type"] == "history":
                    accepted.add(frame["session"])
                    if len(accepted) >= conversations:
                        ready.set()
                elif frame["type"] == "message" and frame["sender"] == "customer":
                    client_id = frame.get("client_id") or ""
                    if client_id.startswith("m-"):
                        stats.on_receive(client_id)
                        if not stop.is_set():
                            reply = f"a-{uuid.uuid4().hex}"
                            stats.on_send(reply)
                            await ws.send(
                                json.dumps(
                                    {
                                        "type": "message",
                                        "session": frame["session"],
                                        "client_id": reply,
                                        "text": "reply",
                                    }
                                )
                            )

    async def customer(index: int) -> None:
        try:
            await customer_loop(index)
        except Exception as exc:
            print(f"customer socket failed: {exc!r}")
            raise

    async def customer_loop(index: int) -> None:
        async with connect(f"{url}/ws/chat/", origin=ORIGIN, max_queue=None) as ws:
            await ws.send(
                json.dumps(
                    {
                        "type": "start",
                        "name": f"Customer {index}",
                        "email": f"customer{index}@bench.example",
                        "category": "order_status",
                        "text": "Where is my order?",
                        "client_id": f"s-{uuid.uuid4().hex}",
                    }
                )
            )

            async def reader() -> None:
                async for raw in ws:
                    frame = json.loads(raw)
                    if frame["type"] == "message" and frame["sender"] == "agent":
                        stats.on_receive(frame.get("client_id") or "")

            task = asyncio.create_task(reader())
            await ready.wait()
            await asyncio.sleep(random.uniform(0, interval))
            while not stop.is_set():
                client_id = f"m-{uuid.uuid4().hex}"
                stats.on_send(client_id)
                await ws.send(
                    json.dumps({"type": "message", "client_id": client_id, "text": "still waiting"})
                )
                await asyncio.sleep(interval)
            await asyncio.sleep(5)  # let the last replies arrive
            task.cancel()

    agent_count = len(cookies)
    agents = [asyncio.create_task(agent(c)) for c in cookies]
    await asyncio.sleep(1)
    ramp_start = time.perf_counter()
    ramp_cpu = cpu_seconds(server_pid)
    customers = []
    # Conversations open at a steady rate, as customers arrive, not all in one instant:
    # a start is a ticket, an SLA clock and an offer (tens of milliseconds of work), so a
    # thousand at once only measures a queue of starts.
    for i in range(conversations):
        customers.append(asyncio.create_task(customer(i)))
        await asyncio.sleep(1 / ramp_rate)
    wait_for_accepts = 120.0
    try:
        await asyncio.wait_for(ready.wait(), timeout=wait_for_accepts)
    except TimeoutError:
        print(
            f"only {len(accepted)} of {conversations} chats were accepted "
            f"{wait_for_accepts:.0f} s after the last one opened"
        )
        ready.set()
    ramp_seconds = time.perf_counter() - ramp_start
    # Progress, and the moment a profiler attached to the server should start.
    print(
        f"{len(accepted)} chats open after {ramp_seconds:.0f} s; measuring {duration:.0f} s…",
        flush=True,
    )
    measure_start = time.perf_counter()
    measure_cpu = cpu_seconds(server_pid)
    await asyncio.sleep(duration)
    stop.set()
    measured = time.perf_counter() - measure_start
    measured_cpu = cpu_seconds(server_pid) - measure_cpu
    await asyncio.gather(*customers, return_exceptions=True)
    for ws in agent_sockets:
        await ws.close()
    for task in [*agents, *agent_heartbeats]:
        task.cancel()
    return {
        "conversations": conversations,
        "accepted_by_agents": len(accepted),
        "agents": agent_count,
        "ramp_rate_per_second": ramp_rate,
        "interval_seconds": interval,
        "ramp_seconds": round(ramp_seconds, 1),
        "duration_seconds": round(measured, 1),
        "messages_sent": len(stats.sent),
        "messages_per_second": round(len(stats.sent) / measured, 1),
        "relay_p50_ms": stats.percentile_ms(50),
        "relay_p95_ms": stats.percentile_ms(95),
        "relay_p99_ms": stats.percentile_ms(99),
        "relay_p99_ms_per_10s": stats.p99_by_period(measure_start, 10.0),
        "lost": stats.lost(),
        "duplicated": stats.duplicated(),
        # The server's CPU: opening the chats (start, offer, accept, welcome, per chat)
        # and in the measured time per message relayed (a customer's or an agent's).
        "server_cpu_ms_per_chat_opened": round((measure_cpu - ramp_cpu) * 1000 / conversations, 1),
        "server_cpu_ms_per_message": round(
            measured_cpu * 1000 / max(1, len(stats.latencies_ms)), 1
        ),
        "server_cpu_share_measured": round(measured_cpu / measured, 2),
    }


async def idle_connections(port: int, count: int, pid: int) -> dict[str, object]:
    from websockets.asyncio.client import connect

    before = rss_kib(pid)
    sockets = []
    for i in range(count):
        sockets.append(await connect(f"ws://127.0.0.1:{port}/ws/chat/", origin=ORIGIN))
        if i % 500 == 499:
            await asyncio.sleep(0.1)
    await asyncio.sleep(2)
    after = rss_kib(pid)
    for ws in sockets:
        await ws.close()
    per_connection_kib = (after - before) / count
    return {
        "idle_connections": count,
        "rss_before_mib": round(before / 1024, 1),
        "rss_after_mib": round(after / 1024, 1),
        "kib_per_idle_connection": round(per_connection_kib, 1),
        "idle_connections_in_1_gib": int((1024 * 1024 - before) / per_connection_kib)
        if per_connection_kib > 0
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument(
        "--interval",
        type=float,
        default=10.0,
        help="seconds between a customer's messages (each gets a reply)",
    )
    parser.add_argument(
        "--ramp-rate", type=float, default=20.0, help="conversations opened per second"
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--chats-per-agent",
        type=int,
        default=CHATS_PER_AGENT,
        help="concurrent chats per simulated agent (their limit); agents = conversations / this",
    )
    parser.add_argument(
        "--pg-name",
        default="izonie_bench_chat",
        help="PostgreSQL database to (re)create for the run (dropped first)",
    )
    parser.add_argument(
        "--idle",
        type=int,
        default=2000,
        help="idle connections to open for the memory figure (0 skips)",
    )
    args = parser.parse_args()
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    agents = max(1, -(-args.conversations // args.chats_per_agent))
    with tempfile.TemporaryDirectory(prefix="izonie-chat-bench-") as tmp:
        print(f"Preparing a fresh {args.database} database with {agents} agents online…")
        env, cookies = prepare(Path(tmp), args.database, agents, args.pg_name, args.chats_per_agent)
        port = free_port()
        server = start_server(env, port)
        try:
            print(
                f"Server pid {server.pid}; RSS {rss_kib(server.pid) / 1024:.0f} MiB. "
                f"Opening {args.conversations} conversations…"
            )
            result = asyncio.run(
                run_load(
                    port,
                    cookies,
                    args.conversations,
                    args.duration,
                    args.interval,
                    args.ramp_rate,
                    server.pid,
                )
            )
            result["database"] = args.database
            result["server_rss_mib_under_load"] = round(rss_kib(server.pid) / 1024, 1)
            for key, value in result.items():
                print(f"  {key:<28} {value}")
            if args.idle:
                idle = asyncio.run(idle_connections(port, args.idle, server.pid))
                for key, value in idle.items():
                    print(f"  {key:<28} {value}")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
