"""A day at Izonie, compressed: the whole system on PostgreSQL and Redis at once, at rising
numbers of agents; the largest number one machine carries within the limits.

    .venv/bin/python -m bench.day                                # 10 25 50 100 200 300
    .venv/bin/python -m bench.day --agents 5 10 20 --seconds 30  # a quick run

Prepares a fresh PostgreSQL database ``izonie_bench_day`` (``--tickets`` generated tickets
with 1 to 20 messages, every channel and status, ``bench/generate.py``) and starts the
production layout of deploy/layout.py on it: nginx, ``--web`` uvicorn processes for the
pages (2) and ``--sockets`` more that take the WebSockets alone (1, as the site's files;
0 puts them on the page processes) with the Redis channel layer (database 9, emptied
first), one task worker (``db_worker``) and the IMAP fetcher (``fetch_mail``) reading a
throw-away Dovecot mailbox, as production gets its mail; workers' outgoing mail goes to an
SMTP server on loopback.

Each step runs ``--seconds`` of load with N agents (sessions made in the database, sent as
cookies over HTTP; agents are the generated ones):

* console: every agent does one thing every 20-30 s (uniformly drawn), in turn: opens the
  inbox, opens a ticket, replies to it through the console form (CSRF token from the page);
* chat desk: half the agents also hold the console chat socket and accept what they are
  offered; N customers (2 per chat agent) each start a chat, then send a message every
  30 s, which the agent answers at once; relay latency is send to receipt, both ways;
* mail: 0.6 a minute per agent (200 agents: 2 a second), appended to the mailbox;
* social: 0.3 a minute per agent, signed Messenger deliveries POSTed to the webhook;
* API: 0.3 a minute per agent, ``POST /api/v1/tickets`` with a token.

After the load it waits (up to 120 s) until every mail and social event is stored, then
prints per step: console p95 (every page and form post), chat relay p99, time from arrival
(append, delivery) to the stored message on its ticket (p95 and max) for mail and social,
sent against stored (lost, duplicated) per channel, the load average and the machine's CPU
use during the step. Limits: console p95 < 300 ms, chat relay p99 < 100 ms, every mail and
social event on a ticket within 60 s, nothing lost. The answer is the largest N meeting all.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import random
import re
import resource
import shutil
import ssl
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.chaos import APP_SECRET, PAGE_ID, SmtpSink  # noqa: E402
from bench.chat_load import Stats, cpu_seconds  # noqa: E402
from bench.harness import generated_database, percentile  # noqa: E402
from core.tests.net import free_port  # noqa: E402
from deploy.layout import Layout  # noqa: E402

DB_NAME = "izonie_bench_day"
REDIS_URL = os.environ.get("IZONIE_BENCH_DAY_REDIS_URL", "redis://127.0.0.1:6379/9")
DEFAULT_AGENTS = [10, 25, 50, 100, 200, 300]

# Rates (per agent): the load scales with the number of agents.
CONSOLE_ACTION_SECONDS = (20.0, 30.0)  # one console action every 20-30 s
CHATS_PER_CHAT_AGENT = 2  # half the agents are on the chat desk
CHAT_MESSAGE_SECONDS = 30.0  # a customer's message every 30 s
MAIL_PER_AGENT_MINUTE = 0.6
SOCIAL_PER_AGENT_MINUTE = 0.3
API_PER_AGENT_MINUTE = 0.3

# Limits.
CONSOLE_P95_MS = 300.0
CHAT_P99_MS = 100.0
INTAKE_MAX_S = 60.0
SETTLE_SECONDS = 120.0
DEBUG = bool(os.environ.get("BENCH_DEBUG"))


# --- the system -------------------------------------------------------------------------


@dataclass
class System:
    layout: Layout
    dovecot: object
    smtp: SmtpSink


@contextlib.contextmanager
def system(*, database_url: str, var_dir: Path, web: int, sockets: int):
    import redis
    from aiosmtpd.controller import Controller

    from mail.tests.imap_server import Dovecot

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    redis.Redis.from_url(REDIS_URL).flushdb()
    policy = yaml.safe_load((ROOT / "policies" / "izonie.yaml").read_text())
    policy["channels"]["live_chat"]["hours"] = None  # chat open around the clock
    (var_dir / "policy.yaml").write_text(yaml.safe_dump(policy))
    smtp = SmtpSink()
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
    controller.start()
    dovecot = Dovecot()
    dovecot.start()
    layout = Layout(
        database_url=database_url,
        redis_url=REDIS_URL,
        web_count=web,
        socket_count=sockets,
        worker_count=1,
        imap=dovecot.layout_imap(),
        smtp=("127.0.0.1", controller.port),
        extra_env={
            "IZONIE_VAR_DIR": str(var_dir),
            "IZONIE_POLICY_FILE": str(var_dir / "policy.yaml"),
            "IZONIE_STAFF_2FA_REQUIRED": "0",
            # This process makes the agents' sessions: the servers must read them.
            "DJANGO_SECRET_KEY": os.environ["DJANGO_SECRET_KEY"],
            # All customers and deliveries come from 127.0.0.1: per-IP limits are for
            # strangers, and this is a crowd on one address.
            "IZONIE_THROTTLE_CHAT_START_PER_IP": "0",
            "IZONIE_THROTTLE_CHAT_START_PER_ADDRESS": "0",
            "IZONIE_LOG_LEVEL": "WARNING",
            # No Graph API here: profile look-ups fail fast and names stay unknown.
            "IZONIE_META_GRAPH_URL": f"http://127.0.0.1:{free_port()}",
        },
        prepare=False,  # migrated in this process before
    )
    try:
        layout.up(timeout=300)
        yield System(layout=layout, dovecot=dovecot, smtp=smtp)
    finally:
        layout.down()
        controller.stop()
        dovecot.cleanup()
        if DEBUG:
            print(f"logs kept in {layout.run_dir}")
        else:
            shutil.rmtree(layout.run_dir, ignore_errors=True)


def prepare(*, tickets: int, agents: int) -> str:
    os.environ["REDIS_URL"] = REDIS_URL
    # Every 20th generated staff member is a supervisor: enough staff for ``agents`` agents.
    return generated_database(
        DB_NAME,
        tickets=tickets,
        customers=max(2000, tickets // 10),
        agents=agents * 20 // 19 + 2,
        progress=lambda line: print(line, flush=True),
    )


@dataclass
class Seed:
    cookies: list[str]  # session keys of the agents, in order
    token: str
    ticket_ids: list[int]  # open email tickets agents answer
    customer_ids: list[int]


def seed(*, agents: int) -> Seed:
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from accounts.models import ApiToken, Role, User
    from chat.models import AgentPresence, Presence
    from social.models import Platform, SocialAccount
    from tickets.models import Ticket

    SocialAccount.objects.create(
        platform=Platform.FACEBOOK,
        external_id=PAGE_ID,
        name="Izonie",
        access_token="page-token",
        app_secret=APP_SECRET,
        verify_token="verify",
    )
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    cookies = []
    staff = list(User.objects.filter(role=Role.AGENT).order_by("pk")[:agents])
    for user in staff:
        AgentPresence.objects.create(agent=user, status=Presence.OFFLINE, max_chats=3)
        store = store_class()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        cookies.append(store.session_key)
    token = ApiToken.objects.create(user=staff[0], name="day").key
    tickets = list(
        Ticket.objects.filter(channel="email", status__in=["new", "open", "pending"])
        .order_by("-pk")
        .values_list("pk", flat=True)[:2000]
    )
    customers = list(
        User.objects.filter(role__in=["buyer", "seller"]).values_list("pk", flat=True)[:2000]
    )
    return Seed(cookies=cookies, token=token, ticket_ids=tickets, customer_ids=customers)


def chat_desk(agents: int) -> None:
    """Before a step: earlier chats ended, only this step's chat agents online."""
    import datetime as dt

    from accounts.models import Role, User
    from chat.models import AgentPresence, ChatSession, Presence, SessionState

    ChatSession.objects.exclude(state=SessionState.ENDED).update(state=SessionState.ENDED)
    AgentPresence.objects.update(status=Presence.OFFLINE)
    chosen = User.objects.filter(role=Role.AGENT).order_by("pk")[:agents]
    AgentPresence.objects.filter(agent__in=list(chosen)).update(
        status=Presence.ONLINE, last_seen_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    )


