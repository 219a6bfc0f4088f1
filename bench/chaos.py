"""Fault injection on the production layout: processes killed under load, the database cut,
then everything redelivered; what was sent against what was stored, per channel.

    .venv/bin/python -m bench.chaos                  # 120 s of load (the default)
    .venv/bin/python -m bench.chaos --seconds 30 --kills 1 --outage 3

Starts deploy/layout.py's layout (two uvicorn processes behind nginx, two workers, the IMAP
fetcher) on PostgreSQL (a fresh ``izonie_bench_chaos`` on ``IZONIE_BENCH_DATABASE_URL``)
and Redis (database 12, apart from the tests' 11), with a throw-away Dovecot as the support
mailbox and an SMTP server on loopback receiving what workers send. Every process reaches
PostgreSQL through a loopback proxy (core.tests.net.TcpProxy) that can be cut.

While three senders run (mails appended to the mailbox; agents' replies POSTed to the REST
API with an ``Idempotency-Key``, retried until answered; signed Messenger deliveries
POSTed to the webhook, retried until acknowledged), the run kills with SIGKILL, at random
moments, ``--kills`` times each: the IMAP fetcher, a web process and a worker, each started
again two seconds later as systemd would. Once it makes the database unreachable for
``--outage`` seconds. After the load, every process not running is started again, and
everything is delivered a second time (each mail appended again, each API call repeated with
its key, each webhook posted again). Once the queues are empty it prints, per channel: sent,
stored, duplicated (stored more than once) and lost (never stored); the replies mailed and
any mailed twice under two Message-IDs; and the follow-up work left without a task (the
sweep's own queries: outbox rows, running SLA clocks, unprocessed social deliveries).
Targets: 0 lost, 0 duplicated, no orphans. deploy/tests/test_chaos.py is the short form CI
runs.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import hashlib
import hmac
import json
import logging
import os
import random
import re
import shutil
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.tests.net import TcpProxy, free_port  # noqa: E402
from deploy.layout import Layout, Process  # noqa: E402

REDIS_URL = os.environ.get("IZONIE_BENCH_CHAOS_REDIS_URL", "redis://127.0.0.1:6379/12")
APP_SECRET = "chaos-app-secret"
PAGE_ID = "104857600042"
SWEEP_SECONDS = 2  # the layout's sweep interval and grace, so the run ends in seconds
RESTART_DELAY = 2.0  # systemd's RestartSec in the units is 2 s as well


# --- the servers around the layout -------------------------------------------------------


class SmtpSink:
    """The outgoing mail server: keeps every message workers send."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope.content)
        return "250 OK"


@dataclass
class Rig:
    """The layout and what surrounds it: proxy to PostgreSQL, Dovecot, SMTP."""

    layout: Layout
    proxy: TcpProxy
    dovecot: object
    smtp: SmtpSink


