"""Live chat, one operation at a time: SQL statements and CPU per chat start, customer
message and agent message, called in-process the way the consumers call them.

    .venv/bin/python -m bench.chat_ops                        # PostgreSQL, 200 chats
    .venv/bin/python -m bench.chat_ops --chats 50 --show-sql  # print one op's statements

Runs on a fresh PostgreSQL database (``--name``, default ``izonie_bench_chat_ops``) with
live chat open around the clock and enough agents online. The channel layer is the
in-memory one, so the on-commit relays run too (nobody listens). Prints, per operation,
statements (median), and wall and CPU milliseconds p50/p95 of this process. A chat start
is measured alone, offered to an agent before returning; alone with the offer after the
answer (one round of offers per ten starts); and as the socket now writes starts that
arrive together (``--batch`` of them in one ``chat_starts`` call, then one round of
offers; another ``--chats``/2 chats). Messages one at a time and in batches of ten chats'
messages, as the relay writes them under load. ``--profile`` prints a cProfile (CPU
time) of the batched starts, ``--profile lone`` of the lone starts.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import fresh_database, percentile  # noqa: E402


def _measure(
    label: str,
    calls: list[Callable[[], Any]],
    show_sql: bool,
    into: dict[str, list[float]] | None = None,
) -> dict[str, Any]:
    """Run ``calls`` one by one; their figures, added to ``into``'s when given (an
    operation measured in several parts)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    raw = into if into is not None else {"statements": [], "wall": [], "cpu": []}
    for index, call in enumerate(calls):
        connection.queries_log.clear()  # it keeps 9,000 statements, then counts none
        with CaptureQueriesContext(connection) as captured:
            w0, c0 = time.perf_counter(), time.process_time()
            call()
            w1, c1 = time.perf_counter(), time.process_time()
        raw["statements"].append(len(captured.captured_queries))
        raw["wall"].append((w1 - w0) * 1000)
        raw["cpu"].append((c1 - c0) * 1000)
        if show_sql and index == len(calls) // 2:
            print(f"--- {label}: {len(captured.captured_queries)} statements")
            for query in captured.captured_queries:
                print("   ", query["sql"][:220])
    wall, cpu = raw["wall"], raw["cpu"]
    return {
        "op": label,
        "n": len(wall),
        "statements": statistics.median(raw["statements"]),
        "wall_p50_ms": round(statistics.median(wall), 1),
        "wall_p95_ms": round(percentile(wall, 95), 1),
        "cpu_p50_ms": round(statistics.median(cpu), 1),
        "cpu_p95_ms": round(percentile(cpu, 95), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--name", default="izonie_bench_chat_ops")
    parser.add_argument("--show-sql", action="store_true")
    parser.add_argument(
        "--batch", type=int, default=10, help="starts written together (default 10)"
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="batch",
        choices=["batch", "lone"],
        help="print a cProfile (CPU time) of the starts written together (batch, the "
        "default) or of the lone starts with the offer after them (lone)",
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="izonie-chat-ops-"))
    policy = yaml.safe_load((ROOT / "policies" / "izonie.yaml").read_text())
    policy["channels"]["live_chat"]["hours"] = None
    (tmp / "policy.yaml").write_text(yaml.safe_dump(policy))
    os.environ.update(
        IZONIE_VAR_DIR=str(tmp),
        IZONIE_POLICY_FILE=str(tmp / "policy.yaml"),
        IZONIE_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    os.environ.pop("REDIS_URL", None)
    fresh_database(args.name)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from accounts.models import Role, User
    from chat import services
    from chat.models import AgentPresence, Presence

    per_agent = 25
    agents = []
    for i in range(max(1, -(-(args.chats * 3 // 2) // per_agent))):
        agent = User.objects.create(
            username=f"ops.agent{i}", role=Role.AGENT, display_name=f"Agent {i}"
        )
        AgentPresence.objects.create(
            agent=agent,
            status=Presence.ONLINE,
            max_chats=per_agent,
            last_seen_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2),
        )
        agents.append(agent)

    sessions: list[Any] = []

    def start(i: int, *, assign: bool = True) -> Callable[[], None]:
        def call() -> None:
            request = services.StartRequest(
                name=f"Customer {i}",
                email=f"customer{i}@ops.example",
                category="order_status",
                text="Where is my order?",
                client_id=f"s-{uuid.uuid4().hex}",
            )
            session, _created = services.chat_start(request=request, assign=assign)
            sessions.append(session)

        return call

    half = args.chats // 2
    results = [_measure("chat_start", [start(i) for i in range(half)], args.show_sql)]
    # As the socket starts chats: the offer follows the answer, one round of offers for
    # the chats opened meanwhile (here ten at a time).
    starts: dict[str, list[float]] = {"statements": [], "wall": [], "cpu": []}
    rounds: dict[str, list[float]] = {"statements": [], "wall": [], "cpu": []}
    lone_profile = cProfile.Profile(time.process_time) if args.profile == "lone" else None
    for first in range(half, args.chats, 10):
        chunk = [start(i, assign=False) for i in range(first, min(first + 10, args.chats))]
        if lone_profile is not None:
            lone_profile.enable()
        later = _measure("start, offer after", chunk, args.show_sql, into=starts)
        if lone_profile is not None:
            lone_profile.disable()
        offers = _measure(
            "offer round of 10", [services.chat_assign_waiting], args.show_sql, into=rounds
        )
    if args.chats > half:
        results += [later, offers]
    if lone_profile is not None:
        pstats.Stats(lone_profile).sort_stats("cumulative").print_stats(60)
    # As the socket now writes starts arriving together (``chat.batching``): one
    # ``chat_starts`` call for ``--batch`` of them, then one round of offers.
    size = args.batch

    def starts_together(first: int) -> Callable[[], None]:
        def call() -> None:
            outcomes = services.chat_starts(
                [
                    services.StartIn(
                        request=services.StartRequest(
                            name=f"Customer {i}",
                            email=f"customer{i}@ops.example",
                            category="order_status",
                            text="Where is my order?",
                            client_id=f"s-{uuid.uuid4().hex}",
                        )
                    )
                    for i in range(first, first + size)
                ]
            )
            for outcome in outcomes:
                sessions.append(outcome.unwrap()[0])

        return call

    batched: dict[str, list[float]] = {"statements": [], "wall": [], "cpu": []}
    batch_rounds: dict[str, list[float]] = {"statements": [], "wall": [], "cpu": []}
    profile = cProfile.Profile(time.process_time) if args.profile == "batch" else None
    together = None
    for first in range(args.chats, args.chats + args.chats // 2, size):
        if profile is not None:
            profile.enable()
        together = _measure(
            f"starts batch/{size}", [starts_together(first)], args.show_sql, into=batched
        )
        if profile is not None:
            profile.disable()
        round_after = _measure(
            f"offers after/{size}", [services.chat_assign_waiting], args.show_sql, into=batch_rounds
        )
    if together is not None:
        results += [together, round_after]
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
    # The agents accept what they were offered, as the console does.
    by_id = {a.pk: a for a in agents}
    for session in sessions:
        session.refresh_from_db()
        services.chat_accept(session=session, agent=by_id[session.agent_id])
    sessions = [services.chat_get(s.public_id) for s in sessions]

    def customer(session: Any) -> Callable[[], None]:
        return lambda: services.chat_customer_message(
            session=session, client_id=f"m-{uuid.uuid4().hex}", text="still waiting"
        )

    def agent(session: Any) -> Callable[[], None]:
        return lambda: services.chat_agent_message(
            session=session,
            agent=by_id[session.agent_id],
            client_id=f"a-{uuid.uuid4().hex}",
            text="reply",
        )

    for _round in range(2):  # the first answer on a chat differs (first reply, status)
        results.append(_measure("customer message", [customer(s) for s in sessions], args.show_sql))
        results.append(_measure("agent message", [agent(s) for s in sessions], args.show_sql))

    # As the relay writes them under load: ten messages of ten chats in one batch
    # (figures per batch of 10).
    def batch(group: list[Any], *, agents_too: bool) -> Callable[[], None]:
        def call() -> None:
            items = [
                services.MessageIn(
                    session=s, client_id=f"b-{uuid.uuid4().hex}", text="still waiting"
                )
                for s in group
            ]
            if agents_too:
                items = [
                    services.MessageIn(
                        session=s,
                        client_id=f"c-{uuid.uuid4().hex}",
                        text="reply",
                        agent=by_id[s.agent_id],
                    )
                    for s in group
                ]
            outcomes = services.chat_messages_store(items)
            assert all(o.error is None for o in outcomes), outcomes

        return call

    groups = [sessions[i : i + 10] for i in range(0, len(sessions) - 9, 10)]
    results.append(
        _measure("customer batch/10", [batch(g, agents_too=False) for g in groups], args.show_sql)
    )
    results.append(
        _measure("agent batch/10", [batch(g, agents_too=True) for g in groups], args.show_sql)
    )
    print(f"{args.chats} chats, {len(agents)} agents, PostgreSQL ({args.name})")
    print(f"{'op':<36} {'n':>5} {'stmts':>6} {'wall p50':>9} {'p95':>7} {'cpu p50':>8} {'p95':>7}")
    for r in results:
        if "/" in r["op"]:
            per = int(r["op"].rsplit("/", 1)[1])
            r["op"] += f" ({r['cpu_p50_ms'] / per:.1f} ms CPU each)"
        print(
            f"{r['op']:<36} {r['n']:>5} {r['statements']:>6} {r['wall_p50_ms']:>9} "
            f"{r['wall_p95_ms']:>7} {r['cpu_p50_ms']:>8} {r['cpu_p95_ms']:>7}"
        )


if __name__ == "__main__":
    main()