# --- the load ------------------------------------------------------------------------------


@dataclass
class Load:
    run: str
    console_ms: list[float] = field(default_factory=list)
    console_kind_ms: dict[str, list[float]] = field(default_factory=dict)
    console_errors: Counter[str] = field(default_factory=Counter)
    replies_sent: int = 0  # console replies accepted (redirect after post)
    mail_sent: dict[int, float] = field(default_factory=dict)  # number -> time appended
    social_sent: dict[int, float] = field(default_factory=dict)  # number -> time acknowledged
    social_refused: Counter[str] = field(default_factory=Counter)
    api_sent: int = 0
    api_ms: list[float] = field(default_factory=list)
    api_refused: Counter[str] = field(default_factory=Counter)
    chat: Stats = field(default_factory=Stats)
    chats_started: int = 0
    chats_accepted: int = 0
    errors: Counter[str] = field(default_factory=Counter)


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def console_client(base: str, cookie: str, tls: ssl.SSLContext) -> httpx.AsyncClient:
    """One agent's browser. Made before the measured minute, with one TLS context for all
    (unused over plain HTTP, but each client would build its own): 200 clients built at
    the start of the minute kept this generator's event loop busy for 4-5 s, and every
    chat message sent meanwhile was measured as late."""
    import httpx

    return httpx.AsyncClient(
        base_url=base,
        cookies={"sessionid": cookie},
        timeout=30,
        follow_redirects=False,
        verify=tls,
    )


