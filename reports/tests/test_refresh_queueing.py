"""A change queues a reports refresh only when none is waiting, and asks the database
as seldom as it can know the answer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from core.coalesce import forget_planned_runs
from reports.signals import _enqueue_refresh
from reports.tasks import reports_refresh

pytestmark = pytest.mark.django_db


def _waiting() -> list[DBTaskResult]:
    return list(
        DBTaskResult.objects.filter(
            status=TaskResultStatus.READY, task_path=reports_refresh.module_path
        )
    )


def _task_reads(queries: CaptureQueriesContext) -> int:
    table = DBTaskResult._meta.db_table
    return sum(1 for q in queries.captured_queries if table in q["sql"] and "SELECT" in q["sql"])


def test_a_refresh_queued_elsewhere_spares_the_next_changes_the_look_up(settings):
    settings.IZONIE_REPORTS_REFRESH_DELAY_SECONDS = 60
    # Another process queued a refresh starting in a minute; this one knows nothing of it.
    reports_refresh.using(run_after=timezone.now() + dt.timedelta(seconds=60)).enqueue()
    forget_planned_runs()

    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):  # five changes committed in a burst
            _enqueue_refresh()
    assert _task_reads(queries) == 1
    assert len(_waiting()) == 1  # the waiting refresh covers them all


def test_a_refresh_due_or_overdue_is_looked_up_again_but_not_queued_twice(settings):
    settings.IZONIE_REPORTS_REFRESH_DELAY_SECONDS = 60
    # Due in ten seconds: it may start before a later change commits, so that change
    # must look again (and finds it still waiting: no second refresh).
    reports_refresh.using(run_after=timezone.now() + dt.timedelta(seconds=10)).enqueue()
    forget_planned_runs()

    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            _enqueue_refresh()
    assert _task_reads(queries) == 3
    assert len(_waiting()) == 1


def test_with_none_waiting_a_change_queues_one(settings):
    settings.IZONIE_REPORTS_REFRESH_DELAY_SECONDS = 60
    forget_planned_runs()
    _enqueue_refresh()
    _enqueue_refresh()
    (waiting,) = _waiting()
    assert waiting.run_after is not None and waiting.run_after > timezone.now()


def test_the_look_up_reads_the_refresh_s_rows_not_every_timer_waiting(settings):
    # The SLA keeps timers waiting for every open ticket; the look-up after a change must
    # go straight to the refresh's own rows (an index by task), not scan all of them.
    from core.task_rows import PlannedTask, tasks_enqueue_many
    from sla.tasks import sla_clock_fire

    later = timezone.now() + dt.timedelta(hours=4)
    tasks_enqueue_many(
        [
            PlannedTask(
                sla_clock_fire,
                {"clock_id": n, "moment": "breach", "expected_at": later.isoformat()},
                later,
            )
            for n in range(400)
        ]
    )
    reports_refresh.using(run_after=timezone.now() + dt.timedelta(seconds=10)).enqueue()
    forget_planned_runs()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE django_tasks_database_dbtaskresult")
    with CaptureQueriesContext(connection) as queries:
        _enqueue_refresh()
    (look_up,) = [q["sql"] for q in queries.captured_queries if "SELECT" in q["sql"]]
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(explain + look_up)
        plan = " ".join(str(part) for row in cursor.fetchall() for part in row)
    assert "izonie_task_rows_ready_by_task" in plan, plan
