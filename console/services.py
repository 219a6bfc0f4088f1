"""Writes of the console's own records: saved views and notes on customers."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import User
from console.models import CustomerNote, SavedView
from tickets import events
from tickets.models import Ticket

# What a saved view keeps of the inbox's query string (never a page cursor).
VIEW_KEYS = ("view", "q", "category", "channel", "status", "team", "tag", "sort")


def saved_view_create(*, owner: User, name: str, query: str, shared: bool) -> SavedView:
    kept = [(key, value) for key, value in parse_qsl(query) if key in VIEW_KEYS and value]
    saved = SavedView(owner=owner, name=name.strip(), query=urlencode(kept), shared=shared)
    saved.full_clean()
    saved.save()
    return saved


def saved_view_delete(*, saved: SavedView, actor: User) -> None:
    """The owner deletes their view; a supervisor may also delete a shared one."""
    if saved.owner_id != actor.pk and not (saved.shared and actor.is_supervisor):
        raise PermissionDenied("Only its owner or a supervisor may delete this view.")
    saved.delete()


@transaction.atomic
def customer_note_add(
    *, customer: User, author: User, body: str, ticket: Ticket | None = None
) -> CustomerNote:
    """Keep a note on the customer; written from one of their tickets, that ticket's
    history says so."""
    if customer.is_agent:
        raise ValidationError("Notes are kept on customers, not on staff.")
    note = CustomerNote(customer=customer, author=author, body=body.strip())
    note.full_clean()
    note.save()
    if ticket is not None:
        events.customer_note(ticket=ticket, actor=author, note_id=note.pk, deleted=False)
    return note


@transaction.atomic
def customer_note_delete(*, note: CustomerNote, actor: User, ticket: Ticket | None = None) -> None:
    if note.author_id != actor.pk and not actor.is_supervisor:
        raise PermissionDenied("Only its author or a supervisor may delete this note.")
    if ticket is not None:
        events.customer_note(ticket=ticket, actor=actor, note_id=note.pk, deleted=True)
    note.delete()