async def console_agent(
    client: httpx.AsyncClient, seed_: Seed, load: Load, stop: asyncio.Event, number: int
) -> None:
    rng = random.Random(number)
    async with client:
        await asyncio.sleep(rng.uniform(0, CONSOLE_ACTION_SECONDS[1]))
        step = 0
        ticket = 0
        token = ""
        while not stop.is_set():
            started = time.perf_counter()
            try:
                if step % 3 == 0:
                    response = await client.get("/console/")
                elif step % 3 == 1:
                    ticket = rng.choice(seed_.ticket_ids)
                    response = await client.get(f"/console/tickets/{ticket}/")
                    found = CSRF.search(response.text)
                    token = found.group(1) if found else ""
                else:
                    response = await client.post(
                        f"/console/tickets/{ticket}/reply",
                        data={
                            "csrfmiddlewaretoken": token,
                            "body": f"Thanks, it is on its way. [day-{load.run}-reply-{number}]",
                            "status": "",
                        },
                    )
                    if response.status_code in (302, 303):
                        load.replies_sent += 1
                took = (time.perf_counter() - started) * 1000
                load.console_ms.append(took)
                kind = ("inbox", "ticket", "reply")[step % 3]
                load.console_kind_ms.setdefault(kind, []).append(took)
                if response.status_code >= 400 or (step % 3 != 2 and response.status_code != 200):
                    load.console_errors[str(response.status_code)] += 1
            except Exception as error:
                load.console_errors[type(error).__name__] += 1
            step += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.uniform(*CONSOLE_ACTION_SECONDS))


async def chat_agent(ws_base: str, cookie: str, load: Load, stop: asyncio.Event) -> None:
    from websockets.asyncio.client import connect

    accepting: set[str] = set()
    async with connect(
        f"{ws_base}/ws/console/chat/",
        origin="http://127.0.0.1",
        additional_headers={"Cookie": f"sessionid={cookie}"},
        max_queue=None,
    ) as ws:

        async def heartbeat() -> None:
            # desk.js pings every 20 s from its page load, and agents load the page at
            # different moments: so the first beat comes anywhere in the first 20 s
            # (started together, the 100 sockets' beats all came in the same second).
            await asyncio.sleep(random.uniform(0, 20))
            while True:
                await ws.send(json.dumps({"type": "ping"}))
                await asyncio.sleep(20)

        beat = asyncio.create_task(heartbeat())
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if DEBUG:
                    print("agent <", raw[:300], flush=True)
                offered = []
                if frame["type"] == "offer":
                    offered = [frame["session"]]
                elif frame["type"] == "queue":
                    offered = [c["session"] for c in frame["mine"] if c["state"] == "assigned"]
                for session in offered:
                    if session not in accepting:
                        accepting.add(session)
                        await ws.send(json.dumps({"type": "accept", "session": session}))
                if frame["type"] == "history":
                    load.chats_accepted += 1
                elif frame["type"] == "message" and frame["sender"] == "customer":
                    client_id = frame.get("client_id") or ""
                    if client_id.startswith("m-"):
                        load.chat.on_receive(client_id)
                        if not stop.is_set():
                            reply = f"a-{uuid.uuid4().hex}"
                            load.chat.on_send(reply)
                            await ws.send(
                                json.dumps(
                                    {
                                        "type": "message",
                                        "session": frame["session"],
                                        "client_id": reply,
                                        "text": "Let me check that for you.",
                                    }
                                )
                            )
        finally:
            beat.cancel()


