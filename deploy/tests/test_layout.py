"""The production layout on this machine, end to end (deploy/layout.py): nginx in front of
two uvicorn processes, two workers and the IMAP fetcher, on PostgreSQL and Redis, each
started with the command of its systemd unit. Takes two to three minutes here, most of
it six Python processes starting; on SQLite it is skipped (the layout is PostgreSQL's).

What an operator would check after installing it: a chat whose customer and agent are on
different web processes; a WebSocket and a webhook through nginx; a mail fetched over
IMAP, answered through the REST API and sent by a worker; a worker killed with SIGKILL
in the middle of sending, and the other worker finishing its task, once.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django_tasks_db.models import DBTaskResult
from websockets.asyncio.client import connect

from accounts.models import ApiToken
from chat.tests.conftest import run, session_cookie, start_frame
from chat.tests.test_processes import ORIGIN, agent_online, always_open_policy, until
from core.tests.net import free_port
from core.tests.test_worker_outage import wait_for
from deploy.layout import NGINX, Layout, nginx_config
from mail.tests.imap_server import Dovecot
from mail.tests.test_imap import deliver
from mail.tests.test_intake import mail
from social.models import Platform, SocialAccount
from social.tests.conftest import APP_SECRET, PAGE_ID, meta_delivery, meta_sign, text_event
from tickets.choices import Channel, DeliveryStatus
from tickets.models import Message, OutboundMessage, Ticket

__all__ = ["always_open_policy"]  # a fixture, used by name below

REDIS_URL = os.environ.get("IZONIE_TEST_LAYOUT_REDIS_URL", "redis://127.0.0.1:6379/11")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(NGINX) and not os.environ.get("CI"),
        reason="nginx is installed by scripts/test",
    ),
]


class Smtp:
    """The outgoing mail server: accepts everything, except that the first message
    carrying HANG-ME hangs in DATA until the test ends (its sender is "mid-task")."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.hanging = threading.Event()
        self.release = asyncio.Event()

    async def handle_DATA(self, server, session, envelope):
        if b"HANG-ME" in envelope.content and not self.hanging.is_set():
            self.hanging.set()
            await self.release.wait()
            return "451 gave up"
        self.received.append(envelope.content)
        return "250 OK"


def _postgres_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER'] or 'postgres'}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def layout(always_open_policy):
    if connection.vendor != "postgresql":
        pytest.skip("the production layout runs on PostgreSQL (the suite's second run)")
    smtp = Smtp()
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
    controller.start()
    dovecot = Dovecot()
    dovecot.start()
    layout = Layout(
        database_url=_postgres_url(),
        redis_url=REDIS_URL,
        imap=dovecot.layout_imap(),
        smtp=("127.0.0.1", controller.port),
        extra_env={
            # The test signs its session cookies with the suite's key.
            "DJANGO_SECRET_KEY": os.environ["DJANGO_SECRET_KEY"],
            "IZONIE_POLICY_FILE": str(always_open_policy),
            # The test's agent has no authenticator app.
            "IZONIE_STAFF_2FA_REQUIRED": "0",
            # A killed worker is noticed in seconds, not the production minute.
            "IZONIE_WORKER_HEARTBEAT_SECONDS": "1",
            "IZONIE_WORKER_DEAD_AFTER_SECONDS": "3",
            # No Graph API here: profile look-ups fail fast and the name stays unknown.
            "IZONIE_META_GRAPH_URL": f"http://127.0.0.1:{free_port()}",
        },
        worker_args=["--interval", "0.2"],
    )
    layout.smtp_server = smtp  # type: ignore[attr-defined]
    layout.dovecot = dovecot  # type: ignore[attr-defined]
    try:
        yield layout.up(timeout=300)
    finally:
        layout.down()
        controller.loop.call_soon_threadsafe(smtp.release.set)
        controller.stop()
        dovecot.cleanup()
        shutil.rmtree(layout.run_dir, ignore_errors=True)


