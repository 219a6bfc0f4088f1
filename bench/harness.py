"""Shared pieces for benchmarks: a dedicated PostgreSQL database per data size, timing."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_PG = os.environ.get("IZONIE_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432")
# Benchmarks run the real settings over plain HTTP on loopback, with a key of their own;
# the servers they start in subprocesses inherit both (docs/security/production.md).
os.environ.setdefault("DJANGO_SECRET_KEY", "izonie-benchmarks-only-key-never-used-elsewhere")
os.environ.setdefault("IZONIE_HTTPS", "0")


def use_database(name: str) -> str:
    """Create PostgreSQL database ``name`` if needed and point Django at it (before setup)."""
    import psycopg

    with psycopg.connect(f"{BENCH_PG}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{BENCH_PG}/{name}"
    os.environ["DATABASE_URL"] = url
    return url


def fresh_database(name: str) -> str:
    """Drop PostgreSQL database ``name`` (closing its sessions), create it empty and point
    Django at it (before setup)."""
    import psycopg

    with psycopg.connect(f"{BENCH_PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{BENCH_PG}/{name}"
    os.environ["DATABASE_URL"] = url
    return url


def generated_database(
    name: str, *, tickets: int, customers: int, agents: int, progress: Callable[[str], None]
) -> str:
    """A fresh database ``name``, migrated, filled by ``bench.generate`` and analysed;
    Django set up on it. Its URL."""
    url = fresh_database(name)
    django_setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.generate import generate

    call_command("migrate", verbosity=0)
    generate(tickets=tickets, customers=customers, agents=agents, progress=progress)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return url


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("IZONIE_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def timed(fn: Callable[[], Any], *, runs: int, warmup: int = 10) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    samples, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return {
        # This process's CPU time (Python, templates, the driver): the database's own
        # work is in the wall time only.
        "cpu_p50_ms": round(statistics.median(cpu), 2),
        "cpu_p95_ms": round(percentile(cpu, 95), 2),
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(percentile(samples, 95), 2),
        "p99_ms": round(percentile(samples, 99), 2),
        "runs": runs,
    }


def prepare_dataset(size: int, *, fresh: bool = False) -> None:
    """Migrate, and fill the current database with ``size`` generated tickets unless it
    already holds them (``fresh`` rebuilds). Call after ``django_setup``."""
    from django.core.management import call_command
    from django.db import connection

    from bench.generate import generate
    from tickets.models import Ticket

    call_command("migrate", verbosity=0)
    if not fresh and Ticket.objects.count() >= size:
        print(f"  reusing {size:,} tickets", file=sys.stderr)
        return
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tickets_ticket, accounts_user RESTART IDENTITY CASCADE")
    generate(
        tickets=size,
        customers=max(1000, size // 20),
        progress=lambda line: print(line, file=sys.stderr),
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
