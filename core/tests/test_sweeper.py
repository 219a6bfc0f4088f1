"""Work committed by a process that died before its on-commit hooks ran is found by the
sweep and done exactly once (core.sweeper, docs/operations/recovery.md)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.tests.factories import AgentFactory
from core.sweeper import follow_up_sweep
from mail.intake import ingest_raw
from mail.tests.test_intake import mail
from sla.models import ClockStatus, SlaClock
from social import services as social_services
from social.models import DeliveryStatus as SocialStatus
from social.models import WebhookDelivery
from tickets import services
from tickets.choices import DeliveryStatus
from tickets.models import OutboundMessage

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - dt.timedelta(minutes=5)


def died_before_hooks(capture, write):
    """Run ``write`` and commit it, then throw its on-commit hooks away, as a process
    killed between the commit and the hooks does."""
    with capture(execute=False) as hooks:
        result = write()
    assert hooks, "the write schedules its follow-up work on commit"
    return result


def test_a_reply_whose_hook_never_ran_is_mailed_once(
    smtp_server, run_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ingest_raw(raw=mail()).ticket
    run_tasks()
    smtp_server.messages.clear()  # the acknowledgement, if the policy sends one
    # An agent's reply commits its delivery task with it (the write path's task rows):
    # a process killed after the commit loses nothing.
    reply = died_before_hooks(
        django_capture_on_commit_callbacks,
        lambda: services.ticket_reply(ticket=ticket, author=AgentFactory(), body="Shipped"),
    )
    assert run_tasks() == 1
    assert OutboundMessage.objects.get(message=reply).status == DeliveryStatus.SENT
    smtp_server.messages.clear()

    # A message from the system still enqueues on commit: its lost hook is swept.
    def system_reply():
        with transaction.atomic():
            return services.ticket_system_reply(ticket=ticket, body="We are on it")

    message = died_before_hooks(django_capture_on_commit_callbacks, system_reply)
    outbound = OutboundMessage.objects.get(message=message)
    assert run_tasks() == 0  # lost: nothing would ever send it

    # Younger than the grace period: its hook may still be about to run.
    assert follow_up_sweep(grace=dt.timedelta(minutes=1)).outbox == 0
    OutboundMessage.objects.filter(pk=outbound.pk).update(created_at=LONG_AGO)
    assert follow_up_sweep(grace=dt.timedelta(minutes=1)).outbox == 1
    assert follow_up_sweep(grace=dt.timedelta(minutes=1)).outbox == 0  # it has a task now

    run_tasks()
    outbound.refresh_from_db()
    assert outbound.status == DeliveryStatus.SENT
    assert outbound.attempts == 1
    assert len(smtp_server.messages) == 1
    assert follow_up_sweep(grace=dt.timedelta(minutes=1)).outbox == 0  # sent: nothing to do


def test_running_sla_clocks_whose_timers_were_lost_get_one_timer_each(
    django_capture_on_commit_callbacks,
):
    ticket = died_before_hooks(
        django_capture_on_commit_callbacks, lambda: ingest_raw(raw=mail()).ticket
    )
    running = SlaClock.objects.filter(ticket=ticket, status=ClockStatus.RUNNING)
    assert running.exists()
    # The write path's timers commit with the ticket (core.task_rows); a clock started or
    # moved elsewhere enqueues its timer on commit, and a crash there loses it: as here.
    lost = DBTaskResult.objects.filter(task_path="sla.tasks.sla_clock_fire")
    assert lost.count() == running.count()
    lost.delete()
    running.update(started_at=LONG_AGO, segment_started_at=LONG_AGO)

    with django_capture_on_commit_callbacks(execute=True):
        first = follow_up_sweep(grace=dt.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        second = follow_up_sweep(grace=dt.timedelta(minutes=1))

    timers = DBTaskResult.objects.filter(task_path="sla.tasks.sla_clock_fire")
    assert first.sla_clocks == running.count() == timers.count()
    assert second.sla_clocks == 0
    assert sorted(t.args_kwargs["kwargs"]["clock_id"] for t in timers) == sorted(
        running.values_list("pk", flat=True)
    )


def test_a_stored_webhook_delivery_whose_drain_was_lost_is_processed(
    run_tasks, django_capture_on_commit_callbacks
):
    body = json.dumps({"object": "page", "entry": []}).encode()
    died_before_hooks(
        django_capture_on_commit_callbacks,
        lambda: social_services.delivery_store(source="meta", body=body, event_count=0),
    )
    WebhookDelivery.objects.update(received_at=LONG_AGO)
    assert follow_up_sweep(grace=dt.timedelta(minutes=1)).social_deliveries == 1
    assert follow_up_sweep(grace=dt.timedelta(minutes=1)).social_deliveries == 0  # draining
    run_tasks()
    assert WebhookDelivery.objects.get().status == SocialStatus.PROCESSED
