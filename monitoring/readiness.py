"""What a load balancer asks before sending a web process traffic (``/readyz``).

Each check answers quickly and on its own: one that fails says why, the others still run,
and none of them raises. Thresholds are settings (``IZONIE_READY_*``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def check_database() -> CheckResult:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return CheckResult(
        "database", True, f"answered in {1000 * (time.perf_counter() - started):.1f} ms"
    )


def check_channel_layer() -> CheckResult:
    layer = get_channel_layer()
    if layer is None:
        return CheckResult("channel_layer", False, "no channel layer configured")

    async def round_trip() -> None:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "readiness.ping"})
        await asyncio.wait_for(layer.receive(channel), timeout=2)

    async_to_sync(round_trip)()
    return CheckResult("channel_layer", True, type(layer).__name__)


_migrations_applied = False


def check_migrations() -> CheckResult:
    """Whether the database has every migration this code expects. Once true it stays true
    for the life of the process (migrations are applied before a release starts)."""
    global _migrations_applied
    if not _migrations_applied:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
            return CheckResult("migrations", False, f"{len(plan)} not applied: {names}")
        _migrations_applied = True
    return CheckResult("migrations", True, "all applied")


def check_task_queue() -> CheckResult:
    from django_tasks_db.models import DBTaskResult

    limit = settings.IZONIE_READY_MAX_TASK_LAG_SECONDS
    oldest = (
        DBTaskResult.objects.ready()
        .order_by("enqueued_at")
        .values_list("enqueued_at", flat=True)
        .first()
    )
    if oldest is None:
        return CheckResult("task_queue", True, "empty")
    lag = (timezone.now() - oldest).total_seconds()
    return CheckResult(
        "task_queue", lag <= limit, f"oldest ready task waiting {lag:.0f} s (limit {limit} s)"
    )


def check_mail_fetcher() -> CheckResult:
    from mail.models import ImapMailboxState

    if not settings.IZONIE_IMAP_HOST:
        return CheckResult("mail_fetcher", True, "IMAP not configured")
    limit = settings.IZONIE_READY_MAX_FETCHER_SILENCE_SECONDS
    last = ImapMailboxState.objects.order_by("-updated_at").values_list("updated_at", flat=True)
    last_contact = last.first()
    if last_contact is None:
        return CheckResult("mail_fetcher", False, "the fetcher has not reached the mailbox yet")
    silence = (timezone.now() - last_contact).total_seconds()
    when = last_contact.astimezone(dt.UTC).isoformat(timespec="seconds")
    return CheckResult(
        "mail_fetcher", silence <= limit, f"last contact {when} ({silence:.0f} s ago)"
    )


CHECKS: tuple[Callable[[], CheckResult], ...] = (
    check_database,
    check_migrations,
    check_channel_layer,
    check_task_queue,
    check_mail_fetcher,
)


def readiness() -> list[CheckResult]:
    results = []
    for check in CHECKS:
        name = check.__name__.removeprefix("check_")
        try:
            results.append(check())
        except Exception as exc:
            # A readiness probe reports what failed; it never raises (a 500 tells nothing).
            results.append(CheckResult(name, False, f"{type(exc).__name__}: {exc}"[:300]))
    return results
