"""Izonie Support beside its peer, django-helpdesk 2.6.1, in one command (issue 22):

    .venv/bin/python -m bench.peers [--mails 2000] [--api 500] [--keep]

1. Installs the peer from the package registry (bench/peers/requirements.txt, pinned) into a
   throw-away virtualenv in a temporary directory, with `uv`. Without the registry (no
   network) it stops with exit status 2 and says so: no figures are printed.
2. Generates one mail corpus (bench/mail_ingest.py's generator: new requests, replies
   threaded by In-Reply-To, by References alone, by subject token and by plus-address,
   replies that overtake their original, attachments, machine mail).
3. Each side, in a process of its own, on a fresh SQLite file with the same pragmas (WAL,
   synchronous=NORMAL): the corpus through its own intake (Izonie Support: `manage.py
   ingest_mail`, the real intake path; the peer: `extract_email_metadata`, what its
   `get_email` command runs per message, see peer_run.py), then the same N ticket creations
   through its REST API one by one (Django's test client, session auth).
4. Prints per side: mail messages per second (wall, and by the process's own CPU time, the
   steadier figure on a shared machine), replies on their conversation's ticket (by how the
   reply was threaded), tickets the mail opened, attachments kept, API tickets per second;
   the ratio Izonie Support / peer; the data sizes and the load average at the start.

Replies are checked against the conversation, not the generator's ticket numbers: a reply
counts when it lands on the ticket of its conversation's first-arriving message.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import ROOT
from bench.write_path import KINDS

HERE = Path(__file__).resolve().parent
PEER = "django-helpdesk 2.6.1"
MESSAGE_ID = re.compile(rb"^Message-ID: <([^>]+)>", re.MULTILINE | re.IGNORECASE)
ATTACHMENT = re.compile(rb'filename="(photo\.png|r\.pdf)"')
# API creations sent first on both sides and not timed (the first requests load code).
WARMUP = 5
TITLES = {
    "order_status": "Where is my order?",
    "returns": "Broken on arrival",
    "technical_support": "The app crashes",
    "payments": "Charged twice",
}


class PeerUnavailable(SystemExit):
    def __init__(self, reason: str) -> None:
        super().__init__(2)
        print(
            f"bench.peers: cannot install the peer ({PEER}) from the package registry: "
            f"{reason}\nNo figures: the comparison needs both sides.",
            file=sys.stderr,
        )


def _uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local/bin/uv")
    if not Path(found).exists():
        raise PeerUnavailable("`uv` is not installed (https://docs.astral.sh/uv/)")
    return found


def install_peer(venv: Path) -> Path:
    """A fresh virtualenv holding the pinned peer; returns its interpreter."""
    uv = _uv()
    steps = [
        [uv, "venv", "-q", "--python", sys.executable, str(venv)],
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(venv / "bin/python"),
            "-r",
            str(HERE / "requirements.txt"),
        ],
    ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            raise PeerUnavailable(f"`{' '.join(step[:3])}` took over 10 minutes") from None
        if done.returncode != 0:
            tail = "\n  ".join((done.stderr or done.stdout).strip().splitlines()[-6:])
            raise PeerUnavailable(f"`{' '.join(step[:3])}` failed:\n  {tail}")
    python = venv / "bin/python"
    check = subprocess.run(
        [str(python), "-c", "import helpdesk, django; print(django.get_version())"],
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        raise PeerUnavailable(f"installed, but it does not import: {check.stderr.strip()}")
    return python


def corpus(mail_dir: Path, mails: int) -> dict[str, Any]:
    """The generated mail, and per message what the check needs: arrival order, how
    each reply is threaded, the attachments expected."""
    from bench.mail_ingest import generate

    manifest = generate(mail_dir, mails)
    thread_of: dict[str, int] = manifest["thread_of"]
    first: dict[int, str] = {}
    replies: list[tuple[str, int, str]] = []  # message id, conversation, threaded by
    attachments = 0
    mail_bytes = 0
    for path in sorted(mail_dir.glob("*.eml")):
        raw = path.read_bytes()
        mail_bytes += len(raw)
        found = MESSAGE_ID.search(raw)
        message_id = found.group(1).decode() if found else ""
        thread = thread_of.get(message_id)
        if thread is None:
            continue  # machine mail: bounces, auto-replies, bulk
        attachments += bool(ATTACHMENT.search(raw))
        if thread not in first:
            first[thread] = message_id
            continue
        head = raw.split(b"\n\n", 1)[0]
        if b"\nIn-Reply-To:" in head:
            how = "In-Reply-To"
        elif b"[IZS-" in head:
            how = "subject token"
        elif b"support+" in head:
            how = "plus-address"
        elif b"\nReferences:" in head:
            how = "References only"
        else:
            how = "original after its reply"
        replies.append((message_id, thread, how))
    return {
        "manifest": manifest,
        "first": first,
        "replies": replies,
        "attachments": attachments,
        "mail_mb": round(mail_bytes / 1e6, 1),
    }


def _run(command: list[str], cwd: Path, env: dict[str, str], side: str) -> dict[str, Any]:
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"bench.peers: the {side} run failed (exit {done.returncode})")
    return json.loads(lines[-1])


def izonie_child(workdir: Path, mail_dir: Path, api_json: Path) -> None:
    """Izonie Support's side, in its own process (settings are fixed per process)."""
    from bench.mail_ingest import _fresh_database

    os.environ["DATABASE_URL"] = _fresh_database("sqlite", workdir)
    os.environ["IZONIE_VAR_DIR"] = str(workdir / "var")
    (workdir / "var/staticfiles").mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("IZONIE_STAFF_2FA_REQUIRED", "0")
    from bench.harness import django_setup

    django_setup()
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import Role, User
    from bench.write_path import _people
    from tickets.models import Attachment, Message, Ticket
    from triage.services import classifier_active

    call_command("migrate", verbosity=0)
    classifier_active(bootstrap=True)  # trained once on a new installation: not timed
    files = sorted(mail_dir.glob("*.eml"))
    started, cpu_started = time.perf_counter(), time.process_time()
    # As `manage.py ingest_mail FILE...` does: batches of 100, one commit each.
    call_command("ingest_mail", *map(str, files), stdout=open(os.devnull, "w"))  # noqa: SIM115
    mail_seconds = time.perf_counter() - started
    mail_cpu = time.process_time() - cpu_started
    landed = dict(
        Message.objects.filter(channel="email", direction="in").values_list(
            "external_id", "ticket_id"
        )
    )
    attachments = Attachment.objects.filter(
        message__channel="email", filename__in=["photo.png", "r.pdf"], kept=True
    ).count()
    mail_tickets = Ticket.objects.count()

    creations = json.loads(api_json.read_text())
    buyers = {buyer.email: buyer.pk for buyer in _people(len(creations))}
    client = Client()
    client.force_login(User.objects.filter(role=Role.AGENT).first())  # type: ignore[arg-type]
    started = cpu_started = 0.0
    for n, item in enumerate(creations):
        if n == WARMUP:
            started, cpu_started = time.perf_counter(), time.process_time()
        answer = client.post(
            "/api/v1/tickets",
            json.dumps(
                {
                    "requester_id": buyers[item["email"]],
                    "category": item["category"],
                    "body": item["body"],
                }
            ),
            content_type="application/json",
        )
        if answer.status_code != 201:
            raise SystemExit(f"API answered {answer.status_code}: {answer.content[:300]!r}")
    api_seconds = time.perf_counter() - started
    api_cpu = time.process_time() - cpu_started
    print(
        json.dumps(
            {
                "side": "Izonie Support",
                "mail_seconds": mail_seconds,
                "mail_cpu_seconds": mail_cpu,
                "tickets_from_mail": mail_tickets,
                "landed": landed,
                "attachments": attachments,
                "failures": [],
                "api_seconds": api_seconds,
                "api_cpu_seconds": api_cpu,
                "api_created": Ticket.objects.count() - mail_tickets - WARMUP,
                "database_mb": round((workdir / "bench.sqlite3").stat().st_size / 1e6, 1),
            }
        )
    )