@contextlib.contextmanager
def rig(*, database_url: str, prepare: bool = True, keep_logs: bool = False) -> Iterator[Rig]:
    """Start the layout on ``database_url`` (reached through a proxy that can be cut);
    ``prepare=False`` skips the migrate unit, for a database migrated already."""
    import redis
    from aiosmtpd.controller import Controller

    from mail.tests.imap_server import Dovecot

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per command
    # Database 12 is this run's alone: no throttle counts (acknowledgements to new
    # addresses, 100 an hour) or channel groups left by an earlier run.
    redis.Redis.from_url(REDIS_URL).flushdb()
    host_port = database_url.split("@", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    proxy = TcpProxy(target_host=host or "127.0.0.1", target_port=int(port or 5432))
    proxy.up()
    proxied = database_url.replace(f"@{host_port}/", f"@127.0.0.1:{proxy.port}/")
    smtp = SmtpSink()
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
    controller.start()
    dovecot = Dovecot()
    dovecot.start()
    layout = Layout(
        database_url=proxied,
        redis_url=REDIS_URL,
        imap=dovecot.layout_imap(),
        smtp=("127.0.0.1", controller.port),
        extra_env={
            "IZONIE_STAFF_2FA_REQUIRED": "0",
            # A killed worker is noticed in seconds, and the sweep runs every 2 s instead
            # of every minute, so that the run can end once the queues are empty.
            "IZONIE_WORKER_HEARTBEAT_SECONDS": "1",
            "IZONIE_WORKER_DEAD_AFTER_SECONDS": "3",
            "IZONIE_SWEEP_EVERY_SECONDS": str(SWEEP_SECONDS),
            "IZONIE_SWEEP_GRACE_SECONDS": str(SWEEP_SECONDS),
            "IZONIE_DB_RETRY_MAX_SECONDS": "1",
            "IZONIE_OUTBOX_BACKOFF_SECONDS": "1",
            # No Graph API here: profile look-ups fail fast and names stay unknown.
            "IZONIE_META_GRAPH_URL": f"http://127.0.0.1:{free_port()}",
        },
        worker_args=["--interval", "0.2"],
        prepare=prepare,
    )
    try:
        layout.up(timeout=300)
        yield Rig(layout=layout, proxy=proxy, dovecot=dovecot, smtp=smtp)
    finally:
        layout.down()
        controller.stop()
        dovecot.cleanup()
        proxy.down()
        if not keep_logs:
            shutil.rmtree(layout.run_dir, ignore_errors=True)


# --- what is sent -----------------------------------------------------------------------


def _mail(run: str, number: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Customer {number} <chaos{number}@example.com>"
    message["To"] = "support@izonie.com"
    message["Subject"] = f"Chaos order question {number}"
    message["Message-ID"] = f"<chaos-{run}-mail-{number}@example.com>"
    message.set_content(f"Where is my parcel? [chaos-{run}-mail-{number}]")
    return message.as_bytes()


def _append(dovecot, raw: bytes) -> None:
    from imapclient import IMAPClient

    with IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=10) as client:
        client.login(dovecot.user, dovecot.password)
        client.append("INBOX", raw)


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


@dataclass
class Sender:
    """One channel's load: items numbered from 0, each sent until accepted."""

    name: str
    send_one: Callable[[int], bool]  # True once the item is accepted
    interval: float
    sent: int = 0
    attempts: int = 0
    refused: Counter[str] = field(default_factory=Counter)

    def deliver(self, number: int, *, stop: threading.Event, patience: float) -> bool:
        deadline = time.monotonic() + patience
        while True:
            self.attempts += 1
            try:
                if self.send_one(number):
                    return True
            except OSError as error:
                self.refused[type(error).__name__] += 1
            if stop.is_set() or time.monotonic() > deadline:
                return False
            time.sleep(0.3)

    def load(self, *, stop: threading.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            number = self.sent
            self.sent += 1
            self.deliver(number, stop=stop, patience=60)
            time.sleep(max(0.0, self.interval - (time.monotonic() - started)))

    def redeliver(self) -> int:
        """Send every item again; returns how many were not accepted."""
        never = threading.Event()
        return sum(not self.deliver(n, stop=never, patience=60) for n in range(self.sent))


def senders(rig: Rig, *, run: str, tickets: list[int], token: str) -> list[Sender]:
    url = rig.layout.url

    def append_mail(number: int) -> bool:
        _append(rig.dovecot, _mail(run, number))  # the mailbox is never down here
        return True

    mail = Sender("mail", append_mail, 1.2)

    def api_reply(number: int) -> bool:
        ticket = tickets[number % len(tickets)]
        status = _post(
            f"{url}/api/v1/tickets/{ticket}/replies",
            json.dumps({"body": f"Your parcel left today. [chaos-{run}-api-{number}]"}).encode(),
            {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": f"chaos-{run}-api-{number}",
            },
        )
        if status not in (200, 201):
            api.refused[str(status)] += 1
        return status in (200, 201)

    api = Sender("api", api_reply, 0.3)

    def webhook(number: int) -> bool:
        event = {
            "sender": {"id": f"77{number % 7:04d}"},
            "recipient": {"id": PAGE_ID},
            "timestamp": 1_765_000_000_000 + number,
            "message": {"mid": f"m_chaos-{run}-social-{number}", "text": f"Hello ({number})"},
        }
        payload = {"object": "page", "entry": [{"id": PAGE_ID, "time": 1, "messaging": [event]}]}
        body = json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        status = _post(
            f"{url}/social/webhooks/meta/",
            body,
            {"Content-Type": "application/json", "X-Hub-Signature-256": signature},
        )
        if status != 200:
            social.refused[str(status)] += 1
        return status == 200

    social = Sender("social", webhook, 0.6)
    return [mail, api, social]


def seed(*, run: str, rig: Rig, tickets: int) -> tuple[list[int], str]:
    """The Facebook page, an agent with an API token, and mail tickets the agent answers."""
    from accounts.models import ApiToken, Role, User
    from mail.intake import ingest_raw
    from social.models import Platform, SocialAccount

    SocialAccount.objects.create(
        platform=Platform.FACEBOOK,
        external_id=PAGE_ID,
        name="Izonie",
        access_token="page-token",
        app_secret=APP_SECRET,
        verify_token="verify",
    )
    agent = User.objects.create_user(
        username=f"chaos-agent-{run}", role=Role.AGENT, teams=["customer_care"]
    )
    token = ApiToken.objects.create(user=agent, name="chaos").key
    ids = []
    for number in range(tickets):
        record = ingest_raw(raw=_mail(f"{run}-seed", number))
        assert record.ticket is not None
        ids.append(record.ticket.pk)
    return ids, token


# --- the faults ---------------------------------------------------------------------------


@dataclass
class Fault:
    at: float  # seconds into the load
    kind: str  # "fetch-mail", "web", "worker" or "outage"


def schedule(*, seconds: float, kills: int, rng: random.Random) -> list[Fault]:
    """``kills`` kills of each kind at random moments, and one outage mid-way."""
    faults = [
        Fault(at=rng.uniform(0.1, 0.7) * seconds, kind=kind)
        for kind in ("fetch-mail", "web", "worker")
        for _ in range(kills)
    ]
    faults.append(Fault(at=rng.uniform(0.3, 0.6) * seconds, kind="outage"))
    return sorted(faults, key=lambda f: f.at)


def inject(rig: Rig, faults: list[Fault], *, outage: float, rng: random.Random, log) -> None:
    layout = rig.layout
    started = time.monotonic()
    pending_restarts: list[tuple[float, Process]] = []
    killed: set[int] = set()  # pids: a killed process may look alive until it is reaped

    def restart_due(until: float) -> None:
        while time.monotonic() < until:
            for item in list(pending_restarts):
                if item[0] <= time.monotonic():
                    pending_restarts.remove(item)
                    layout.restart([item[1]], wait=False)
            time.sleep(0.05)

    for fault in faults:
        restart_due(started + fault.at)
        if fault.kind == "outage":
            log(f"  {fault.at:5.1f} s  database unreachable for {outage:g} s")
            rig.proxy.down()
            restart_due(time.monotonic() + outage)
            rig.proxy.up()
            continue
        alive = [p for p in layout.named(fault.kind) if p.alive() and p.pid not in killed]
        if not alive:
            continue
        victim = rng.choice(alive)
        os.kill(victim.pid, signal.SIGKILL)
        killed.add(victim.pid)
        log(f"  {fault.at:5.1f} s  SIGKILL {victim.name} (pid {victim.pid})")
        pending_restarts.append((time.monotonic() + RESTART_DELAY, victim))
    restart_due(time.monotonic() + RESTART_DELAY + 0.1)


# --- counting -------------------------------------------------------------------------------


@dataclass
class ChannelCount:
    name: str
    sent: int
    stored: int
    duplicated: int
    attempts: int
    refused: str = ""  # why attempts failed: HTTP status (0: no answer) or error, counted

    @property
    def lost(self) -> int:
        return self.sent - self.stored


@dataclass
class Report:
    channels: list[ChannelCount]
    mailed: int  # API replies that reached the SMTP server
    mailed_twice: int  # API replies mailed under two different Message-IDs
    resent_same_id: int  # extra copies with the same Message-ID (harmless)
    orphans: dict[str, int]
    requeued: dict[str, int]  # what the recovery paths did, from the processes' logs
    seconds: float

    @property
    def lost(self) -> int:
        return sum(c.lost for c in self.channels)

    @property
    def duplicated(self) -> int:
        return sum(c.duplicated for c in self.channels) + self.mailed_twice

    def lines(self) -> list[str]:
        header = f"{'channel':<8} {'sent':>6} {'stored':>7} {'dup':>5} {'lost':>5} {'posts':>6}"
        out = [f"{header}  refused"]
        for c in self.channels:
            out.append(
                f"{c.name:<8} {c.sent:>6} {c.stored:>7} {c.duplicated:>5} {c.lost:>5}"
                f" {c.attempts:>6}  {c.refused}"
            )
        out.append(
            f"API replies mailed: {self.mailed}; mailed under two Message-IDs: "
            f"{self.mailed_twice}; resent with the same Message-ID: {self.resent_same_id}"
        )
        out.append("orphaned follow-up work: " + _pairs(self.orphans))
        out.append("seen in the processes' logs: " + _pairs(self.requeued))
        return out


def _pairs(values: dict[str, int]) -> str:
    return ", ".join(f"{name} {number}" for name, number in values.items())


def _numbers(values, pattern: re.Pattern[str]) -> Counter[int]:
    found: Counter[int] = Counter()
    for value in values:
        match = pattern.search(value or "")
        if match:
            found[int(match.group(1))] += 1
    return found


def count(rig: Rig, *, run: str, load: list[Sender]) -> tuple[list[ChannelCount], dict]:
    from tickets.choices import Channel, DeliveryStatus
    from tickets.models import Message, OutboundMessage

    mail, api, social = load
    mails = _numbers(
        Message.objects.filter(
            channel=Channel.EMAIL, external_id__contains=f"chaos-{run}-mail-"
        ).values_list("external_id", flat=True),
        re.compile(rf"chaos-{run}-mail-(\d+)@"),
    )
    replies = _numbers(
        Message.objects.filter(body_text__contains=f"[chaos-{run}-api-").values_list(
            "body_text", flat=True
        ),
        re.compile(rf"\[chaos-{run}-api-(\d+)\]"),
    )
    posts = _numbers(
        Message.objects.filter(external_id__contains=f"chaos-{run}-social-").values_list(
            "external_id", flat=True
        ),
        re.compile(rf"chaos-{run}-social-(\d+)$"),
    )
    channels = [
        ChannelCount(
            name=sender.name,
            sent=sender.sent,
            stored=len(found),
            duplicated=sum(n - 1 for n in found.values()),
            attempts=sender.attempts,
            refused=", ".join(f"{why}: {n}" for why, n in sender.refused.most_common()),
        )
        for sender, found in ((mail, mails), (api, replies), (social, posts))
    ]
    unsent = OutboundMessage.objects.filter(status=DeliveryStatus.PENDING).count()
    return channels, {"unsent": unsent}


def _mailed(rig: Rig, run: str) -> tuple[int, int, int]:
    ids: dict[int, Counter[str]] = {}
    pattern = re.compile(rf"\[chaos-{run}-api-(\d+)\]")
    for raw in list(rig.smtp.received):
        parsed = email.message_from_bytes(raw)
        text = raw.decode("utf-8", "replace")
        match = pattern.search(text)
        if match:
            ids.setdefault(int(match.group(1)), Counter())[str(parsed["Message-ID"])] += 1
    mailed = len(ids)
    twice = sum(1 for c in ids.values() if len(c) > 1)
    resent = sum(n - 1 for c in ids.values() for n in c.values())
    return mailed, twice, resent


def orphans() -> dict[str, int]:
    import datetime as dt

    from core.sweeper import social_orphans
    from sla.recovery import clock_orphans
    from tickets.recovery import outbox_orphans

    now = dt.timedelta(0)
    return {
        "outbox rows without a task": len(outbox_orphans(grace=now)),
        "running SLA clocks without a timer": len(clock_orphans(grace=now)),
        "social deliveries unprocessed": social_orphans(grace=now),
    }


def _requeued(layout: Layout) -> dict[str, int]:
    text = "\n".join(p.log.read_text(errors="replace") for p in layout.processes)
    return {
        "sweep log lines": text.count("Queued again work that lost its task"),
        "tasks of dead workers queued again": text.count("queued again"),
        "'Database unreachable' lines": text.count("Database unreachable"),
    }


def _settled(rig: Rig, *, run: str, load: list[Sender]) -> bool:
    """Everything stored and mailed, every delivered copy read (each mail twice at least:
    sent, then redelivered), no webhook delivery waiting."""
    from mail.models import InboundEmail
    from social.models import DeliveryStatus as SocialStatus
    from social.models import WebhookDelivery

    channels, queues = count(rig, run=run, load=load)
    if any(c.stored < c.sent for c in channels) or queues["unsent"]:
        return False
    if WebhookDelivery.objects.filter(status=SocialStatus.RECEIVED).exists():
        return False
    copies = InboundEmail.objects.filter(header_id__contains=f"chaos-{run}-mail-").count()
    if copies < 2 * load[0].sent:
        return False
    mailed, _twice, _resent = _mailed(rig, run)
    return mailed >= load[1].sent


def _wait_ready(layout: Layout, *, timeout: float) -> None:
    """Until every web process answers /healthz: those restarted during the load may
    still be starting, and the redelivery should meet the layout whole."""
    deadline = time.monotonic() + timeout
    for port in layout.web_ports:
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)


# --- the run ------------------------------------------------------------------------------


def run_chaos(
    rig: Rig,
    *,
    seconds: float,
    kills: int = 1,
    outage: float = 5,
    seed_value: int = 23,
    settle_timeout: float = 120,
    log: Callable[[str], None] = print,
) -> Report:
    """Load, faults, restart, redelivery, then the count. Django must be set up on the
    database the layout uses (directly, not through the proxy)."""
    started = time.monotonic()
    rng = random.Random(seed_value)
    run = f"{int(time.time()) % 100000}"
    tickets, token = seed(run=run, rig=rig, tickets=5)
    load = senders(rig, run=run, tickets=tickets, token=token)
    stop = threading.Event()
    threads = [threading.Thread(target=s.load, kwargs={"stop": stop}, daemon=True) for s in load]
    log(f"Load for {seconds:g} s; faults:")
    for thread in threads:
        thread.start()
    try:
        faults = schedule(seconds=seconds, kills=kills, rng=rng)
        inject(rig, faults, outage=outage, rng=rng, log=log)
        time.sleep(max(0.0, started + seconds - time.monotonic()))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    log(f"{time.monotonic() - started:5.1f} s  load stopped; starting again what is not running")
    rig.layout.restart()
    _wait_ready(rig.layout, timeout=settle_timeout)
    log(f"{time.monotonic() - started:5.1f} s  delivering everything again")
    for sender in load:
        missed = sender.redeliver()
        if missed:
            log(f"  {sender.name}: {missed} not accepted on redelivery")
    log(f"{time.monotonic() - started:5.1f} s  waiting for the queues to empty")
    deadline = time.monotonic() + settle_timeout
    while time.monotonic() < deadline and not _settled(rig, run=run, load=load):
        time.sleep(0.5)
    log(f"{time.monotonic() - started:5.1f} s  settled: {_settled(rig, run=run, load=load)}")
    deadline = time.monotonic() + 4 * SWEEP_SECONDS + 5
    while time.monotonic() < deadline and any(orphans().values()):
        time.sleep(0.5)
    log(f"{time.monotonic() - started:5.1f} s  counting")
    channels, _queues = count(rig, run=run, load=load)
    mailed, twice, resent = _mailed(rig, run)
    return Report(
        channels=channels,
        mailed=mailed,
        mailed_twice=twice,
        resent_same_id=resent,
        orphans=orphans(),
        requeued=_requeued(rig.layout),
        seconds=time.monotonic() - started,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120, help="length of the load")
    parser.add_argument("--kills", type=int, default=4, help="SIGKILLs per kind of process")
    parser.add_argument("--outage", type=float, default=18, help="database outage, seconds")
    parser.add_argument("--seed", type=int, default=23)
    args = parser.parse_args()

    from bench.harness import django_setup, fresh_database

    url = fresh_database("izonie_bench_chaos")
    os.environ["REDIS_URL"] = REDIS_URL

    started = time.monotonic()
    with rig(database_url=url) as chaos_rig:
        django_setup()
        print(f"Layout up in {time.monotonic() - started:.1f} s", flush=True)
        report = run_chaos(
            chaos_rig, seconds=args.seconds, kills=args.kills, outage=args.outage,
            seed_value=args.seed, log=lambda line: print(line, flush=True),
        )  # fmt: skip
    for line in report.lines():
        print(line)
    total = time.monotonic() - started
    print(f"Run: {report.seconds:.0f} s after the layout was up; {total:.0f} s in all")
    if report.lost or report.duplicated or any(report.orphans.values()):
        sys.exit(1)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
