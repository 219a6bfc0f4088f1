"""Keep the rollups current: every ticket event and Help Center deflection marks work.

Markers are written in the same transaction as the change (so a rolled-back change marks
nothing and a committed one is never missed); the refresh task is enqueued on commit.
Many changes in a burst share one refresh, scheduled a little later: the task takes
every marker present when it runs. Events written together (a ticket being opened)
mark their tickets and enqueue once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_save

from core.coalesce import PlannedRun
from helpcenter.models import Deflection
from reports import rollups
from tickets.events import events_written_together
from tickets.models import TicketEvent

planned_refresh = PlannedRun()


def _enqueue_refresh() -> None:
    """Schedule one refresh a little later, unless one is already waiting to run.

    The delay batches a burst (a busy chat hour) into one recomputation; a refresh that is
    waiting reads the markers when it runs, so it covers this change too. One this process
    queued is known without asking the database; another process's is looked up.
    """
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from reports.tasks import reports_refresh

    delay = dt.timedelta(seconds=settings.IZONIE_REPORTS_REFRESH_DELAY_SECONDS)
    planned = planned_refresh.plan(delay=delay)
    if planned is None:
        return
    starts = list(
        DBTaskResult.objects.filter(
            status=TaskResultStatus.READY, task_path=reports_refresh.module_path
        )
        .order_by(F("run_after").desc(nulls_last=True))
        .values_list("run_after", flat=True)[:1]
    )
    if starts:
        # Another process's refresh: it reads this change's markers when it starts. Its
        # start is remembered as if this process had planned it, so the changes until
        # shortly before then do not look again (every commit of a web process did,
        # until the refresh ran). One already due is looked up by every change: it may
        # start at any moment.
        planned_refresh.known(starts[0])
        return
    reports_refresh.using(run_after=planned).enqueue()


def _event_saved(sender: Any, instance: TicketEvent, created: bool, **kwargs: Any) -> None:
    if not created or kwargs.get("raw"):
        return
    rollups.mark_tickets_dirty([instance.ticket_id])
    transaction.on_commit(_enqueue_refresh)


def _events_written(sender: Any, events: list[TicketEvent], **kwargs: Any) -> None:
    rollups.mark_tickets_dirty([event.ticket_id for event in events])
    transaction.on_commit(_enqueue_refresh)


def _deflection_saved(sender: Any, instance: Deflection, created: bool, **kwargs: Any) -> None:
    if not created or kwargs.get("raw"):
        return
    rollups.mark_days_dirty([rollups.local_day(instance.created_at, rollups.team_zone())])
    transaction.on_commit(_enqueue_refresh)


def connect() -> None:
    post_save.connect(_event_saved, sender=TicketEvent, dispatch_uid="reports_event_saved")
    events_written_together.connect(_events_written, dispatch_uid="reports_events_written")
    post_save.connect(_deflection_saved, sender=Deflection, dispatch_uid="reports_deflection_saved")
