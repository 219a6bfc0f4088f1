"""A worker killed in the middle of a task leaves it RUNNING; core.task_recovery queues it
again, so the work (here an agent's reply) is done instead of lost."""

from __future__ import annotations

import datetime as dt
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.tests.factories import AgentFactory
from core.housekeeping import Housekeeping
from core.task_recovery import abandoned_after, tasks_requeue_abandoned
from tickets import services
from tickets.choices import DeliveryStatus
from tickets.models import OutboundMessage
from tickets.tests.factories import TicketFactory

DELIVER = "tickets.tasks.deliver_outbound"


def _reply_claimed_by_a_worker_that_died(started_minutes_ago: float, capture) -> OutboundMessage:
    ticket = TicketFactory()
    with capture(execute=True):
        message = services.ticket_reply(ticket=ticket, author=AgentFactory(), body="On its way")
    task = DBTaskResult.objects.get(task_path=DELIVER)
    # What a worker leaves behind when it is killed mid-task: claimed, never finished.
    task.claim("worker-killed-mid-task")
    DBTaskResult.objects.filter(pk=task.pk).update(
        started_at=timezone.now() - dt.timedelta(minutes=started_minutes_ago)
    )
    return OutboundMessage.objects.get(message=message)


@pytest.mark.django_db
def test_a_reply_whose_worker_died_is_queued_again_and_sent_once(
    run_tasks, django_capture_on_commit_callbacks
):
    outbound = _reply_claimed_by_a_worker_that_died(20, django_capture_on_commit_callbacks)
    assert run_tasks() == 0  # RUNNING: no worker would ever pick it up again
    outbound.refresh_from_db()
    assert outbound.status == DeliveryStatus.PENDING

    assert tasks_requeue_abandoned(older_than=dt.timedelta(minutes=15)) == 1

    assert run_tasks() == 1
    outbound.refresh_from_db()
    assert outbound.status == DeliveryStatus.SENT
    assert outbound.attempts == 1
    task = DBTaskResult.objects.get(task_path=DELIVER)
    assert task.status == "SUCCESSFUL"
    assert task.worker_ids == ["worker-killed-mid-task", "pytest"]


@pytest.mark.django_db
def test_a_task_running_for_less_than_the_limit_is_left_to_its_worker(
    run_tasks, django_capture_on_commit_callbacks
):
    outbound = _reply_claimed_by_a_worker_that_died(2, django_capture_on_commit_callbacks)
    assert tasks_requeue_abandoned(older_than=dt.timedelta(minutes=15)) == 0
    assert DBTaskResult.objects.get(task_path=DELIVER).status == "RUNNING"
    assert run_tasks() == 0
    outbound.refresh_from_db()
    assert outbound.status == DeliveryStatus.PENDING


@pytest.mark.django_db
def test_the_command_for_cron_reports_what_it_queued(django_capture_on_commit_callbacks):
    _reply_claimed_by_a_worker_that_died(20, django_capture_on_commit_callbacks)
    out = StringIO()
    call_command("tasks_requeue_abandoned", "--older-than", "600", stdout=out)
    assert "Queued 1 abandoned tasks again." in out.getvalue()
    assert DBTaskResult.objects.get(task_path=DELIVER).status == "READY"


@pytest.mark.django_db(transaction=True)
def test_housekeeping_beside_the_in_process_worker_finds_them_by_itself(
    settings, django_capture_on_commit_callbacks
):
    settings.IZONIE_TASK_ABANDONED_AFTER_SECONDS = 600
    _reply_claimed_by_a_worker_that_died(20, django_capture_on_commit_callbacks)
    sweeper = Housekeeping(worker_id="in-process", every_seconds=0.05)
    sweeper.every(0.05, lambda: tasks_requeue_abandoned(older_than=abandoned_after()))
    sweeper.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if DBTaskResult.objects.get(task_path=DELIVER).status == "READY":
                break
            time.sleep(0.05)
    finally:
        sweeper.stop()
        sweeper.thread.join(timeout=5)
    assert DBTaskResult.objects.get(task_path=DELIVER).status == "READY"


@pytest.mark.django_db
def test_only_tasks_of_workers_that_stopped_beating_are_queued_again(
    django_capture_on_commit_callbacks,
):
    from core.models import WorkerHeartbeat
    from core.task_recovery import tasks_requeue_of_dead_workers, worker_beat

    _reply_claimed_by_a_worker_that_died(0.5, django_capture_on_commit_callbacks)
    worker_beat(worker_id="worker-killed-mid-task")
    # Beating: alive, however long its task has run.
    assert tasks_requeue_of_dead_workers(dead_after=dt.timedelta(minutes=1)) == 0
    WorkerHeartbeat.objects.update(beat_at=timezone.now() - dt.timedelta(minutes=2))
    assert tasks_requeue_of_dead_workers(dead_after=dt.timedelta(minutes=1)) == 1
    assert DBTaskResult.objects.get(task_path=DELIVER).status == "READY"