def http(layout: Layout, path: str, *, body: bytes | None = None, headers=None) -> tuple:
    request = urllib.request.Request(
        f"{layout.url}{path}", data=body, headers=headers or {}, method="POST" if body else "GET"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def test_the_layout_serves_chat_mail_webhooks_and_survives_a_killed_worker(layout):
    try:
        _drive(layout)
    except BaseException as exc:
        # What the processes said is the only way to tell why from a CI log.
        raise AssertionError(f"{exc!r}\n{layout.logs()}") from exc


def _drive(layout: Layout) -> None:
    web_one, web_two = (p.command[p.command.index("--port") + 1] for p in layout.named("web"))
    smtp: Smtp = layout.smtp_server  # type: ignore[attr-defined]

    # Static files come from nginx itself, collected by the migrate unit.
    status, css = http(layout, "/static/css/izonie.css")
    assert status == 200 and css

    # 1. A chat: the customer on one web process, the agent on the other, through Redis;
    # then a second customer through nginx's WebSocket upgrade.
    agent = agent_online()
    cookie = session_cookie(agent).decode()

    async def chat():
        async with (
            connect(
                f"ws://127.0.0.1:{web_two}/ws/console/chat/",
                origin=ORIGIN,
                additional_headers={"Cookie": cookie},
            ) as staff,
            connect(f"ws://127.0.0.1:{web_one}/ws/chat/", origin=ORIGIN) as customer,
        ):
            await until(staff, "queue", timeout=60)
            await customer.send(json.dumps(start_frame(text="Hello from web one")))
            welcome = await until(customer, "welcome", timeout=60)
            await until(staff, "offer", timeout=60)
            await staff.send(json.dumps({"type": "accept", "session": welcome["session"]}))
            await until(customer, "agent_joined", timeout=60)
            await staff.send(
                json.dumps(
                    {
                        "type": "message",
                        "session": welcome["session"],
                        "client_id": uuid.uuid4().hex,
                        "text": "Hello from web two",
                    }
                )
            )
            reply = await until(customer, "message", sender="agent", timeout=60)
        async with connect(f"ws://127.0.0.1:{layout.port}/ws/chat/", origin=ORIGIN) as other:
            await other.send(json.dumps(start_frame(email="second@example.com")))
            through_nginx = await until(other, "welcome", timeout=60)
        return reply, through_nginx

    reply, through_nginx = run(chat)
    assert reply["text"] == "Hello from web two"
    assert through_nginx["session"]
    # nginx sent the WebSocket to the process the site keeps for them, not to a page one.
    (sockets_port,) = layout.socket_ports
    assert _upstreams_of(layout, "GET /ws/chat/") == {f"127.0.0.1:{sockets_port}"}

    # 2. A webhook through nginx: a signed Messenger delivery becomes a ticket (the web
    # process stores it; a worker drains it).
    SocialAccount.objects.create(
        platform=Platform.FACEBOOK,
        external_id=PAGE_ID,
        name="Izonie",
        access_token="page-token",
        app_secret=APP_SECRET,
        verify_token="verify",
    )
    delivery = json.dumps(
        meta_delivery((PAGE_ID, [text_event("7001", "My order IZ-20460001 is late")]))
    ).encode()
    status, _ = http(
        layout,
        "/social/webhooks/meta/",
        body=delivery,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": meta_sign(delivery)},
    )
    assert status == 200
    # Everything else goes to the page processes.
    webhook_upstreams = _upstreams_of(layout, "POST /social/webhooks/meta/")
    assert webhook_upstreams
    assert webhook_upstreams <= {f"127.0.0.1:{web_one}", f"127.0.0.1:{web_two}"}
    wait_for(
        lambda: Message.objects.filter(body_text__contains="IZ-20460001 is late").exists(),
        seconds=120,
        what="the Messenger message became a ticket",
    )
    assert Ticket.objects.get(messages__body_text__contains="is late").channel == Channel.FACEBOOK

    # 3. A mail fetched over IMAP by the fetcher, answered through the REST API (behind
    # nginx), sent by a worker.
    deliver(
        layout.dovecot,  # type: ignore[attr-defined]
        mail(
            sender="Bola <bola@example.com>",
            subject="Where is my parcel?",
            body="Ordered a week ago.",
            message_id="<layout-1@example.com>",
        ),
    )
    wait_for(
        lambda: Ticket.objects.filter(subject="Where is my parcel?").exists(),
        seconds=120,
        what="the fetcher turned the mail into a ticket",
    )
    ticket = Ticket.objects.get(subject="Where is my parcel?")
    token = ApiToken.objects.create(user=agent, name="layout test").key
    api_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def reply_by_api(text: str) -> int:
        status, body = http(
            layout,
            f"/api/v1/tickets/{ticket.pk}/replies",
            body=json.dumps({"body": text}).encode(),
            headers=api_headers,
        )
        assert status == 201, body
        return int(json.loads(body)["id"])

    answered = reply_by_api("It left our warehouse today.")
    wait_for(
        lambda: any(b"It left our warehouse today." in m for m in smtp.received),
        seconds=120,
        what="a worker mailed the agent's reply",
    )
    # The worker marks the outbox row sent only after the SMTP server took the mail, so
    # the row can still read "pending" for a moment after the server saw it.
    wait_for(
        lambda: OutboundMessage.objects.get(message_id=answered).status == DeliveryStatus.SENT,
        seconds=30,
        what="the worker marked the mailed reply as sent",
    )

    # 4. A worker killed with SIGKILL while it sends; the other one finishes the task.
    hanging = reply_by_api("Tracking: HANG-ME 123")
    assert smtp.hanging.wait(timeout=120), layout.logs()
    task = DBTaskResult.objects.get(
        task_path="tickets.tasks.deliver_outbound",
        args_kwargs__kwargs__outbound_id=OutboundMessage.objects.get(message_id=hanging).pk,
    )
    holder = task.worker_ids[-1]
    [victim] = [p for p in layout.named("worker") if holder.endswith(f"-{p.pid}")]
    os.kill(victim.pid, signal.SIGKILL)

    def sent() -> bool:
        return OutboundMessage.objects.get(message_id=hanging).status == DeliveryStatus.SENT

    wait_for(sent, seconds=120, what="the surviving worker sent the reply")
    # The outbox row is marked sent just before the task itself is recorded as done.
    wait_for(
        lambda: DBTaskResult.objects.get(pk=task.pk).status == "SUCCESSFUL",
        seconds=30,
        what="the surviving worker recorded the task as done",
    )
    task.refresh_from_db()
    assert task.worker_ids[-1] != holder
    assert sum(b"HANG-ME" in m for m in smtp.received) == 1


def _upstreams_of(layout: Layout, request: str) -> set[str]:
    """The processes (``$upstream_addr``) nginx sent requests starting with ``request``
    to; a WebSocket's line is written when it closes, so this waits for one a moment."""
    deadline = time.monotonic() + 15
    while True:
        lines = (layout.run_dir / "nginx-access.log").read_text().splitlines()
        found = {line.rsplit(" ", 1)[1] for line in lines if f'"{request}' in line}
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_the_public_site_file_passes_nginx_t(tmp_path: Path):
    """deploy/nginx/izonie.conf as an operator installs it (TLS, the shared locations)
    is valid for Debian's nginx: checked with ``nginx -t`` and a throw-away certificate."""
    if not os.path.exists(NGINX):
        pytest.skip("nginx is installed by scripts/test")
    deploy = Path(__file__).resolve().parents[1]
    openssl = shutil.which("openssl") or "/usr/bin/openssl"
    subprocess.run(  # noqa: S603
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=support.izonie.com",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    nginx_config(run=tmp_path, port=free_port(), web_ports=[free_port()])
    site = (deploy / "nginx" / "izonie.conf").read_text()
    certificates = "/etc/letsencrypt/live/support.izonie.com"
    site = site.replace(f"{certificates}/fullchain.pem", str(tmp_path / "cert.pem"))
    site = site.replace(f"{certificates}/privkey.pem", str(tmp_path / "key.pem"))
    site = site.replace("/etc/nginx/izonie_locations", str(tmp_path / "izonie_locations"))
    (tmp_path / "site.conf").write_text(site)
    main = (tmp_path / "nginx.conf").read_text()
    # The public site instead of the local plain-HTTP server and upstream.
    main = main[: main.index("    upstream izonie_web")]
    main += f"    include {tmp_path}/site.conf;\n}}\n"
    (tmp_path / "public.conf").write_text(main)
    check = subprocess.run(  # noqa: S603
        [NGINX, "-t", "-c", str(tmp_path / "public.conf"), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
