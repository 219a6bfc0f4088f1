"""Outbox rows that lost their delivery task (core.sweeper).

A reply is committed with its OutboundMessage, and ``deliver_outbound`` is enqueued by an
on-commit hook. A process that dies between the commit and the hook (or while a retry's
hook waits) leaves the row PENDING with no task: the customer never gets the reply and
nothing says so. These are found and given a task again; delivery claims each attempt
with a conditional update, so a late duplicate task sends nothing twice.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from core.task_recovery import live_task_ids
from tickets.choices import DeliveryStatus
from tickets.models import OutboundMessage

DELIVER_TASK = "tickets.tasks.deliver_outbound"


def outbox_orphans(*, grace: dt.timedelta) -> list[int]:
    """Ids of pending deliveries older than ``grace`` (their hook had time to run) that
    have no task waiting or running. The sweep queues them; bench/chaos.py counts them."""
    cutoff = timezone.now() - grace
    pending: set[int] = set(
        OutboundMessage.objects.filter(status=DeliveryStatus.PENDING, created_at__lt=cutoff)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=cutoff))
        .values_list("pk", flat=True)
    )
    if not pending:
        return []
    live = live_task_ids(task_path=DELIVER_TASK, key="outbound_id")
    return sorted(pk for pk in pending if pk not in live)


def outbox_requeue_orphans(*, grace: dt.timedelta) -> int:
    """Enqueue ``deliver_outbound`` for each of ``outbox_orphans``. Returns how many."""
    from tickets.tasks import deliver_outbound

    orphans = outbox_orphans(grace=grace)
    for outbound_id in orphans:
        deliver_outbound.enqueue(outbound_id=outbound_id)
    return len(orphans)
