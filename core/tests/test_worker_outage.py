"""A ``manage.py worker`` process on PostgreSQL outlives the database being unreachable
and then runs work enqueued afterwards (docs/operations/recovery.md)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from accounts.tests.factories import AgentFactory
from core.tests.net import TcpProxy
from tickets import services
from tickets.choices import DeliveryStatus
from tickets.models import OutboundMessage
from tickets.tests.factories import TicketFactory

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="a worker process needs a database server"
    ),
]


def worker_env_through(proxy: TcpProxy, **extra: str) -> dict[str, str]:
    """The environment of a subprocess that reaches the test database through ``proxy``."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    url = f"postgres://{db['USER']}{password}@127.0.0.1:{proxy.port}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "IZONIE_DB_RETRY_MAX_SECONDS": "1", **extra}


def proxied_database() -> TcpProxy:
    db = connection.settings_dict
    proxy = TcpProxy(target_host=db["HOST"] or "127.0.0.1", target_port=int(db["PORT"] or 5432))
    proxy.up()
    return proxy


def start_worker(env: dict[str, str], log_path: Path, *args: str) -> subprocess.Popen[bytes]:
    log = log_path.open("w")
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "worker", "--interval", "0.1", "--no-startup-delay", *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_for(predicate, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"not within {seconds} s: {what}")


def test_a_worker_outlives_a_database_outage_and_runs_the_next_task(tmp_path):
    proxy = proxied_database()
    log_path = tmp_path / "worker.log"
    worker = start_worker(worker_env_through(proxy), log_path)
    try:
        # given a worker polling the queue through the proxy
        wait_for(lambda: proxy.connections > 0, seconds=120, what="the worker connected")
        time.sleep(0.5)
        # when the database is unreachable for 4 s (connections cut, new ones refused)
        proxy.down()
        time.sleep(4)
        assert worker.poll() is None, log_path.read_text()
        proxy.up()
        # then the worker is still there and sends a reply written after the outage
        message = services.ticket_reply(
            ticket=TicketFactory(), author=AgentFactory(), body="Back again"
        )
        outbound = OutboundMessage.objects.get(message=message)

        def sent() -> bool:
            outbound.refresh_from_db()
            return outbound.status == DeliveryStatus.SENT

        wait_for(sent, seconds=30, what="the reply was sent")
        assert outbound.attempts == 1
        assert worker.poll() is None
    finally:
        worker.terminate()
        worker.wait(timeout=15)
        proxy.down()
    log = log_path.read_text()
    # One line when the outage started, one when it ended: not one per retry.
    assert log.count("Database unreachable") == 1, log
    assert log.count("Database reachable again") == 1, log


def test_a_worker_started_before_the_database_waits_for_it(tmp_path):
    proxy = proxied_database()
    proxy.down()
    log_path = tmp_path / "worker.log"
    worker = start_worker(worker_env_through(proxy, IZONIE_DB_WAIT_SECONDS="60"), log_path)
    try:
        wait_for(
            lambda: "Database unreachable" in log_path.read_text(),
            seconds=120,
            what="the worker found no database",
        )
        time.sleep(2)
        assert worker.poll() is None, log_path.read_text()  # waiting, not crash-looping
        proxy.up()
        message = services.ticket_reply(ticket=TicketFactory(), author=AgentFactory(), body="Hi")
        outbound = OutboundMessage.objects.get(message=message)

        def sent() -> bool:
            outbound.refresh_from_db()
            return outbound.status == DeliveryStatus.SENT

        wait_for(sent, seconds=30, what="the reply was sent")
    finally:
        worker.terminate()
        worker.wait(timeout=15)
        proxy.down()


def test_a_worker_gives_up_clearly_when_the_database_never_comes(tmp_path):
    proxy = proxied_database()
    proxy.down()
    log_path = tmp_path / "worker.log"
    worker = start_worker(worker_env_through(proxy, IZONIE_DB_WAIT_SECONDS="2"), log_path)
    assert worker.wait(timeout=120) == 1
    assert "did not answer within IZONIE_DB_WAIT_SECONDS" in log_path.read_text()