async def customer(
    ws_base: str, index: int, load: Load, go: asyncio.Event, stop: asyncio.Event
) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async with connect(f"{ws_base}/ws/chat/", origin="http://127.0.0.1", max_queue=None) as ws:
        await ws.send(
            json.dumps(
                {
                    "type": "start",
                    "name": f"Customer {index}",
                    "email": f"day-{load.run}-{index}@customers.example",
                    "category": "order_status",
                    "text": "Where is my order?",
                    "client_id": f"s-{uuid.uuid4().hex}",
                }
            )
        )
        load.chats_started += 1

        async def reader() -> None:
            with contextlib.suppress(ConnectionClosed):  # counted where the customer sends
                await read(ws)

        async def read(ws) -> None:
            async for raw in ws:
                frame = json.loads(raw)
                if DEBUG:
                    print("customer <", raw[:300], flush=True)
                if frame["type"] == "message" and frame["sender"] == "agent":
                    load.chat.on_receive(frame.get("client_id") or "")

        task = asyncio.create_task(reader())
        await go.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), random.uniform(0, CHAT_MESSAGE_SECONDS))
        while not stop.is_set():
            client_id = f"m-{uuid.uuid4().hex}"
            load.chat.on_send(client_id)
            await ws.send(
                json.dumps({"type": "message", "client_id": client_id, "text": "Any news?"})
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), CHAT_MESSAGE_SECONDS)
        await asyncio.sleep(5)  # the last replies
        task.cancel()


def mail_bytes(run: str, number: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Day customer {number} <day{number % 997}@mail.example>"
    message["To"] = "support@izonie.com"
    message["Subject"] = f"Question about order {100000 + number}"
    message["Message-ID"] = f"<day-{run}-mail-{number}@mail.example>"
    message.set_content(
        f"Hello, my order {100000 + number} has not arrived yet. Can you check? "
        f"[day-{run}-mail-{number}]"
    )
    return message.as_bytes()


def mail_sender(dovecot, load: Load, rate: float, stop: threading.Event, start: int) -> None:
    """Appends mail to the support mailbox at ``rate`` a second (its own thread: IMAP
    client is blocking), one connection kept open."""
    from imapclient import IMAPClient

    client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=30)
    client.login(dovecot.user, dovecot.password)
    number = start
    began = time.monotonic()
    try:
        while not stop.is_set():
            due = began + (number - start) / rate
            stop.wait(max(0.0, due - time.monotonic()))
            if stop.is_set():
                break
            try:
                client.append("INBOX", mail_bytes(load.run, number))
                load.mail_sent[number] = time.time()
            except Exception as error:
                load.errors[f"mail {type(error).__name__}"] += 1
            number += 1
    finally:
        with contextlib.suppress(Exception):
            client.logout()


