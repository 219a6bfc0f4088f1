"""Realistic bulk data for benchmarks, generated inside PostgreSQL.

Tickets get 1 to 20 messages (most have 2 to 5, as real support threads do), every
channel, category and status, customers and agents, and one ``created`` event each.
Everything is produced by ``INSERT ... SELECT generate_series`` so a million tickets
take about a minute instead of an hour of ORM round trips.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection

CHANNELS = ["web_form", "email", "live_chat", "facebook", "instagram", "tiktok", "api"]
CATEGORIES = ["order_status", "payments", "technical_support", "returns", "seller_support"]
TEAMS = ["customer_care", "payments", "technical", "customer_care", "seller_team"]
STATUSES = ["new", "open", "open", "pending", "on_hold", "resolved", "resolved", "closed"]
SUBJECTS = [
    "Where is my order?",
    "Refund not received yet",
    "App crashes when I open the cart",
    "Phone arrived with a cracked screen",
    "Payout missing this week",
    "Charged twice for one order",
    "Cannot sign in after password reset",
    "Wrong colour delivered",
    "Tracking number does not work",
    "Listing stuck in review",
]
BODIES = [
    "Hello, I ordered a phone ten days ago and the tracking page still says in transit. "
    "Can you tell me when it will arrive? Order IZ-20461187.",
    "My card was debited but the order shows payment failed. Please check and refund.",
    "Thanks for the quick answer, that solved it.",
    "I have attached a photo of the damage. The box was fine but the screen is cracked.",
    "We have escalated this to the courier and will update you within 24 hours.",
    "Could you confirm the bank account you want the refund sent to?",
    "Still waiting... this is the third time I ask.",
    "The app shows Error 500 when I open my orders page, on Android 14.",
]


def _sql_array(values: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def generate(
    *,
    tickets: int,
    customers: int = 50_000,
    agents: int = 200,
    progress: Callable[[str], None] = print,
) -> dict[str, int]:
    if connection.vendor != "postgresql":
        raise SystemExit("The benchmark generator needs PostgreSQL (set DATABASE_URL).")
    started = time.perf_counter()
    password = "!"  # unusable password: bench users cannot sign in
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name,
                email, is_staff, is_active, date_joined, role, display_name, teams,
                unverified_contact)
            SELECT %s, false, 'agent' || g, 'Agent', g::text, 'agent' || g || '@izonie.example',
                   false, true, now(), CASE WHEN g %% 20 = 0 THEN 'supervisor' ELSE 'agent' END,
                   'Agent ' || g, '["customer_care"]'::jsonb, false
            FROM generate_series(1, %s) g
            """,
            [password, agents],
        )
        cursor.execute(
            """
            INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name,
                email, is_staff, is_active, date_joined, role, display_name, teams,
                unverified_contact)
            SELECT %s, false, 'customer' || g, 'Customer', g::text,
                   'customer' || g || '@example.com', false, true, now(),
                   CASE WHEN g %% 25 = 0 THEN 'seller' ELSE 'buyer' END, 'Customer ' || g,
                   '[]'::jsonb, false
            FROM generate_series(1, %s) g
            """,
            [password, customers],
        )
        cursor.execute(
            "SELECT min(id), max(id) FROM accounts_user WHERE role IN ('agent','supervisor')"
        )
        agent_min, agent_max = cursor.fetchone()
        cursor.execute(
            "SELECT min(id), max(id) FROM accounts_user WHERE role IN ('buyer','seller')"
        )
        customer_min, customer_max = cursor.fetchone()
        progress(f"  {agents:,} agents and {customers:,} customers")

        # Ticket g: created g*span/N seconds into a 2-year window, updated up to 5 days later;
        # message_count skewed towards short threads, 1 to 20.
        cursor.execute(
            f"""
            INSERT INTO tickets_ticket (subject, requester_id, channel, category, status,
                priority, kind, assignee_id, team, order_number, created_at, updated_at,
                first_replied_at, resolved_at, closed_at, message_count, requester_identity,
                unverified_order_number, sub_channel)
            SELECT
                ({_sql_array(SUBJECTS)})[1 + (g * 7) %% {len(SUBJECTS)}],
                %(cmin)s + (g * 7919) %% (%(cmax)s - %(cmin)s + 1),
                ({_sql_array(CHANNELS)})[1 + g %% {len(CHANNELS)}],
                CASE WHEN g %% 97 = 0 THEN '' ELSE
                    ({_sql_array(CATEGORIES)})[1 + (g / 7) %% {len(CATEGORIES)}] END,
                ({_sql_array(STATUSES)})[1 + (g * 13) %% {len(STATUSES)}],
                (ARRAY['low','normal','normal','normal','high','urgent'])[1 + (g * 5) %% 6],
                CASE WHEN g %% 50 = 0 THEN 'dispute' ELSE 'standard' END,
                CASE WHEN g %% 3 = 0 THEN NULL
                     ELSE %(amin)s + (g * 31) %% (%(amax)s - %(amin)s + 1) END,
                ({_sql_array(TEAMS)})[1 + (g / 7) %% {len(TEAMS)}],
                CASE WHEN g %% 2 = 0 THEN 'IZ-' || lpad((20000000 + g)::text, 8, '0') ELSE '' END,
                t.created,
                t.created + ((g * 37) %% 432000) * interval '1 second',
                t.created + ((g * 11) %% 3600) * interval '1 second',
                NULL, NULL,
                1 + least(19, floor(-ln(1 - ((g * 0.6180339887) - floor(g * 0.6180339887)))
                                     * 3.5)::int),
                'account', '', ''
            FROM generate_series(1::bigint, %(n)s) g,
                 LATERAL (SELECT now() - interval '730 days'
                                 + (g::float / %(n)s) * interval '729 days' AS created) t
            """,
            {
                "cmin": customer_min,
                "cmax": customer_max,
                "amin": agent_min,
                "amax": agent_max,
                "n": tickets,
            },
        )
        progress(f"  {tickets:,} tickets")
        cursor.execute(
            """
            INSERT INTO tickets_party (ticket_id, user_id, role, name, email)
            SELECT t.id, t.requester_id, 'requester', '', '' FROM tickets_ticket t
            """
        )
        cursor.execute(
            f"""
            INSERT INTO tickets_message (ticket_id, kind, direction, author_id, author_name,
                channel, body_text, body_html, external_id, created_at)
            SELECT t.id,
                   CASE WHEN m %% 6 = 5 THEN 'note' ELSE 'reply' END,
                   CASE WHEN m %% 6 = 5 THEN 'internal'
                        WHEN m %% 2 = 1 THEN 'in' ELSE 'out' END,
                   CASE WHEN m %% 2 = 1 THEN t.requester_id ELSE t.assignee_id END,
                   '', t.channel,
                   ({_sql_array(BODIES)})[1 + (t.id + m) %% {len(BODIES)}],
                   '', NULL,
                   t.created_at + (m - 1) * (t.updated_at - t.created_at) / t.message_count
            FROM tickets_ticket t, generate_series(1, t.message_count) m
            """,
            [],
        )
        cursor.execute("SELECT count(*) FROM tickets_message")
        messages = cursor.fetchone()[0]
        progress(f"  {messages:,} messages")
        cursor.execute(
            """
            INSERT INTO tickets_ticketevent (ticket_id, kind, actor_id, data, created_at)
            SELECT id, 'created', requester_id, '{}'::jsonb, created_at FROM tickets_ticket
            """
        )
        progress("  one event per ticket")
        cursor.execute("ANALYZE")
    progress(f"  generated in {time.perf_counter() - started:.0f} s")
    return {"tickets": tickets, "messages": messages}
