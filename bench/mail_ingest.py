"""Email intake throughput: 10,000 realistic mixed messages, from disk and from IMAP.

    .venv/bin/python bench/mail_ingest.py                 # SQLite and PostgreSQL, disk + IMAP
    .venv/bin/python bench/mail_ingest.py --backends postgresql --no-imap
    .venv/bin/python bench/mail_ingest.py --messages 2000 --profile
    .venv/bin/python bench/mail_ingest.py --messages 1000 --no-imap --count-statements
    .venv/bin/python bench/mail_ingest.py --corpus      # the real-world corpus instead

A generator writes the messages as .eml files: new requests (plain, HTML with a text
part, HTML only, some with a photo or PDF, some Cc'ing someone), replies threaded by
In-Reply-To, by References alone, by the [IZS-n] subject token and by the support+n@
plus-address, replies that arrive before their original, auto-replies, bulk mail and
bounces. Each run ingests them into a fresh database through ``manage.py ingest_mail``
(batches of 100, one transaction each) or the IMAP fetcher, on one core, then checks
the counts it expects: one ticket per conversation, every reply on its conversation's
ticket, machine mail ignored. With Dovecot installed (scripts/test installs it), the same
messages are appended to a throw-away Dovecot and fetched by the IMAP fetcher.

Printed per backend and source: messages per second, peak memory (max RSS of the
process), the size of the messages and of the database afterwards.

``--corpus`` delivers the real-world corpus instead (mail/tests/corpus: bounces of
real servers, client replies, newsletters, broken mail; see its README), one mail per
transaction as they arrive, and prints per backend the count of each outcome (ticket,
bounce, machine, duplicate, quarantined) and the automatic messages (acknowledgements,
order-number requests) that would go to a machine sender: the target is 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BENCH_PG, ROOT, django_setup

# A run beside another engineer's picks a database of its own (IZONIE_BENCH_MAIL_DATABASE).
PG_DATABASE = os.environ.get("IZONIE_BENCH_MAIL_DATABASE", "izonie_bench_mail")
PG_CORPUS_DATABASE = "izonie_bench_mail_corpus"
SUBJECTS = [
    "My order has not arrived",
    "Refund for order {order}",
    "Wrong size delivered",
    "Payment taken twice",
    "Cannot log in to my account",
    "Seller is not answering",
    "Where is my parcel?",
    "Return label for order {order}",
    "Phone screen cracked on delivery",
    "Coupon code not accepted",
]
BODIES = [
    "Hello,\n\nI ordered on Monday and the tracking page has not changed since. "
    "Order number {order}. Can you check what is happening?\n\nThanks,\n{name}",
    "Good day,\n\nI was charged twice for order {order}. Please refund one of the "
    "payments. I attach my bank statement.\n\nRegards,\n{name}\nSent from my phone",
    "Hi team,\n\nThe item I received is not what I ordered (I wanted size 42, I got 40). "
    "How do I return it?\n\n{name}",
]
REPLY_BODIES = [
    "Thank you, I have now received it.",
    "I still have not heard from the seller. Please help.",
    "Here is the photo you asked for.",
    "Any update on this? It has been two days.",
]
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82" + b"\0" * 40_000
)
PDF = b"%PDF-1.4\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 1500 + b"%%EOF\n"


@dataclass
class Item:
    at: float
    thread: int | None  # None: machine mail (no ticket expected)
    kind: str
    message_id: str
    customer: int
    parent: str = ""
    ancestors: list[str] = field(default_factory=list)
    expect: str = "processed"


def _customer(n: int) -> tuple[str, str]:
    first = ["Chioma", "Emeka", "Bisi", "Tunde", "Ada", "Ngozi", "Femi", "Kemi", "Ife", "Obi"]
    return f"{first[n % 10]} Customer{n}", f"customer{n}@example.ng"


def _plan(total: int, rng: random.Random) -> list[Item]:
    items: list[Item] = []
    thread = 0
    customers = max(200, total // 5)
    machine_share = 0.06
    while len(items) < total:
        if rng.random() < machine_share:
            kind = rng.choice(["auto_reply", "bulk", "bounce"])
            expect = "bounce" if kind == "bounce" else "ignored"
            items.append(
                Item(
                    at=len(items) + rng.random(),
                    thread=None,
                    kind=kind,
                    message_id=f"machine{len(items)}@mx.example.net",
                    customer=rng.randrange(customers),
                    expect=expect,
                )
            )
            continue
        customer = rng.randrange(customers)
        start = len(items) + rng.random()
        original = Item(start, thread, "new", f"t{thread}.0@mail.example.ng", customer)
        chain = [original]
        for n in range(1, 1 + rng.choice([0, 0, 1, 1, 1, 2, 2, 3, 4])):
            kind = rng.choices(
                ["in_reply_to", "references", "token", "plus"], weights=[55, 15, 15, 15]
            )[0]
            chain.append(
                Item(
                    at=chain[-1].at + rng.uniform(3, 40),
                    thread=thread,
                    kind=kind,
                    message_id=f"t{thread}.{n}@mail.example.ng",
                    customer=customer,
                    parent=chain[-1].message_id,
                    ancestors=[c.message_id for c in chain],
                )
            )
        if len(chain) > 1 and chain[1].kind == "in_reply_to" and rng.random() < 0.08:
            # The reply overtakes its original on the way.
            chain[0].at, chain[1].at = chain[1].at, chain[0].at
        items.extend(chain[: total - len(items)])
        thread += 1
    items.sort(key=lambda item: item.at)
    return items


def _render(item: Item, ticket_of: dict[int, int], rng: random.Random, when: float) -> bytes:
    name, address = _customer(item.customer)
    order = f"IZN-{100000 + (item.thread or 0) * 7 % 900000}"
    message = EmailMessage()
    message["Date"] = format_datetime(dt.datetime.fromtimestamp(when, dt.UTC))
    message["Message-ID"] = f"<{item.message_id}>"
    if item.kind == "bounce":
        message["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example.net>"
        message["To"] = "support@izonie.com"
        message["Subject"] = "Undelivered Mail Returned to Sender"
        message["Auto-Submitted"] = "auto-replied"
        message.set_content(
            "This is the mail system at host mx.example.net.\n\nI'm sorry to have to inform "
            f"you that your message could not be delivered.\n\n<{address}>: host "
            "mx.example.ng said: 550 5.1.1 User unknown\n"
        )
        message.add_attachment(
            f"From: support@izonie.com\nTo: {address}\nMessage-ID: <ack{item.customer}"
            "@izonie.com>\nSubject: Re: your request\n",
            subtype="rfc822-headers",
        )
        return message.as_bytes()
    message["From"] = f"{name} <{address}>"
    message["To"] = "support@izonie.com"
    subject = rng.choice(SUBJECTS).format(order=order)
    if item.kind == "auto_reply":
        message["Subject"] = f"Out of office: {subject}"
        message["Auto-Submitted"] = "auto-replied"
        message.set_content("I am out of the office until Monday.")
        return message.as_bytes()
    if item.kind == "bulk":
        message.replace_header("From", "Deals <news@deals.example.com>")
        message["Subject"] = "This week's offers"
        message["Precedence"] = "bulk"
        message["List-Unsubscribe"] = "<mailto:unsubscribe@deals.example.com>"
        message.set_content("Big discounts this week only.")
        message.add_alternative("<h1>Big discounts</h1><p>This week only.</p>", subtype="html")
        return message.as_bytes()
    body = rng.choice(BODIES if item.kind == "new" else REPLY_BODIES).format(
        order=order, name=name.split()[0]
    )
    if item.kind == "new":
        message["Subject"] = subject
        if rng.random() < 0.1:
            message["Cc"] = f"Friend <friend{item.customer}@example.ng>"
    else:
        ticket = ticket_of[item.thread or 0]
        quoted = "\n".join(f"> {line}" for line in rng.choice(BODIES).splitlines())
        body += f"\n\nOn Mon, 23 Nov 2026 at 10:00, Izonie Support wrote:\n{quoted}\n"
        message["Subject"] = f"Re: {subject}"
        if item.kind == "in_reply_to":
            message["In-Reply-To"] = f"<{item.parent}>"
            message["References"] = " ".join(f"<{a}>" for a in item.ancestors)
        elif item.kind == "references":
            message["References"] = " ".join(f"<{a}>" for a in item.ancestors)
        elif item.kind == "token":
            message.replace_header("Subject", f"Re: {subject} [IZS-{ticket}]")
        elif item.kind == "plus":
            message.replace_header("To", f"support+{ticket}@izonie.com")
    style = rng.random()
    if style < 0.55:
        message.set_content(body)
    elif style < 0.85:
        message.set_content(body)
        html = "".join(f"<p>{line}</p>" for line in body.splitlines() if line)
        message.add_alternative(f"<html><body>{html}</body></html>", subtype="html")
    else:
        html = "".join(f"<p>{line}</p>" for line in body.splitlines() if line)
        message.set_content(f"<html><body><div>{html}</div></body></html>", subtype="html")
    if rng.random() < 0.12:
        if rng.random() < 0.6:
            message.add_attachment(PNG, maintype="image", subtype="png", filename="photo.png")
        else:
            message.add_attachment(PDF, maintype="application", subtype="pdf", filename="r.pdf")
    return message.as_bytes()


def _late_originals(items: list[Item]) -> int:
    first_reply: dict[int, float] = {}
    for item in items:
        if item.thread is not None and item.kind != "new":
            first_reply.setdefault(item.thread, item.at)
    return sum(
        1
        for item in items
        if item.kind == "new" and item.at > first_reply.get(item.thread or 0, float("inf"))
    )


def generate(directory: Path, total: int, seed: int = 4) -> dict:
    """Write the messages (0000001.eml ...) and a manifest with the expected outcome."""
    rng = random.Random(seed)
    items = _plan(total, rng)
    ticket_of: dict[int, int] = {}
    next_ticket = 1
    expected_threads: dict[str, int] = {}
    start = 1_795_000_000.0
    for index, item in enumerate(items, start=1):
        if item.thread is not None and item.thread not in ticket_of:
            # The first message of a conversation to arrive opens its ticket.
            ticket_of[item.thread] = next_ticket
            next_ticket += 1
        raw = _render(item, ticket_of, rng, start + index * 7)
        (directory / f"{index:07d}.eml").write_bytes(raw)
        if item.thread is not None:
            expected_threads[item.message_id] = item.thread
    manifest = {
        "messages": len(items),
        "tickets": len(ticket_of),
        "customer_messages": sum(1 for i in items if i.thread is not None),
        "ignored": sum(1 for i in items if i.expect == "ignored"),
        "bounces": sum(1 for i in items if i.expect == "bounce"),
        "late_originals": _late_originals(items),
        "by_kind": {
            k: sum(1 for i in items if i.kind == k) for k in sorted({i.kind for i in items})
        },
        "thread_of": expected_threads,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return manifest


# --- One backend in its own process (Django settings are fixed per process)


def _fresh_database(backend: str, workdir: Path, name: str = PG_DATABASE) -> str:
    if backend == "sqlite":
        path = workdir / "bench.sqlite3"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    with psycopg.connect(f"{BENCH_PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{BENCH_PG}/{name}"


def _database_bytes(backend: str, workdir: Path) -> int:
    from django.db import connection

    if backend == "sqlite":
        return (workdir / "bench.sqlite3").stat().st_size
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return int(cursor.fetchone()[0])


def _check(manifest: dict) -> list[str]:
    from mail.models import InboundEmail
    from tickets.models import Message, Ticket

    problems = []
    tickets = Ticket.objects.count()
    if tickets != manifest["tickets"]:
        problems.append(f"{tickets} tickets, expected {manifest['tickets']}")
    stored = dict(
        Message.objects.filter(channel="email", direction="in").values_list(
            "external_id", "ticket_id"
        )
    )
    if len(stored) != manifest["customer_messages"]:
        problems.append(
            f"{len(stored)} customer messages, expected {manifest['customer_messages']}"
        )
    ticket_of_thread: dict[int, set[int]] = {}
    for message_id, thread in manifest["thread_of"].items():
        ticket_of_thread.setdefault(thread, set()).add(stored.get(message_id, -1))
    split = sum(1 for tickets in ticket_of_thread.values() if len(tickets) != 1)
    if split:
        problems.append(f"{split} conversations not on exactly one ticket")
    counts = {
        status: InboundEmail.objects.filter(status=status).count()
        for status in ("ignored", "bounce", "quarantined", "duplicate")
    }
    if counts["ignored"] != manifest["ignored"]:
        problems.append(f"{counts['ignored']} ignored, expected {manifest['ignored']}")
    if counts["bounce"] != manifest["bounces"]:
        problems.append(f"{counts['bounce']} bounces, expected {manifest['bounces']}")
    if counts["quarantined"] or counts["duplicate"]:
        problems.append(f"unexpected: {counts}")
    return problems


class _StatementCounter:
    """Counts every SQL statement sent during the ingest, by kind ("INSERT tickets_message",
    "SAVEPOINT", "COMMIT"...): a machine-independent measure of the write path."""

    def __init__(self) -> None:
        self.kinds: dict[str, int] = {}

    def __call__(self, execute, sql, params, many, context):
        self.kinds[_statement_kind(sql)] = self.kinds.get(_statement_kind(sql), 0) + 1
        return execute(sql, params, many, context)


_FROM_RE = re.compile(r"\bFROM\s+\"?(\w+)")


def _statement_kind(sql: str) -> str:
    words = sql[:200].replace('"', "").split()
    verb = words[0].upper() if words else "?"
    table = ""
    if verb == "SELECT":
        found = _FROM_RE.search(sql)
        table = found.group(1) if found else ""
    elif verb in ("INSERT", "DELETE") and len(words) > 2:
        table = words[2]
    elif verb == "UPDATE" and len(words) > 1:
        table = words[1]
    return f"{verb} {table}".strip()


def _commits_counted(counter: _StatementCounter) -> None:
    """COMMITs go through the connection, not a cursor: count them by wrapping commit."""
    from django.db import connection

    original = connection._commit  # type: ignore[attr-defined]

    def commit():
        counter.kinds["COMMIT"] = counter.kinds.get("COMMIT", 0) + 1
        return original()

    connection._commit = commit  # type: ignore[attr-defined]


def _child(backend: str, source: str, workdir: Path, mail_dir: Path, profile: bool) -> None:
    os.environ["DATABASE_URL"] = _fresh_database(backend, workdir)
    os.environ["IZONIE_VAR_DIR"] = str(workdir / "var")
    django_setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from triage.services import classifier_active

    classifier_active(bootstrap=True)  # trained once on a new installation: not timed
    from core.startup import freeze_startup_objects

    # What `ingest_mail` and `fetch_mail` do when they start (after loading), not timed.
    freeze_startup_objects()
    manifest = json.loads((mail_dir / "manifest.json").read_text())
    files = sorted(mail_dir.glob("*.eml"))
    mail_bytes = sum(path.stat().st_size for path in files)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    server = None
    if source == "imap":
        from imapclient import IMAPClient

        from mail.imap import ImapFetcher, ImapSettings
        from mail.tests.imap_server import Dovecot

        server = Dovecot()
        server.start()
        with IMAPClient("127.0.0.1", port=server.port, ssl=False) as client:
            client.login(server.user, server.password)
            for path in files:
                client.append("INBOX", path.read_bytes())
        fetcher = ImapFetcher(
            ImapSettings(
                host="127.0.0.1",
                port=server.port,
                username=server.user,
                password=server.password,
                use_ssl=False,
            )
        )
        fetcher.connect()
    counter = _StatementCounter() if os.environ.get("MAIL_BENCH_COUNT") else None
    try:
        if profiler:
            profiler.enable()
        if counter is not None:
            from django.db import connection

            _commits_counted(counter)
            connection.execute_wrappers.append(counter)
        started = time.perf_counter()
        cpu_started = time.process_time()
        if source == "disk":
            # As `manage.py ingest_mail FILE...` does: batches of 100, one commit each.
            call_command("ingest_mail", *map(str, files), stdout=open(os.devnull, "w"))  # noqa: SIM115
        else:
            fetcher.fetch_new()
            fetcher.disconnect()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        if counter is not None:
            connection.execute_wrappers.remove(counter)
        if profiler:
            profiler.disable()
    finally:
        if server is not None:
            server.cleanup()
    problems = _check(manifest)
    result = {
        "backend": backend,
        "source": source,
        "messages": len(files),
        "seconds": round(elapsed, 2),
        "per_second": round(len(files) / elapsed, 1),
        # This process's own CPU time (not the database server's): steadier than the
        # wall clock on a shared machine.
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "mail_mb": round(mail_bytes / 1e6, 1),
        "database_mb": round(_database_bytes(backend, workdir) / 1e6, 1),
        "tickets": manifest["tickets"],
        "problems": problems,
    }
    if counter is not None:
        result["statements"] = dict(sorted(counter.kinds.items(), key=lambda kv: -kv[1]))
        result["statements_per_message"] = round(sum(counter.kinds.values()) / len(files), 2)
    if profiler:
        import pstats

        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(60)
    print(json.dumps(result))


def _corpus_child(backend: str, workdir: Path) -> None:
    os.environ["DATABASE_URL"] = _fresh_database(backend, workdir, PG_CORPUS_DATABASE)
    os.environ["IZONIE_VAR_DIR"] = str(workdir / "var")
    django_setup()
    from django.core.management import call_command

    from mail.tests.corpus_run import CORPUS_DIR, corpus_files, run_corpus
    from triage.services import classifier_active

    call_command("migrate", verbosity=0)
    classifier_active(bootstrap=True)  # trained once on a new installation: not timed
    files = corpus_files()
    started = time.perf_counter()
    run = run_corpus()
    elapsed = time.perf_counter() - started
    result = {
        "backend": backend,
        "messages": len(files),
        "mail_mb": round(sum((CORPUS_DIR / f).stat().st_size for f in files) / 1e6, 2),
        "seconds": round(elapsed, 1),
        "counts": run.counts(),
        "machine_replies": run.machine_replies,
    }
    print(json.dumps(result))


def _corpus(backends: list[str]) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="izonie-mail-corpus-"))
    try:
        for backend in backends:
            output = subprocess.run(
                [sys.executable, __file__, "--corpus-child", backend, str(workdir)],
                cwd=ROOT,
                check=True,
                stdout=subprocess.PIPE,
                text=True,
            ).stdout
            result = json.loads(output.strip().splitlines()[-1])
            counts = ", ".join(f"{n} {outcome}" for outcome, n in result["counts"].items())
            print(
                f"{backend}: {result['messages']} real messages ({result['mail_mb']} MB) in "
                f"{result['seconds']} s: {counts}; automatic replies to machine senders: "
                f"{len(result['machine_replies'])}",
                flush=True,
            )
            for address, first_line in result["machine_replies"]:
                print(f"  to {address}: {first_line}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--no-imap", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile (slower) to stderr")
    parser.add_argument(
        "--count-statements",
        action="store_true",
        help="count SQL statements by kind (slightly slower) and print them per message",
    )
    parser.add_argument(
        "--corpus",
        action="store_true",
        help="deliver the real-world corpus (mail/tests/corpus) and count the outcomes",
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--corpus-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.corpus_child:
        _corpus_child(args.corpus_child[0], Path(args.corpus_child[1]))
        return
    if args.corpus:
        _corpus(args.backends)
        return
    if args.count_statements:
        os.environ["MAIL_BENCH_COUNT"] = "1"
    if args.child:
        backend, source, workdir, mail_dir = args.child
        _child(backend, source, Path(workdir), Path(mail_dir), args.profile)
        return
    workdir = Path(tempfile.mkdtemp(prefix="izonie-mail-bench-"))
    workdir.chmod(0o755)
    try:
        mail_dir = workdir / "mail"
        mail_dir.mkdir()
        manifest = generate(mail_dir, args.messages)
        print(
            f"Generated {manifest['messages']:,} messages for {manifest['tickets']:,} tickets: "
            f"{manifest['by_kind']}; {manifest['late_originals']} originals arrive after "
            "their first reply",
            file=sys.stderr,
        )
        from mail.tests.imap_server import DOVECOT

        sources = ["disk"]
        if not args.no_imap and Path(DOVECOT).exists():
            sources.append("imap")
        print(
            f"{'backend':<11} {'source':<6} {'msg/s':>7} {'seconds':>8} {'cpu s':>8} "
            f"{'peak RSS':>9} {'mail':>8} {'database':>9}  check"
        )
        for backend in args.backends:
            for source in sources:
                command = [
                    sys.executable,
                    __file__,
                    "--child",
                    backend,
                    source,
                    str(workdir),
                    str(mail_dir),
                ]
                if args.profile:
                    command.append("--profile")
                output = subprocess.run(
                    command, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True
                ).stdout
                result = json.loads(output.strip().splitlines()[-1])
                check = "ok" if not result["problems"] else "; ".join(result["problems"])
                print(
                    f"{backend:<11} {source:<6} {result['per_second']:>7,.0f} "
                    f"{result['seconds']:>8} {result['cpu_seconds']:>8} "
                    f"{result['peak_rss_mb']:>6} MB "
                    f"{result['mail_mb']:>5} MB {result['database_mb']:>6} MB  {check}",
                    flush=True,
                )
                if "statements" in result:
                    print(
                        f"  {result['statements_per_message']} statements per message: "
                        + ", ".join(f"{k} {v}" for k, v in result["statements"].items()),
                        flush=True,
                    )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
