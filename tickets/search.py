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

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.safestring import SafeString, mark_safe

from accounts.models import CUSTOMER_ROLES, User
from helpcenter.search.base import MARK_END, MARK_START, marks_to_html
from helpcenter.search.query import normalise_query, query_terms, significant_terms
from tickets.models import Ticket
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


def _message_ids(terms: list[str], limit: int) -> list[int]:
    """Ids of messages matching every term, best first."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            query = " ".join(f'"{term}"' for term in terms) + "*"
            cursor.execute(
                "SELECT rowid FROM tickets_message_fts WHERE tickets_message_fts MATCH %s "
                "ORDER BY rank LIMIT %s",
                [query, limit],
            )
        else:
            # Newest first among the matches: the GIN index finds them, and recent
            # conversations are what agents look for; ranking all matches of a common
            # word over millions of messages would cost more than the answer is worth.
            cursor.execute(
                "SELECT id FROM tickets_message "
                "WHERE to_tsvector('simple'::regconfig, body_text) @@ to_tsquery('simple', %s) "
                "ORDER BY id DESC LIMIT %s",
                [" & ".join([*terms[:-1], terms[-1] + ":*"]), limit],
            )
        return [row[0] for row in cursor.fetchall()]


def _snippet(message_id: int, terms: list[str]) -> SafeString:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT snippet(tickets_message_fts, 0, %s, %s, '…', 20) FROM "
                "tickets_message_fts WHERE tickets_message_fts MATCH %s AND rowid = %s",
                [
                    MARK_START,
                    MARK_END,
                    " ".join(f'"{term}"' for term in terms) + "*",
                    message_id,
                ],
            )
        else:
            cursor.execute(
                "SELECT ts_headline('simple', body_text, to_tsquery('simple', %s), %s) "
                "FROM tickets_message WHERE id = %s",
                [
                    " & ".join([*terms[:-1], terms[-1] + ":*"]),
                    f'StartSel="{MARK_START}", StopSel="{MARK_END}", MaxWords=30, MinWords=12',
                    message_id,
                ],
            )
        row = cursor.fetchone()
    return mark_safe(marks_to_html(row[0])) if row else mark_safe("")


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
    if len(terms) == 1:
        add(
            list(
                visible.filter(tags__name=terms[0])
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
        message_ids = _message_ids(terms, MESSAGE_WINDOW)
        if message_ids:
            from tickets.models import Message

            ticket_of = dict(
                Message.objects.filter(pk__in=message_ids).values_list("pk", "ticket_id")
            )
            allowed = set(
                visible.filter(pk__in=set(ticket_of.values())).values_list("pk", flat=True)
            )
            for message_id in message_ids:
                ticket_id = ticket_of.get(message_id)
                if ticket_id in allowed and ticket_id not in found and len(order) < limit:
                    add([ticket_id], "Message", _snippet(message_id, terms))
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
