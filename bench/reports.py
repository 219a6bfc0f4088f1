"""Reports at scale: every report page over 90 days, and a full rollup rebuild.

    .venv/bin/python -m bench.reports [--runs 20] [--fresh]

Uses the PostgreSQL database ``izonie_bench_reports``: 1,000,000 tickets from
``bench/generate.py`` (two years, every channel, category and status), then, inside
PostgreSQL, resolution times, nine more events per ticket (10,000,000 in all: messages,
assignments, status changes, ratings of which some are changed later, escalations, conduct
events, SLA breaches), an SLA clock per ticket with its outcome (first reply; dispute
resolution; escalation contact) and 10,000 escalations. Prints the data sizes, the full
rebuild time, the incremental refresh time after 100 tickets changed (the newest, and
spread over the two years; ``--compare-days`` also times recomputing their days whole), and
per report page p50/p95 over ``--runs`` requests through Django's test client, signed in
as a supervisor.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench.harness import django_setup, prepare_dataset, timed, use_database

TICKETS = 1_000_000
EVENTS = 10_000_000
DATABASE = "izonie_bench_reports"


def _extra_data(progress) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tickets_ticketevent")
        if cursor.fetchone()[0] >= EVENTS:
            progress("  reusing the events, clocks and escalations")
            return
        started = time.perf_counter()
        cursor.execute(
            "UPDATE tickets_ticket SET resolved_at = updated_at"
            " WHERE status IN ('resolved', 'closed')"
        )
        progress("  resolution times")
        # Nine more events per ticket, spread between its creation and its last update.
        # Event 9 varies: ratings (30 %), resolutions, escalations, conduct, SLA breaches;
        # on one ticket in ten event 8 is an earlier rating the customer changed later.
        cursor.execute(
            """
            INSERT INTO tickets_ticketevent (ticket_id, kind, actor_id, data, created_at)
            SELECT t.id, e.kind,
                   CASE WHEN e.kind IN ('message_in', 'rated') THEN t.requester_id
                        WHEN e.kind IN ('message_out', 'note_added', 'assigned',
                                        'status_changed') THEN t.assignee_id END,
                   CASE e.kind
                     WHEN 'rated' THEN jsonb_build_object(
                        'channel', t.channel, 'score', 1 + (t.id * 7 + k) % 5,
                        'comment', CASE WHEN t.id % 9 = 0 THEN 'Quick and kind, thanks'
                                        ELSE '' END)
                     WHEN 'assigned' THEN jsonb_build_object('old', NULL, 'new', t.assignee_id)
                     ELSE '{}'::jsonb END,
                   t.created_at + k * (t.updated_at - t.created_at) / 10
            FROM tickets_ticket t, generate_series(1, 9) k,
                 LATERAL (SELECT CASE k
                    WHEN 1 THEN 'message_in' WHEN 2 THEN 'message_out' WHEN 3 THEN 'assigned'
                    WHEN 4 THEN 'status_changed' WHEN 5 THEN 'message_out'
                    WHEN 6 THEN 'sla_stopped' WHEN 7 THEN 'message_in'
                    WHEN 8 THEN CASE WHEN t.id % 10 = 0 THEN 'rated' ELSE 'note_added' END
                    ELSE (ARRAY['rated', 'rated', 'rated', 'resolved', 'resolved',
                                'escalated', 'conduct_violation', 'sla_breached',
                                'message_out', 'terminated'])[1 + t.id % 10] END AS kind) e
            """
        )
        progress("  9 more events per ticket")
        cursor.execute(
            """
            INSERT INTO sla_slaclock (ticket_id, target_id, measure, business, target_seconds,
                breach_seconds, warn_fraction, hours_of, status, started_at,
                segment_started_at, consumed_seconds, warn_at, due_at, breach_at, warned_at,
                target_missed_at, breached_at, stopped_at, outcome, elapsed_seconds,
                elapsed_calendar_seconds, over_breach_seconds)
            SELECT t.id, c.target_id, c.measure, c.business, c.target, c.breach, 0.8, '',
                   'stopped', t.created_at, NULL, c.elapsed, NULL,
                   t.created_at + c.target * interval '1 second',
                   t.created_at + c.breach * interval '1 second', NULL, NULL, NULL,
                   t.created_at + c.elapsed * interval '1 second',
                   CASE WHEN c.elapsed <= c.target THEN 'met'
                        WHEN c.elapsed <= c.breach THEN 'met_late' ELSE 'breached' END,
                   c.elapsed, c.elapsed, c.elapsed - c.breach
            FROM tickets_ticket t,
                 LATERAL (SELECT * FROM (VALUES
                    (CASE WHEN t.channel = 'live_chat' THEN 'live_chat_first_reply'
                          WHEN t.channel IN ('facebook', 'instagram', 'tiktok')
                               THEN 'social_first_reply' ELSE 'email_first_reply' END,
                     'first_reply', t.channel = 'live_chat',
                     CASE WHEN t.channel = 'live_chat' THEN 120 ELSE 86400 END,
                     CASE WHEN t.channel = 'live_chat' THEN 300 ELSE 86400 END,
                     CASE WHEN t.channel = 'live_chat' THEN (t.id * 7919) % 360
                          ELSE (t.id * 7919) % 100000 END),
                    ('dispute_resolution', 'resolution', true, 129600, 216000,
                     (t.id * 31) % 300000),
                    ('escalation_contact', 'escalation_contact', false, 172800, 172800,
                     (t.id * 17) % 200000)
                 ) v(target_id, measure, business, target, breach, elapsed)) c
            WHERE c.measure = 'first_reply'
               OR (c.measure = 'resolution' AND t.kind = 'dispute')
               OR (c.measure = 'escalation_contact' AND t.id % 100 = 5)
            """
        )
        progress("  SLA clocks with outcomes")
        cursor.execute(
            """
            INSERT INTO sla_escalation (ticket_id, requested_by_id, channel, reason, status,
                created_at, contact_due_at, contacted_at, contacted_by_id, contact_summary,
                outcome)
            SELECT t.id, t.requester_id, t.channel, 'Asked for a supervisor',
                   CASE WHEN t.id % 700 = 5 THEN 'open' ELSE 'contacted' END,
                   t.created_at, t.created_at + interval '48 hours',
                   CASE WHEN t.id % 700 = 5 THEN NULL
                        ELSE t.created_at + ((t.id * 17) % 200000) * interval '1 second' END,
                   CASE WHEN t.id % 700 = 5 THEN NULL ELSE t.assignee_id END, '', ''
            FROM tickets_ticket t WHERE t.id % 100 = 5
            """
        )
        progress("  escalations")
        cursor.execute("ANALYZE")
        progress(f"  extra data in {time.perf_counter() - started:.0f} s")


def _sizes() -> dict[str, int]:
    from django.db import connection

    sizes = {}
    with connection.cursor() as cursor:
        for label, table in (
            ("tickets", "tickets_ticket"),
            ("messages", "tickets_message"),
            ("events", "tickets_ticketevent"),
            ("SLA clocks", "sla_slaclock"),
            ("escalations", "sla_escalation"),
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")
            sizes[label] = cursor.fetchone()[0]
    return sizes


def _rollup_rows() -> int:
    from reports.rollups import ROLLUP_MODELS

    return sum(model.objects.count() for model in ROLLUP_MODELS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--fresh", action="store_true", help="regenerate the data")
    parser.add_argument("--skip-rebuild", action="store_true", help="reuse the rollups")
    parser.add_argument(
        "--compare-days",
        action="store_true",
        help="also refresh the spread tickets by recomputing their days (the old way)",
    )
    args = parser.parse_args()

    use_database(DATABASE)
    # force_login gives the supervisor no second-factor device: without this every report
    # page answers 302 to /accounts/two-factor/ (as in bench/foundation.py).
    os.environ.setdefault("IZONIE_STAFF_2FA_REQUIRED", "0")
    django_setup()
    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User
    from reports import rollups
    from reports.models import TicketShare
    from reports.selectors import REPORTS
    from tickets.models import Ticket

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    log(f"Preparing {TICKETS:,} tickets and {EVENTS:,} events in {DATABASE}...")
    prepare_dataset(TICKETS, fresh=args.fresh)
    _extra_data(log)
    sizes = _sizes()

    span = rollups.data_span()
    assert span is not None
    if not args.skip_rebuild:
        log(f"Rebuilding rollups {span[0]} to {span[1]}...")
        started, cpu = time.perf_counter(), time.process_time()
        rollups.rebuild_range(first=span[0], last=span[1])
        rebuild_seconds = time.perf_counter() - started
        rebuild_cpu = time.process_time() - cpu
    else:
        rebuild_seconds = rebuild_cpu = float("nan")
    rollup_rows = _rollup_rows()
    log("Refreshing changed tickets...")

    # Incremental: 100 tickets changed, then one refresh. The usual case is recent tickets
    # (a few days); the worst for recomputing days was tickets spread over the whole two
    # years. Each ticket really changes (category, agent, resolution a day later, a new
    # rating), so the refresh moves rollup rows rather than finding nothing to do.
    def change(ids: list[int]) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE tickets_ticket SET
                    category = CASE category WHEN 'payments' THEN 'order_status'
                                             ELSE 'payments' END,
                    assignee_id = (SELECT min(id) FROM accounts_user WHERE role = 'agent'),
                    resolved_at = resolved_at + interval '1 day'
                WHERE id = ANY(%s)
                """,
                [ids],
            )
            cursor.execute(
                """
                INSERT INTO tickets_ticketevent (ticket_id, kind, actor_id, data, created_at)
                SELECT id, 'rated', requester_id,
                       jsonb_build_object('channel', channel, 'score', 1 + id %% 5), now()
                FROM tickets_ticket WHERE id = ANY(%s)
                """,
                [ids],
            )

    def refresh(ids: list[int]) -> tuple[float, float, int]:
        change(ids)
        rollups.mark_tickets_dirty(ids)
        started, cpu = time.perf_counter(), time.process_time()
        tickets = rollups.refresh_dirty()
        return time.perf_counter() - started, time.process_time() - cpu, tickets

    recent = list(Ticket.objects.order_by("-pk").values_list("pk", flat=True)[:100])
    recent_seconds, recent_cpu, recent_tickets = refresh(recent)
    spread = list(Ticket.objects.order_by("pk").values_list("pk", flat=True)[:: TICKETS // 100])
    refresh_seconds, refresh_cpu, spread_tickets = refresh(spread)
    load_after_refresh = os.getloadavg()
    log(
        f"  refresh: 100 newest {recent_seconds:.2f} s (CPU {recent_cpu:.2f} s), 100 spread "
        f"{refresh_seconds:.2f} s (CPU {refresh_cpu:.2f} s)"
    )
    days_seconds = days_cpu = float("nan")
    days_count = 0
    if args.compare_days:
        # The same kind of change, refreshed as before shares existed: every day the 100
        # tickets are on recomputed whole from the raw rows (the path kept for rollups
        # written before shares, until a full rebuild).
        from reports.models import RollupsBeforeShares

        days_count = len(rollups.ticket_days(spread, rollups.team_zone()))
        RollupsBeforeShares.objects.get_or_create(id=1)
        try:
            days_seconds, days_cpu, _ = refresh(spread)
        finally:
            RollupsBeforeShares.objects.all().delete()
        log(f"  the same by recomputing {days_count} days: {days_seconds:.1f} s")

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    supervisor = User.objects.filter(role="supervisor").order_by("pk").first()
    assert supervisor is not None
    client = Client()
    client.force_login(supervisor)
    today = timezone.localdate(timezone.now(), rollups.team_zone())
    first = today - timezone.timedelta(days=89)
    query = {"from": first.isoformat(), "to": today.isoformat()}

    def get(path: str) -> None:
        response = client.get(path, query)
        assert response.status_code == 200, (path, response.status_code)
        if response.streaming:
            for _ in response.streaming_content:
                pass

    results = {}
    for slug in REPORTS:
        log(f"  {slug}...")
        results[f"/reports/{slug}/"] = timed(
            lambda slug=slug: get(f"/reports/{slug}/"), runs=args.runs, warmup=2
        )
    results["/reports/volume/export.csv"] = timed(
        lambda: get("/reports/volume/export.csv"), runs=max(3, args.runs // 4), warmup=1
    )

    print(f"\nReports benchmark (PostgreSQL, {DATABASE})\n")
    print("Data: " + ", ".join(f"{n:,} {label}" for label, n in sizes.items()))
    print(f"Rollup rows: {rollup_rows:,} for {(span[1] - span[0]).days + 1:,} days")
    print(f"Ticket shares recorded: {TicketShare.objects.count():,}")
    print(f"Full rollup rebuild: {rebuild_seconds:.1f} s (CPU {rebuild_cpu:.1f} s)")
    print(
        f"Incremental refresh of the 100 newest tickets: {recent_seconds:.2f} s "
        f"(CPU {recent_cpu:.2f} s; {recent_tickets} tickets)"
    )
    print(
        f"Incremental refresh of 100 tickets spread over two years: {refresh_seconds:.2f} s "
        f"(CPU {refresh_cpu:.2f} s; {spread_tickets} tickets; target < 2 s; load average "
        + " ".join(f"{n:.1f}" for n in load_after_refresh)
        + ")"
    )
    if args.compare_days:
        print(
            f"The same 100 spread tickets by recomputing their {days_count} days: "
            f"{days_seconds:.1f} s (CPU {days_cpu:.1f} s)"
        )
    print(f"\nReport pages, 90-day range ({first} to {today}), {args.runs} requests each:\n")
    print("| page | p50 ms | p95 ms |")
    print("|---|---|---|")
    for path, figures in results.items():
        print(f"| {path} | {figures['p50_ms']:.0f} | {figures['p95_ms']:.0f} |")


if __name__ == "__main__":
    main()
