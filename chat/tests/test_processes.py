"""Chat across real server processes: two uvicorn processes sharing Redis (customer on
one, agent on the other), and a server killed and restarted without losing an
acknowledged message. Clients are the ``websockets`` library, as a mobile app would be."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import redis
import yaml
from django.conf import settings
from django.db import connection
from websockets.asyncio.client import connect

from accounts.tests.factories import AgentFactory
from chat.models import AgentPresence, ChatEntry, Presence
from chat.tests.conftest import run, session_cookie, start_frame

pytestmark = pytest.mark.django_db(transaction=True)

START_WAIT_SECONDS = 120
REDIS_URL = os.environ.get("IZONIE_TEST_CHAT_REDIS_URL", "redis://127.0.0.1:6379/13")


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def always_open_policy(tmp_path) -> Path:
    """The Izonie policy with live chat open around the clock, so these tests do not
    depend on the hour CI runs at (the business-hours rules are tested elsewhere)."""
    data = yaml.safe_load(Path(settings.IZONIE_POLICY_FILE).read_text())
    data["channels"]["live_chat"]["hours"] = None
    path = tmp_path / "always-open.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


class Server:
    def __init__(self, env: dict[str, str]):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--lifespan",
                "off",
            ],
            env=self.env,
            cwd=settings.BASE_DIR,
        )
        # Ends as soon as the server answers; the bound only decides when a server that
        # never comes up fails the test. Importing Django on a machine shared with other
        # work once took 30 s (load 13 on 2 cores), so it is generous.
        deadline = time.monotonic() + START_WAIT_SECONDS
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("the server process exited") from None
                time.sleep(0.1)
        raise RuntimeError(f"the server did not start in {START_WAIT_SECONDS} s")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def servers(always_open_policy):
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "IZONIE_POLICY_FILE": str(always_open_policy),
        "REDIS_URL": REDIS_URL,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    started: list[Server] = []
    # The servers keep state in this Redis database (the cache: who is in each team, the
    # chat-start throttle's counts), which outlives the test database's flush between
    # tests and runs: another test's agents would be given this test's tickets, and runs
    # within an hour were throttled. The database is this file's alone: start it empty.
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()

    def make() -> Server:
        server = Server(env).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.kill()


# As FRAME_WAIT_SECONDS in conftest: a bound for a frame that never comes, not a wait.
# A fresh server process answers its first socket slowly on a loaded machine (the first
# database connection, lazy imports); the snapshot itself is four queries, whatever the
# number of chats (test_desk.py asserts that).
async def until(socket_, kind: str, timeout: float = 30, **match) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(socket_.recv(), timeout))
        if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
            return frame


def agent_online():
    agent = AgentFactory()
    AgentPresence.objects.create(
        agent=agent, status=Presence.ONLINE, last_seen_at=dt.datetime.now(dt.UTC)
    )
    return agent


ORIGIN = "http://127.0.0.1"


def test_customer_and_agent_on_different_processes_talk_through_redis(servers):
    agent = agent_online()
    cookie = session_cookie(agent).decode()
    one, two = servers(), servers()

    async def scenario():
        async with (
            connect(
                f"{two.ws}/ws/console/chat/", origin=ORIGIN, additional_headers={"Cookie": cookie}
            ) as staff,
            connect(f"{one.ws}/ws/chat/", origin=ORIGIN) as customer,
        ):
            await until(staff, "queue")
            await customer.send(json.dumps(start_frame(text="Hello from process one")))
            welcome = await until(customer, "welcome")
            offer = await until(staff, "offer")
            assert offer["session"] == welcome["session"]
            await staff.send(json.dumps({"type": "accept", "session": welcome["session"]}))
            await until(customer, "agent_joined")
            await staff.send(
                json.dumps(
                    {
                        "type": "message",
                        "session": welcome["session"],
                        "client_id": uuid.uuid4().hex,
                        "text": "Hello from process two",
                    }
                )
            )
            reply = await until(customer, "message", sender="agent")
            await customer.send(json.dumps({"type": "typing", "state": True}))
            typing = await until(staff, "typing")
            await customer.send(
                json.dumps({"type": "message", "client_id": uuid.uuid4().hex, "text": "Thanks!"})
            )
            thanks = await until(staff, "message", sender="customer", text="Thanks!")
            return reply, typing, thanks

    reply, typing, thanks = run(scenario)
    # (1 the start, 2 the request for the order number, 3 the agent joining)
    assert reply["text"] == "Hello from process two" and reply["seq"] == 4
    assert typing["sender"] == "customer"
    assert thanks["seq"] == 5


def test_an_acknowledged_message_survives_a_killed_server(servers):
    agent_online()
    first = servers()
    message_id = uuid.uuid4().hex

    async def before_crash():
        async with connect(f"{first.ws}/ws/chat/", origin=ORIGIN) as customer:
            await customer.send(json.dumps(start_frame()))
            welcome = await until(customer, "welcome")
            await customer.send(
                json.dumps({"type": "message", "client_id": message_id, "text": "Please keep this"})
            )
            ack = await until(customer, "ack", client_id=message_id)
            return welcome, ack

    welcome, ack = run(before_crash)
    first.kill()
    second = servers()

    async def after_restart():
        async with connect(f"{second.ws}/ws/chat/", origin=ORIGIN) as customer:
            await customer.send(
                json.dumps({"type": "resume", "token": welcome["token"], "last_seq": 2})
            )
            await until(customer, "welcome")
            replayed = await until(customer, "message")
            # The client never saw the ack, say, and sends the message again.
            await customer.send(
                json.dumps({"type": "message", "client_id": message_id, "text": "Please keep this"})
            )
            again = await until(customer, "ack", client_id=message_id)
            return replayed, again

    replayed, again = run(after_restart)
    # (after the start and the request for the order number)
    assert replayed["seq"] == ack["seq"] == 3 and replayed["text"] == "Please keep this"
    assert again["seq"] == 3 and again["duplicate"] is True
    assert ChatEntry.objects.filter(text="Please keep this").count() == 1


@pytest.mark.slow
def test_idle_sockets_on_two_processes_outlive_a_12_second_gap(servers):
    """Takes about 15 s: the gap itself. channels_redis blocks 5 s per read (BZPOPMIN);
    a Redis client timing out reads at 5 s dropped every idle socket at exactly 5 s
    (issue 23). After 12 quiet seconds (more than two such reads) both sockets must still
    carry messages, with no reconnect in between."""
    agent = agent_online()
    cookie = session_cookie(agent).decode()
    one, two = servers(), servers()

    async def scenario():
        async with (
            connect(
                f"{two.ws}/ws/console/chat/", origin=ORIGIN, additional_headers={"Cookie": cookie}
            ) as staff,
            connect(f"{one.ws}/ws/chat/", origin=ORIGIN) as customer,
        ):
            await until(staff, "queue")
            await customer.send(json.dumps(start_frame(text="Before the quiet")))
            welcome = await until(customer, "welcome")
            await until(staff, "offer")
            await staff.send(json.dumps({"type": "accept", "session": welcome["session"]}))
            await until(customer, "agent_joined")
            await asyncio.sleep(12)
            # Neither socket was closed by its server during the gap...
            assert customer.close_code is None and staff.close_code is None
            # ...and both still carry messages both ways, through Redis.
            await customer.send(
                json.dumps({"type": "message", "client_id": uuid.uuid4().hex, "text": "Still?"})
            )
            heard = await until(staff, "message", sender="customer", text="Still?")
            await staff.send(
                json.dumps(
                    {
                        "type": "message",
                        "session": welcome["session"],
                        "client_id": uuid.uuid4().hex,
                        "text": "Still here.",
                    }
                )
            )
            answer = await until(customer, "message", sender="agent", text="Still here.")
            return heard, answer

    heard, answer = run(scenario)
    assert heard["seq"] + 1 == answer["seq"]