def _score(side: dict[str, Any], mail: dict[str, Any], mails: int) -> dict[str, Any]:
    landed: dict[str, int] = side["landed"]
    by_how: dict[str, list[int]] = {}
    for message_id, thread, how in mail["replies"]:
        home = landed.get(mail["first"][thread])
        right = home is not None and landed.get(message_id) == home
        counts = by_how.setdefault(how, [0, 0])
        counts[0] += right
        counts[1] += 1
    return {
        "mail_rate": mails / side["mail_seconds"],
        "mail_cpu_rate": mails / side["mail_cpu_seconds"],
        "threaded": sum(right for right, _total in by_how.values()),
        "by_how": by_how,
        "tickets": side["tickets_from_mail"],
        "attachments": side["attachments"],
        "api_rate": side["api_created"] / side["api_seconds"],
        "api_cpu_rate": side["api_created"] / side["api_cpu_seconds"],
        "database_mb": side["database_mb"],
        "failures": side["failures"],
    }


def report(mail: dict[str, Any], ours: dict[str, Any], peer: dict[str, Any], args) -> None:
    manifest = mail["manifest"]
    replies = len(mail["replies"])

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b else "-"

    rows = [
        (
            "mail, messages/s (wall)",
            f"{ours['mail_rate']:.1f}",
            f"{peer['mail_rate']:.1f}",
            ratio(ours["mail_rate"], peer["mail_rate"]),
        ),
        (
            "mail, messages/s (own CPU)",
            f"{ours['mail_cpu_rate']:.1f}",
            f"{peer['mail_cpu_rate']:.1f}",
            ratio(ours["mail_cpu_rate"], peer["mail_cpu_rate"]),
        ),
        (
            "replies on the right ticket",
            f"{ours['threaded']}/{replies}",
            f"{peer['threaded']}/{replies}",
            ratio(ours["threaded"], peer["threaded"]),
        ),
    ]
    for how in sorted(ours["by_how"], key=lambda h: -ours["by_how"][h][1]):
        a, b = ours["by_how"][how], peer["by_how"].get(how, [0, 0])
        rows.append((f"  by {how}", f"{a[0]}/{a[1]}", f"{b[0]}/{b[1]}", ""))
    rows += [
        (
            f"tickets opened by mail (expected {manifest['tickets']})",
            str(ours["tickets"]),
            str(peer["tickets"]),
            "",
        ),
        (
            "attachments kept",
            f"{ours['attachments']}/{mail['attachments']}",
            f"{peer['attachments']}/{mail['attachments']}",
            "",
        ),
        (
            "API creation, tickets/s (wall)",
            f"{ours['api_rate']:.1f}",
            f"{peer['api_rate']:.1f}",
            ratio(ours["api_rate"], peer["api_rate"]),
        ),
        (
            "API creation, tickets/s (own CPU)",
            f"{ours['api_cpu_rate']:.1f}",
            f"{peer['api_cpu_rate']:.1f}",
            ratio(ours["api_cpu_rate"], peer["api_cpu_rate"]),
        ),
        ("database afterwards", f"{ours['database_mb']} MB", f"{peer['database_mb']} MB", ""),
    ]
    width = max(len(row[0]) for row in rows) + 2
    print(f"{'':<{width}}{'Izonie Support':>16}{PEER:>24}{'ratio':>9}")
    for label, a, b, r in rows:
        print(f"{label:<{width}}{a:>16}{b:>24}{r:>9}")
    for name, side in (("Izonie Support", ours), (PEER, peer)):
        if side["failures"]:
            print(f"{name}: {len(side['failures'])} mails raised: {side['failures'][:3]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument(
        "--api", type=int, default=500, help=f"tickets created through the API (+{WARMUP} untimed)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--izonie-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mails < 10 or args.api < 1:
        parser.error("--mails must be at least 10 and --api at least 1")
    if args.izonie_child:
        izonie_child(*(Path(arg) for arg in args.izonie_child))
        return
    load = os.getloadavg()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    workdir = Path(tempfile.mkdtemp(prefix="izonie-peers-"))
    try:
        started = time.perf_counter()
        python = install_peer(workdir / "peer-venv")
        print(f"{PEER} installed in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        mail_dir = workdir / "mail"
        mail_dir.mkdir()
        mail = corpus(mail_dir, args.mails)
        manifest = mail["manifest"]
        api_json = workdir / "api.json"
        kinds = [kind for kind, _body in KINDS]
        api_json.write_text(
            json.dumps(
                [
                    {
                        "email": f"buyer{n}@example.com",
                        "category": kinds[n % 4],
                        "title": TITLES[kinds[n % 4]],
                        "body": KINDS[n % 4][1],
                    }
                    for n in range(WARMUP + args.api)
                ]
            )
        )
        sides = {}
        for name in ("izonie", "peer"):
            side_dir = workdir / name
            side_dir.mkdir()
            env = dict(os.environ)
            if name == "izonie":
                # Quiet: the intake logs each acknowledgement it holds back (rate limit).
                env.setdefault("IZONIE_LOG_LEVEL", "ERROR")
                command = [sys.executable, "-m", "bench.peers", "--izonie-child"]
                cwd = ROOT
            else:
                command = [str(python), str(HERE / "peer_run.py")]
                cwd = HERE
                env.pop("DJANGO_SETTINGS_MODULE", None)
            command += [str(side_dir), str(mail_dir), str(api_json)]
            print(f"running {name} ...", file=sys.stderr, flush=True)
            sides[name] = _score(_run(command, cwd, env, name), mail, manifest["messages"])
        print(
            f"bench.peers: Izonie Support against {PEER}, started {when}\n"
            f"corpus: {manifest['messages']:,} generated mails ({mail['mail_mb']} MB), "
            f"{manifest['tickets']:,} conversations, {len(mail['replies']):,} replies, "
            f"{manifest['ignored'] + manifest['bounces']} machine mails, "
            f"{mail['attachments']} attachments; API: {args.api:,} creations one by one\n"
            f"SQLite (WAL, synchronous=NORMAL) for both, one process each, one after the other; "
            f"load average at start {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
            f"on {os.cpu_count()} cores"
        )
        report(mail, sides["izonie"], sides["peer"], args)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
