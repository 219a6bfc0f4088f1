"""Follow-up work that lost its task is found and queued again (docs/operations/recovery.md).

Writes commit their rows and enqueue the follow-up task in an on-commit hook (STYLE.md §4).
A process that dies between the commit and the hook (kill -9, out of memory, a deploy)
leaves committed work with no task: a reply never sent, an SLA clock that never warns, a
webhook delivery acknowledged to Meta but never read. Every worker (and serve) runs this
sweep every IZONIE_SWEEP_EVERY_SECONDS; rows younger than IZONIE_SWEEP_GRACE_SECONDS are
left to their own hook. The sweep holds a lock so that two workers do not both queue the
same work, and enqueues inside its transaction: the task rows commit with the decision.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger(__name__)

DRAIN_TASK = "social.tasks.process_received_deliveries"
# pg_advisory_xact_lock key: "izonie sweep" in a bigint, any fixed number would do.
SWEEP_LOCK = 0x1A0_5EE9


@dataclass(frozen=True)
class SweepResult:
    outbox: int
    sla_clocks: int
    social_deliveries: int

    @property
    def total(self) -> int:
        return self.outbox + self.sla_clocks + self.social_deliveries


def _sweep_lock() -> bool:
    """Whether this transaction may sweep. On PostgreSQL one sweeper at a time holds an
    advisory lock (the others skip this round); SQLite's writers already take turns."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SWEEP_LOCK])
        row = cursor.fetchone()
    return bool(row and row[0])


def social_orphans(*, grace: dt.timedelta) -> int:
    """How many deliveries have waited unprocessed longer than ``grace`` with no drain
    queued or running (0 while a drain is on its way). The sweep queues a drain for them;
    bench/chaos.py counts them."""
    from social.models import DeliveryStatus, WebhookDelivery

    waiting = WebhookDelivery.objects.filter(
        status=DeliveryStatus.RECEIVED, received_at__lt=timezone.now() - grace
    ).count()
    if not waiting:
        return 0
    draining = DBTaskResult.objects.filter(
        task_path=DRAIN_TASK, status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
    ).exists()
    return 0 if draining else waiting


def social_requeue_orphans(*, grace: dt.timedelta) -> int:
    """Queue a drain for ``social_orphans``. Returns how many deliveries were waiting."""
    from social.tasks import process_received_deliveries

    waiting = social_orphans(grace=grace)
    if waiting:
        process_received_deliveries.enqueue()
    return waiting


def follow_up_sweep(*, grace: dt.timedelta | None = None) -> SweepResult | None:
    """Queue again every piece of follow-up work that lost its task. None when another
    process is sweeping right now."""
    from sla.recovery import clocks_reschedule_orphans
    from tickets.recovery import outbox_requeue_orphans

    if grace is None:
        grace = dt.timedelta(seconds=settings.IZONIE_SWEEP_GRACE_SECONDS)
    with transaction.atomic():
        if not _sweep_lock():
            return None
        result = SweepResult(
            outbox=outbox_requeue_orphans(grace=grace),
            sla_clocks=clocks_reschedule_orphans(grace=grace),
            social_deliveries=social_requeue_orphans(grace=grace),
        )
    if result.total:
        logger.warning(
            "Queued again work that lost its task: %s outbox, %s SLA clocks, %s social",
            result.outbox,
            result.sla_clocks,
            result.social_deliveries,
        )
    return result
