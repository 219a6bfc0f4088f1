"""Global search for agents: every ticket the viewer may see, whatever the inbox view.

One query string finds, in this order: a reference (``IZS-44``, ``#44``, ``44``), an order
number, a requester's email address, a tag, requesters by name, then words in any
message (full text: SQLite FTS5 or PostgreSQL ``to_tsvector``, see migration
``tickets.0004``) and in subjects. The text goes through the Help Center's query parser
(letters and digits only), so nothing typed is ever engine syntax. Filters (status,
channel, team, assignee of an inbox view) narrow the hits; the snippet shows where the
words matched, marked, for the page of hits only.
"""

# The only string formatting in this module's SQL is the table name; every value is a
# query parameter.

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.safestring import SafeString, mark_safe

from accounts.models import CUSTOMER_ROLES, User
from helpcenter.search.base import MARK_END, MARK_START, marks_to_html
from helpcenter.search.query import normalise_query, query_terms, significant_terms
from tickets.models import Message, Tag, Ticket
from tickets.selectors import TicketFilters, tickets_filtered, tickets_visible_to

# Message matches considered, best first: enough for a page of distinct tickets.
MESSAGE_WINDOW = 200
_REFERENCE_RE = re.compile(r"^(?:IZS-|#)?(\d{1,12})$", re.IGNORECASE)
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


@dataclass(frozen=True)
class SearchHit:
    ticket: Ticket
    # Why it matched ("Reference", "Order number", "Customer", "Message", ...).
    matched: str
    snippet_html: SafeString


# PostgreSQL: the newest messages read one by one first (a common word is found among
# them at once), then the GIN index over a window of recent messages that widens.
RECENT_MESSAGES = 2_000
RECENT_WINDOW = 500_000


def _tsquery(terms: list[str]) -> str:
    return " & ".join([*terms[:-1], terms[-1] + ":*"])