async def paced(rate: float, stop: asyncio.Event, send, concurrency: int = 20) -> None:
    """Calls ``send(number)`` at ``rate`` a second until ``stop``, not waiting for answers
    (at most ``concurrency`` in flight)."""
    if rate <= 0:
        return
    began = time.monotonic()
    number = 0
    gate = asyncio.Semaphore(concurrency)
    tasks = set()

    async def one(n: int) -> None:
        async with gate:
            await send(n)

    while not stop.is_set():
        due = began + number / rate
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, due - time.monotonic()))
        if stop.is_set():
            break
        task = asyncio.create_task(one(number))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        number += 1
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_step(
    *, sys_: System, seed_: Seed, agents: int, seconds: float, load: Load, mail_start: int
) -> dict[str, float]:
    import httpx

    base = sys_.layout.url
    ws_base = base.replace("http://", "ws://")
    stop = asyncio.Event()
    go = asyncio.Event()
    lag_ms: list[float] = []
    chat_agents = max(1, agents // 2)
    conversations = chat_agents * CHATS_PER_CHAT_AGENT
    desk = [
        asyncio.create_task(chat_agent(ws_base, cookie, load, stop))
        for cookie in seed_.cookies[:chat_agents]
    ]
    await asyncio.sleep(1)
    customers = []
    for index in range(conversations):
        customers.append(asyncio.create_task(customer(ws_base, index, load, go, stop)))
        await asyncio.sleep(0.1)  # ten arrivals a second
    deadline = time.monotonic() + 60
    while load.chats_accepted < conversations and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    tls = ssl.create_default_context()
    clients = [console_client(base, cookie, tls) for cookie in seed_.cookies[:agents]]
    go.set()
    chat_measure_from = time.perf_counter()

    cpu_before = _cpu_ticks()
    system_cpu_before = _system_cpu(sys_.layout)
    database_cpu_before = _database_cpu()
    own_cpu_before = time.process_time()
    consoles = [
        asyncio.create_task(console_agent(client, seed_, load, stop, number))
        for number, client in enumerate(clients)
    ]
    mail_stop = threading.Event()
    mail_thread = threading.Thread(
        target=mail_sender,
        args=(sys_.dovecot, load, agents * MAIL_PER_AGENT_MINUTE / 60, mail_stop, mail_start),
        daemon=True,
    )
    mail_thread.start()
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:

        async def social(number: int) -> None:
            event = {
                "sender": {"id": f"88{number % 50:04d}"},
                "recipient": {"id": PAGE_ID},
                "timestamp": 1_765_000_000_000 + number,
                "message": {"mid": f"m_day-{load.run}-social-{number}", "text": "Hi, my parcel?"},
            }
            payload = {
                "object": "page",
                "entry": [{"id": PAGE_ID, "time": 1, "messaging": [event]}],
            }
            body = json.dumps(payload).encode()
            signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
            sent = time.time()
            try:
                response = await http.post(
                    "/social/webhooks/meta/",
                    content=body,
                    headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
                )
                load.social_sent[number] = sent
                if response.status_code != 200:
                    load.social_refused[str(response.status_code)] += 1
            except Exception as error:
                load.social_sent[number] = sent
                load.social_refused[type(error).__name__] += 1

        async def api(number: int) -> None:
            started = time.perf_counter()
            load.api_sent += 1
            try:
                response = await http.post(
                    "/api/v1/tickets",
                    json={
                        "requester_id": random.choice(seed_.customer_ids),
                        "category": "order_status",
                        "body": f"Logged by phone: parcel late. [day-{load.run}-api-{number}]",
                    },
                    headers={"Authorization": f"Bearer {seed_.token}"},
                )
                load.api_ms.append((time.perf_counter() - started) * 1000)
                if response.status_code != 201:
                    load.api_refused[str(response.status_code)] += 1
            except Exception as error:
                load.api_refused[type(error).__name__] += 1

        feeds = [
            asyncio.create_task(paced(agents * SOCIAL_PER_AGENT_MINUTE / 60, stop, social)),
            asyncio.create_task(paced(agents * API_PER_AGENT_MINUTE / 60, stop, api)),
        ]
        began = time.monotonic()
        load_before = os.getloadavg()
        lag_task = asyncio.create_task(loop_lag(lag_ms, stop))
        await asyncio.sleep(seconds)
        load_after = os.getloadavg()
        stop.set()
        mail_stop.set()
        elapsed = time.monotonic() - began
        await asyncio.gather(*feeds, *consoles, lag_task, return_exceptions=True)
    chat_seconds = time.perf_counter() - chat_measure_from
    cpu_after = _cpu_ticks()
    await asyncio.wait(customers)
    for task in desk:
        task.cancel()
    for outcome in await asyncio.gather(*desk, *customers, return_exceptions=True):
        if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError):
            load.errors[f"socket {outcome!r}"[:120]] += 1
    await asyncio.to_thread(mail_thread.join)
    busy = (cpu_after[0] - cpu_before[0]) / max(1, cpu_after[1] - cpu_before[1])
    return {
        "elapsed": elapsed,
        "chat_seconds": chat_seconds,
        "chat_from": chat_measure_from,
        "conversations": conversations,
        "chat_agents": chat_agents,
        "cpu_busy": busy,
        "load1": max(load_before[0], load_after[0]),
        "load_after": load_after[0],
        "system_cpu_s": _system_cpu(sys_.layout) - system_cpu_before,
        "database_cpu_s": _database_cpu_since(database_cpu_before),
        "bench_cpu_s": time.process_time() - own_cpu_before,
        "bench_lag_p99_ms": percentile(lag_ms, 99) if lag_ms else 0.0,
    }


async def loop_lag(lag_ms: list[float], stop: asyncio.Event, tick: float = 0.05) -> None:
    """How late this load generator's own event loop wakes up (every ``tick`` s): a late
    loop adds its delay to every latency it measures."""
    while not stop.is_set():
        began = time.perf_counter()
        await asyncio.sleep(tick)
        lag_ms.append((time.perf_counter() - began - tick) * 1000)


def warm(base: str, seed_: Seed) -> None:
    """A few console pages and API calls before the first step, so that no step measures
    processes' first requests (imports, template compilation, cold connections)."""
    import httpx

    with httpx.Client(base_url=base, cookies={"sessionid": seed_.cookies[0]}, timeout=60) as c:
        for ticket in seed_.ticket_ids[:20]:
            c.get("/console/")
            c.get(f"/console/tickets/{ticket}/")
            c.get("/api/v1/tickets", headers={"Authorization": f"Bearer {seed_.token}"})


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _system_cpu(layout: Layout) -> float:
    total = 0.0
    for process in layout.processes:
        if process.alive():
            with contextlib.suppress(OSError):
                total += cpu_seconds(process.pid)
    return total


