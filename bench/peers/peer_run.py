"""The peer's side of `python -m bench.peers`, run by the peer's own interpreter (its
throw-away virtualenv, django-helpdesk 2.6.1), never by the project's:

    VENV/bin/python bench/peers/peer_run.py WORKDIR MAIL_DIR API_JSON

1. Mail: every generated .eml file, in arrival order, through the function django-helpdesk's
   own `get_email` command calls for each message of a mailbox (`extract_email_metadata`,
   what `process_queue` does per file for a "local" mailbox, without deleting the files).
   Replies that carry Izonie Support's subject token `[IZS-n]` get the peer's own token
   `[support-m]` instead (m: the peer's ticket for that conversation), as they would if
   the peer had sent the mail they answer. Plus-addressed replies are left as they are:
   the peer has no such feature.
2. API: the same creations as the Izonie Support side (the first WARMUP untimed),
   `POST /api/tickets/` one by one through Django's test client, logged in by session
   as a staff user.

Prints one JSON line: timings, and per customer Message-ID the ticket it landed on.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from pathlib import Path

TOKEN = re.compile(r"\[IZS-(\d+)\]")
WARMUP = 5  # the first API creations, not timed (as bench/peers/__main__.py's WARMUP)
MESSAGE_ID = re.compile(r"^Message-ID: <([^>]+)>", re.MULTILINE | re.IGNORECASE)


def main() -> None:
    workdir, mail_dir, api_json = (Path(arg) for arg in sys.argv[1:4])
    os.environ["PEER_WORKDIR"] = str(workdir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "peer_project.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import encoding
    from helpdesk.email import extract_email_metadata
    from helpdesk.exceptions import DeleteIgnoredTicketException, IgnoreTicketException
    from helpdesk.models import FollowUp, FollowUpAttachment, Queue, Ticket

    call_command("migrate", verbosity=0)
    call_command("loaddata", "emailtemplate.json", verbosity=0)  # as its install guide says
    queue = Queue.objects.create(
        title="Support",
        slug="support",
        email_address="support@izonie.com",
        allow_email_submission=True,
        email_box_type="local",
        email_box_local_dir=str(mail_dir),
    )
    manifest = json.loads((mail_dir / "manifest.json").read_text())
    thread_of: dict[str, int] = manifest["thread_of"]
    files = sorted(mail_dir.glob("*.eml"))
    logger = logging.getLogger("peer")
    # Izonie Support's ticket numbers (1, 2, ... in order of each conversation's first
    # message) to the peer's, learnt as the conversations arrive.
    generated_number: dict[int, int] = {}
    peer_ticket: dict[int, int] = {}
    failures: list[str] = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for path in files:
        with open(path) as handle:  # as process_queue reads a local mailbox
            raw = encoding.force_str(handle.read(), errors="replace")
        found = MESSAGE_ID.search(raw)
        thread = thread_of.get(found.group(1)) if found else None
        opens = thread is not None and thread not in generated_number
        if opens:
            generated_number[thread] = len(generated_number) + 1
        raw = TOKEN.sub(lambda m: f"[support-{peer_ticket.get(int(m.group(1)), 0)}]", raw)
        try:
            ticket = extract_email_metadata(message=raw, queue=queue, logger=logger)
        except (IgnoreTicketException, DeleteIgnoredTicketException):
            continue
        except Exception as error:  # the peer's command would stop here; we count and go on
            failures.append(f"{path.name}: {type(error).__name__}: {error}"[:200])
            continue
        if opens and ticket is not None:
            peer_ticket[generated_number[thread]] = ticket.pk
    mail_seconds = time.perf_counter() - started
    mail_cpu = time.process_time() - cpu_started
    landed = {
        message_id.strip("<> "): ticket_id
        for message_id, ticket_id in FollowUp.objects.exclude(message_id=None).values_list(
            "message_id", "ticket_id"
        )
    }
    attachments = FollowUpAttachment.objects.filter(
        filename__regex=r"_(photo\.png|r\.pdf)$"
    ).count()
    mail_tickets = Ticket.objects.count()

    from django.contrib.auth import get_user_model
    from django.test import Client

    agent = get_user_model().objects.create_user(
        "agent", "agent@example.com", "agent-password", is_staff=True
    )
    client = Client()
    client.force_login(agent)
    creations = json.loads(api_json.read_text())
    started = cpu_started = 0.0
    for n, item in enumerate(creations):
        if n == WARMUP:
            started, cpu_started = time.perf_counter(), time.process_time()
        answer = client.post(
            "/api/tickets/",
            json.dumps(
                {
                    "queue": queue.pk,
                    "title": item["title"],
                    "description": item["body"],
                    "submitter_email": item["email"],
                    "priority": 3,
                }
            ),
            content_type="application/json",
        )
        if answer.status_code != 201:
            raise SystemExit(f"peer API answered {answer.status_code}: {answer.content[:300]!r}")
    api_seconds = time.perf_counter() - started
    api_cpu = time.process_time() - cpu_started
    print(
        json.dumps(
            {
                "side": "django-helpdesk 2.6.1",
                "mail_seconds": mail_seconds,
                "mail_cpu_seconds": mail_cpu,
                "tickets_from_mail": mail_tickets,
                "landed": landed,
                "attachments": attachments,
                "failures": failures,
                "api_seconds": api_seconds,
                "api_cpu_seconds": api_cpu,
                "api_created": Ticket.objects.count() - mail_tickets - WARMUP,
                "database_mb": round((workdir / "peer.sqlite3").stat().st_size / 1e6, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