def _message_ids(terms: list[str], limit: int) -> list[tuple[int, int]]:
    """Messages matching every term, best first, as (message id, ticket id)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            query = " ".join(f'"{term}"' for term in terms) + "*"
            cursor.execute(
                "SELECT rowid FROM tickets_message_fts WHERE tickets_message_fts MATCH %s "
                "ORDER BY rank LIMIT %s",
                [query, limit],
            )
            ids = [row[0] for row in cursor.fetchall()]
            ticket_of = dict(Message.objects.filter(pk__in=ids).values_list("pk", "ticket_id"))
            return [(pk, ticket_of[pk]) for pk in ids if pk in ticket_of]
        # Newest first among the matches: recent conversations are what agents look
        # for. A common word matches hundreds of thousands of messages over the years:
        # building the index's list of them all costs far more than the answer is worth,
        # while a few thousand of the newest messages hold enough. Rarer words come from
        # the GIN index, over a window of recent messages that widens until it holds
        # enough (or is every message).
        query = _tsquery(terms)
        cursor.execute("SELECT max(id) FROM tickets_message")
        newest = cursor.fetchone()[0] or 0
        # MATERIALIZED: the newest messages by the primary key, newest first, then the
        # test, which stops at the limit: a common word is found in the first few
        # hundred (a sort after the test made it parse all 2,000: 30 ms, now 12 ms).
        cursor.execute(
            "WITH recent AS MATERIALIZED (SELECT id, ticket_id, body_text FROM tickets_message "
            "WHERE id > %s ORDER BY id DESC) SELECT id, ticket_id FROM recent "
            "WHERE to_tsvector('simple'::regconfig, body_text) @@ to_tsquery('simple', %s) "
            "LIMIT %s",
            [newest - RECENT_MESSAGES, query, limit],
        )
        ids = cursor.fetchall()
        window = RECENT_WINDOW
        while len(ids) < limit and newest > RECENT_MESSAGES:
            floor = newest - window
            # MATERIALIZED: the window's matches come from the index, not from a walk
            # back along the primary key testing every message.
            cursor.execute(
                "WITH hit AS MATERIALIZED (SELECT id, ticket_id FROM tickets_message "
                "WHERE to_tsvector('simple'::regconfig, body_text) @@ to_tsquery('simple', %s) "
                "AND id > %s) SELECT id, ticket_id FROM hit ORDER BY id DESC LIMIT %s",
                [query, floor, limit],
            )
            ids = cursor.fetchall()
            if floor <= 0:
                break
            window *= 8
        return [(pk, ticket_id) for pk, ticket_id in ids]


def _snippets(message_ids: list[int], terms: list[str]) -> dict[int, SafeString]:
    """Where the words matched in each message, marked: one query for the page."""
    if not message_ids:
        return {}
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT rowid, snippet(tickets_message_fts, 0, %s, %s, '…', 20) FROM "
                "tickets_message_fts WHERE tickets_message_fts MATCH %s "
                "AND rowid IN (SELECT value FROM json_each(%s))",
                [
                    MARK_START,
                    MARK_END,
                    " ".join(f'"{term}"' for term in terms) + "*",
                    json.dumps(message_ids),
                ],
            )
        else:
            cursor.execute(
                "SELECT id, ts_headline('simple', body_text, to_tsquery('simple', %s), %s) "
                "FROM tickets_message WHERE id = ANY(%s)",
                [
                    _tsquery(terms),
                    f'StartSel="{MARK_START}", StopSel="{MARK_END}", MaxWords=30, MinWords=12',
                    list(message_ids),
                ],
            )
        rows = cursor.fetchall()
    return {pk: mark_safe(marks_to_html(text)) for pk, text in rows}


def _visible(viewer: User, filters: TicketFilters | None) -> QuerySet[Ticket]:
    tickets = tickets_visible_to(viewer)
    return tickets if filters is None else tickets_filtered(tickets, filters)


def ticket_search(
    *, viewer: User, text: str, filters: TicketFilters | None = None, limit: int = 25
) -> list[SearchHit]:
    text = normalise_query(text.replace("\x00", ""))
    if not text:
        return []
    visible = _visible(viewer, filters).select_related("requester", "assignee")
    found: dict[int, tuple[str, SafeString]] = {}
    order: list[int] = []

    def add(ids: list[int], matched: str, snippet: SafeString = mark_safe("")) -> None:  # noqa: B008
        for pk in ids:
            if pk not in found:
                found[pk] = (matched, snippet)
                order.append(pk)

    reference = _REFERENCE_RE.match(text)
    if reference:
        add(
            list(visible.filter(pk=int(reference.group(1))).values_list("pk", flat=True)),
            "Reference",
        )
    upper = text.upper()
    if len(text) <= 32:
        add(
            list(
                visible.filter(Q(order_number=upper) | Q(unverified_order_number=upper))
                .order_by("-updated_at")
                .values_list("pk", flat=True)[:limit]
            ),
            "Order number",
        )
    if _EMAIL_RE.match(text):
        add(
            list(
                visible.filter(requester__email__iexact=text)
                .order_by("-updated_at")
                .values_list("pk", flat=True)[:limit]
            ),
            "Customer email",
        )
    terms = significant_terms(query_terms(text))
    if not terms:
        return _hits(visible, order, found, limit)
    tag = Tag.objects.filter(name=terms[0]).first() if len(terms) == 1 else None
    if tag is not None:
        # By the tag's id: looking for a name no ticket carries walked every ticket.
        add(
            list(
                visible.filter(tags=tag)
                .order_by("-updated_at")
                .values_list("pk", flat=True)[:limit]
            ),
            "Tag",
        )
    # Requesters by name: the customers first (a few), then their tickets.
    name_match = Q()
    for term in terms[:3]:
        name_match &= (
            Q(display_name__icontains=term)
            | Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
        )
    people = list(
        User.objects.filter(name_match, role__in=CUSTOMER_ROLES).values_list("pk", flat=True)[:20]
    )
    if people:
        add(
            list(
                visible.filter(requester_id__in=people)
                .order_by("-updated_at")
                .values_list("pk", flat=True)[:limit]
            ),
            "Customer",
        )
    if len(order) < limit:
        matches = _message_ids(terms, MESSAGE_WINDOW)
        if matches:
            ticket_of = dict(matches)
            allowed = set(
                visible.filter(pk__in=set(ticket_of.values())).values_list("pk", flat=True)
            )
            # The first matching message of each ticket that makes the page.
            shown: dict[int, int] = {}
            for message_id, ticket_id in matches:
                if ticket_id in allowed and ticket_id not in found and ticket_id not in shown:
                    if len(order) + len(shown) >= limit:
                        break
                    shown[ticket_id] = message_id
            snippets = _snippets(list(shown.values()), terms)
            for ticket_id, message_id in shown.items():
                add([ticket_id], "Message", snippets.get(message_id, mark_safe("")))
    if len(order) < limit:
        add(
            list(
                visible.filter(subject__icontains=text)
                .order_by("-updated_at")
                .values_list("pk", flat=True)[:limit]
            ),
            "Subject",
        )
    return _hits(visible, order, found, limit)


def _hits(
    visible: QuerySet[Ticket],
    order: list[int],
    found: dict[int, tuple[str, SafeString]],
    limit: int,
) -> list[SearchHit]:
    wanted = order[:limit]
    tickets = visible.in_bulk(wanted)
    return [
        SearchHit(ticket=tickets[pk], matched=found[pk][0], snippet_html=found[pk][1])
        for pk in wanted
        if pk in tickets
    ]