def _database_cpu() -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving this database, by pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if DB_NAME.encode() in (entry / "cmdline").read_bytes():
                found[int(entry.name)] = cpu_seconds(int(entry.name))
    return found


def _database_cpu_since(before: dict[int, float]) -> float:
    """CPU used by the backends since ``before``: those still there, and new ones (a
    backend that closed in between takes its share with it: a lower bound)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in _database_cpu().items())


# --- counting ----------------------------------------------------------------------------


def _stored(pattern: str, regex: re.Pattern[str], column: str) -> dict[int, list[float]]:
    """number -> creation times (epoch seconds) of the messages carrying it."""
    from tickets.models import Message

    found: dict[int, list[float]] = {}
    rows = Message.objects.filter(**{f"{column}__contains": pattern}).values_list(
        column, "created_at", "ticket_id"
    )
    for value, created, ticket_id in rows:
        match = regex.search(value or "")
        if match and ticket_id:
            found.setdefault(int(match.group(1)), []).append(created.timestamp())
    return found


def count(load: Load) -> dict[str, object]:
    run = load.run
    mails = _stored(f"day-{run}-mail-", re.compile(rf"day-{run}-mail-(\d+)@"), "external_id")
    posts = _stored(f"day-{run}-social-", re.compile(rf"day-{run}-social-(\d+)$"), "external_id")
    api = _stored(f"[day-{run}-api-", re.compile(rf"\[day-{run}-api-(\d+)\]"), "body_text")
    from tickets.models import Message

    replies = Message.objects.filter(body_text__contains=f"[day-{run}-reply-").count()
    return {"mail": mails, "social": posts, "api": api, "replies": replies}


def settle(load: Load, *, timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        found = count(load)
        done = set(load.mail_sent) <= set(found["mail"]) and set(load.social_sent) <= set(  # type: ignore[arg-type]
            found["social"]  # type: ignore[arg-type]
        )
        if done or time.monotonic() > deadline:
            return found
        time.sleep(1)


@dataclass
class Row:
    agents: int
    figures: dict[str, object]
    met: bool
    why: list[str]


def intake_delays(sent: dict[int, float], stored: dict[int, list[float]]) -> list[float]:
    return [min(stored[n]) - at for n, at in sent.items() if n in stored]


def evaluate(agents: int, load: Load, found: dict[str, object], step: dict[str, float]) -> Row:
    mails: dict[int, list[float]] = found["mail"]  # type: ignore[assignment]
    posts: dict[int, list[float]] = found["social"]  # type: ignore[assignment]
    api: dict[int, list[float]] = found["api"]  # type: ignore[assignment]
    mail_delay = intake_delays(load.mail_sent, mails)
    social_delay = intake_delays(load.social_sent, posts)
    chat_lost = load.chat.lost()
    chat_dup = load.chat.duplicated()
    api_ok = len(load.api_ms) - sum(
        n for why, n in load.api_refused.items() if why.isdigit() and why != "201"
    )
    figures: dict[str, object] = {
        "console_requests": len(load.console_ms),
        "console_p50_ms": percentile(load.console_ms, 50) if load.console_ms else None,
        "console_p95_ms": percentile(load.console_ms, 95) if load.console_ms else None,
        "console_errors": dict(load.console_errors),
        "console_kinds": ", ".join(
            f"{kind} p95 {percentile(ms, 95):.0f} ms ({len(ms)})"
            for kind, ms in load.console_kind_ms.items()
        ),
        "replies_sent": load.replies_sent,
        "replies_stored": found["replies"],
        "chats": f"{load.chats_accepted}/{step['conversations']}",
        "chat_messages": len(load.chat.sent),
        "chat_p50_ms": load.chat.percentile_ms(50),
        "chat_p99_ms": load.chat.percentile_ms(99),
        "chat_p99_by_10s": ", ".join(
            f"{v:.0f}" for v in load.chat.p99_by_period(step["chat_from"], 10)
        ),
        "chat_lost": chat_lost,
        "chat_dup": chat_dup,
        "mail_sent": len(load.mail_sent),
        "mail_stored": len(set(load.mail_sent) & set(mails)),
        "mail_dup": sum(len(v) - 1 for v in mails.values()),
        "mail_p95_s": percentile(mail_delay, 95) if mail_delay else None,
        "mail_max_s": max(mail_delay) if mail_delay else None,
        "social_sent": len(load.social_sent),
        "social_stored": len(set(load.social_sent) & set(posts)),
        "social_dup": sum(len(v) - 1 for v in posts.values()),
        "social_refused": dict(load.social_refused),
        "social_p95_s": percentile(social_delay, 95) if social_delay else None,
        "social_max_s": max(social_delay) if social_delay else None,
        "api_sent": load.api_sent,
        "api_stored": len(api),
        "api_dup": sum(len(v) - 1 for v in api.values()),
        "api_p95_ms": percentile(load.api_ms, 95) if load.api_ms else None,
        "api_refused": dict(load.api_refused),
        "api_ok": api_ok,
        "errors": dict(load.errors),
        **step,
    }
    why = []
    c95 = figures["console_p95_ms"]
    if c95 is None or c95 >= CONSOLE_P95_MS:  # type: ignore[operator]
        why.append("console p95")
    if load.console_errors:
        why.append("console errors")
    c99 = figures["chat_p99_ms"]
    if c99 is None or c99 >= CHAT_P99_MS:  # type: ignore[operator]
        why.append("chat p99")
    if load.chats_accepted < step["conversations"]:
        why.append("chats not accepted")
    for name in ("mail", "social"):
        worst = figures[f"{name}_max_s"]
        if figures[f"{name}_stored"] < figures[f"{name}_sent"]:  # type: ignore[operator]
            why.append(f"{name} lost")
        elif worst is not None and worst > INTAKE_MAX_S:  # type: ignore[operator]
            why.append(f"{name} > 60 s")
    if chat_lost or chat_dup:
        why.append("chat lost/dup")
    if load.api_sent != len(api) or figures["api_dup"] or figures["mail_dup"]:
        why.append("api/mail lost or dup")
    if figures["social_dup"]:
        why.append("social dup")
    if found["replies"] != load.replies_sent:
        why.append("replies lost/dup")
    return Row(agents=agents, figures=figures, met=not why, why=why)


def _fmt(value: object, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def print_row(row: Row) -> None:
    f = row.figures
    print(
        f"\n== {row.agents} agents ({f['chat_agents']} on chat, {f['conversations']} chats): "
        f"{'MET' if row.met else 'NOT MET (' + ', '.join(row.why) + ')'}"
    )
    print(
        f"  console  {f['console_requests']} requests, p50 {_fmt(f['console_p50_ms'])} ms, "
        f"p95 {_fmt(f['console_p95_ms'])} ms (limit {CONSOLE_P95_MS:.0f}); errors "
        f"{f['console_errors'] or 0}; replies posted {f['replies_sent']}, stored "
        f"{f['replies_stored']}"
    )
    print(f"           {f['console_kinds']}")
    print(
        f"  chat     {f['chats']} accepted, {f['chat_messages']} messages, relay p50 "
        f"{_fmt(f['chat_p50_ms'], '.1f')} ms, p99 {_fmt(f['chat_p99_ms'], '.1f')} ms (limit "
        f"{CHAT_P99_MS:.0f}); lost {f['chat_lost']}, duplicated {f['chat_dup']}"
    )
    # Spread over the minute or bunched (a pause, a backlog)?
    print(f"           relay p99 per 10 s: {f['chat_p99_by_10s']} ms")
    for name in ("mail", "social"):
        print(
            f"  {name:<8} sent {f[f'{name}_sent']}, stored {f[f'{name}_stored']}, duplicated "
            f"{f[f'{name}_dup']}; arrival to ticket p95 {_fmt(f[f'{name}_p95_s'], '.1f')} s, "
            f"max {_fmt(f[f'{name}_max_s'], '.1f')} s (limit {INTAKE_MAX_S:.0f})"
            + (
                f"; refused {f['social_refused']}"
                if name == "social" and f["social_refused"]
                else ""
            )
        )
    print(
        f"  api      sent {f['api_sent']}, stored {f['api_stored']}, duplicated {f['api_dup']}; "
        f"p95 {_fmt(f['api_p95_ms'])} ms"
        + (f"; refused {f['api_refused']}" if f["api_refused"] else "")
    )
    if f["errors"]:
        print(f"  errors   {f['errors']}")
    print(
        f"  machine  load average {f['load1']:.2f} (1 min, highest of start/end), CPU busy "
        f"{f['cpu_busy'] * 100:.0f}% of 2 cores over {f['elapsed']:.0f} s; the system's "
        f"processes {f['system_cpu_s']:.1f} CPU s, PostgreSQL backends "
        f"{f['database_cpu_s']:.1f} CPU s, this load generator {f['bench_cpu_s']:.1f} "
        f"CPU s (its event loop late by p99 {f['bench_lag_p99_ms']:.0f} ms)"
    )


def sizes() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM tickets_ticket), (SELECT count(*) FROM tickets_message),"
            " (SELECT count(*) FROM accounts_user),"
            " pg_size_pretty(pg_database_size(current_database()))"
        )
        tickets, messages, users, size = cursor.fetchone()
    return f"{tickets:,} tickets, {messages:,} messages, {users:,} users, database {size}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, nargs="+", default=DEFAULT_AGENTS)
    parser.add_argument("--seconds", type=float, default=60, help="load per step")
    parser.add_argument("--tickets", type=int, default=5000, help="generated tickets")
    parser.add_argument("--web", type=int, default=2, help="uvicorn processes")
    parser.add_argument(
        "--sockets",
        type=int,
        default=1,
        help="more uvicorn processes for the WebSockets alone, as the site (0: on the web ones)",
    )
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    var_dir = Path(os.environ.get("IZONIE_VAR_DIR") or "/tmp/izonie-bench-day")
    var_dir.mkdir(parents=True, exist_ok=True)
    os.environ["IZONIE_VAR_DIR"] = str(var_dir)

    started = time.monotonic()
    print(f"Preparing {DB_NAME} ({args.tickets:,} tickets)...", flush=True)
    url = prepare(tickets=args.tickets, agents=max(args.agents))
    seed_ = seed(agents=max(args.agents))
    print(f"Data: {sizes()}", flush=True)
    rows: list[Row] = []
    with system(database_url=url, var_dir=var_dir, web=args.web, sockets=args.sockets) as sys_:
        names = ", ".join(p.name for p in sys_.layout.processes)
        print(f"System up in {time.monotonic() - started:.0f} s: {names}", flush=True)
        warm(sys_.layout.url, seed_)
        mail_start = 0
        for agents in sorted(args.agents):
            chat_desk(max(1, agents // 2))
            load = Load(run=f"{int(time.time()) % 100000}-{agents}")
            print(f"\n-- {agents} agents: {args.seconds:g} s of load...", flush=True)
            step = asyncio.run(
                run_step(
                    sys_=sys_,
                    seed_=seed_,
                    agents=agents,
                    seconds=args.seconds,
                    load=load,
                    mail_start=mail_start,
                )
            )
            mail_start += len(load.mail_sent) + 1
            found = settle(load, timeout=SETTLE_SECONDS)
            row = evaluate(agents, load, found, step)
            rows.append(row)
            print_row(row)
            dead = [p.name for p in sys_.layout.processes if not p.alive()]
            if dead:
                print(f"  processes that exited: {dead}")
                break
    print(f"\nData: {sizes()}")
    print(
        f"Rates per agent: a console action every {CONSOLE_ACTION_SECONDS[0]:g}-"
        f"{CONSOLE_ACTION_SECONDS[1]:g} s; half on chat with {CHATS_PER_CHAT_AGENT} chats each, "
        f"a customer message every {CHAT_MESSAGE_SECONDS:g} s; mail {MAIL_PER_AGENT_MINUTE}/min, "
        f"social {SOCIAL_PER_AGENT_MINUTE}/min, API {API_PER_AGENT_MINUTE}/min"
    )
    print(f"{'agents':>6} {'console p95':>12} {'chat p99':>9} {'mail max':>9} {'social max':>11}"
          f" {'lost':>5} {'load':>5} {'cpu':>5}  result")  # fmt: skip
    for row in rows:
        f = row.figures
        lost = (
            (f["mail_sent"] - f["mail_stored"])  # type: ignore[operator]
            + (f["social_sent"] - f["social_stored"])  # type: ignore[operator]
            + (f["api_sent"] - f["api_stored"])  # type: ignore[operator]
            + f["chat_lost"]  # type: ignore[operator]
        )
        print(
            f"{row.agents:>6} {_fmt(f['console_p95_ms']):>9} ms {_fmt(f['chat_p99_ms']):>6} ms"
            f" {_fmt(f['mail_max_s'], '.1f'):>7} s {_fmt(f['social_max_s'], '.1f'):>9} s"
            f" {lost:>5} {f['load1']:>5.1f} {f['cpu_busy'] * 100:>4.0f}%  "
            + ("met" if row.met else "not met: " + ", ".join(row.why))
        )
    met = [row.agents for row in rows if row.met]
    print(
        "Largest number of agents meeting every limit: "
        + (f"{max(met)} (steps met: {met})" if met else "none of the steps")
    )
    print(f"Run: {time.monotonic() - started:.0f} s; uptime load average {os.getloadavg()}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
