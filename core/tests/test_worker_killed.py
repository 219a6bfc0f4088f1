"""A worker killed with SIGKILL in the middle of a task: another worker sees its
heartbeat stop and finishes the task, and the reply is mailed once
(core.task_recovery, docs/operations/recovery.md). Takes about a minute here, most of it
starting the two worker processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django_tasks_db.models import DBTaskResult

from accounts.tests.factories import AgentFactory
from core.tests.net import free_port
from core.tests.test_worker_outage import wait_for
from tickets import services
from tickets.choices import Channel, DeliveryStatus
from tickets.models import OutboundMessage
from tickets.tests.factories import TicketFactory

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


class StallingSmtp:
    """Accepts mail, except that the first message hangs in DATA until released: the
    worker sending it is then "mid-task" for as long as the test wants."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.first_is_hanging = threading.Event()
        self.release = asyncio.Event()
        self.calls = 0

    async def handle_DATA(self, server, session, envelope):
        self.calls += 1
        if self.calls == 1:
            self.first_is_hanging.set()
            await self.release.wait()
            return "451 gave up"
        self.received.append(envelope.content)
        return "250 OK"


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def test_a_task_whose_worker_was_killed_is_finished_by_another(tmp_path):
    smtp = StallingSmtp()
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
    controller.start()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "DJANGO_EMAIL_HOST": "127.0.0.1",
        "DJANGO_EMAIL_PORT": str(controller.port),
        "IZONIE_WORKER_HEARTBEAT_SECONDS": "1",
        "IZONIE_WORKER_DEAD_AFTER_SECONDS": "3",
    }
    workers: list[subprocess.Popen[bytes]] = []

    def start_worker(name: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("w")
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--interval", "0.1", "--no-startup-delay"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        workers.append(worker)
        return worker

    try:
        ticket = TicketFactory(channel=Channel.EMAIL)
        message = services.ticket_reply(ticket=ticket, author=AgentFactory(), body="Refunded")
        outbound = OutboundMessage.objects.get(message=message)
        first = start_worker("first")
        # given the first worker in the middle of sending the reply
        assert smtp.first_is_hanging.wait(timeout=120), (tmp_path / "first.log").read_text()
        # when it is killed outright, and another worker runs
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        start_worker("second")

        # then the second one finishes the task: the reply is sent, and only once
        def sent() -> bool:
            outbound.refresh_from_db()
            return outbound.status == DeliveryStatus.SENT

        try:
            wait_for(sent, seconds=120, what="the second worker sent the reply")
        except pytest.fail.Exception:
            logs = {name: (tmp_path / f"{name}.log").read_text() for name in ("first", "second")}
            pytest.fail(f"the second worker did not send the reply; worker logs: {logs}")

        # The worker records the task's success after the task has marked the row sent:
        # give it that moment (on a loaded machine the test looked in between).
        def finished() -> bool:
            task = DBTaskResult.objects.get(task_path="tickets.tasks.deliver_outbound")
            return task.status == "SUCCESSFUL"

        wait_for(finished, seconds=30, what="the second worker recorded the task's success")
        task = DBTaskResult.objects.get(task_path="tickets.tasks.deliver_outbound")
        assert task.status == "SUCCESSFUL"
        assert len(task.worker_ids) == 2
        assert task.worker_ids[0] != task.worker_ids[1]
        assert len(smtp.received) == 1
        assert b"Refunded" in smtp.received[0]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=15)
        controller.loop.call_soon_threadsafe(smtp.release.set)
        controller.stop()
