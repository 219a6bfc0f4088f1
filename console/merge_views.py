"""Merging duplicates from the console: "Merge into…" on a ticket, and "Merge selected"
from the inbox. Each shows what will move and asks before ``tickets_merge`` runs."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.decorators import agent_required, current_user
from tickets import selectors
from tickets.merge import (
    MAX_SOURCES,
    MergePreview,
    MergeRefused,
    merge_candidates,
    merge_preview,
    tickets_merge,
)
from tickets.models import Ticket


def _chosen(request: HttpRequest, name: str) -> int | None:
    raw = (request.POST if request.method == "POST" else request.GET).get(name, "")
    return int(raw) if raw.isdigit() else None


def _page(
    request: HttpRequest,
    *,
    action: str,
    sources: list[Ticket],
    choices: list[Ticket],
    target: Ticket | None,
    selected: list[Ticket] | None = None,
) -> HttpResponse:
    """The choice of target, or (target chosen) the confirmation of what moves."""
    agent = current_user(request)
    preview: MergePreview | None = None
    error = ""
    if target is not None:
        try:
            preview = merge_preview(target=target, sources=sources, actor=agent)
        except MergeRefused as exc:
            error = exc.message
        else:
            if request.method == "POST":
                try:
                    tickets_merge(target=target, sources=sources, actor=agent)
                except MergeRefused as exc:
                    error = exc.message
                else:
                    merged = ", ".join(s.reference for s in sources)
                    messages.success(request, f"{merged} merged into {target.reference}.")
                    return redirect("console:ticket", ticket_id=target.pk)
    elif request.method == "POST":
        error = "Choose the ticket to merge into."
    context = {
        "action": action,
        "sources": sources,
        "choices": choices,
        "target": target,
        "preview": preview,
        "selected": selected or [],
        "error": error,
    }
    return render(request, "console/merge.html", context, status=400 if error else 200)


@agent_required
def ticket_merge(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Merge this ticket into another open ticket of the same requester."""
    agent = current_user(request)
    try:
        ticket = selectors.ticket_get_for_viewer(viewer=agent, ticket_id=ticket_id)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket.") from None
    choices = merge_candidates(ticket=ticket)
    into = _chosen(request, "into")
    target = next((c for c in choices if c.pk == into), None)
    if into is not None and target is None:
        # Not one of the offered tickets (closed, merged, someone else's): the service
        # says why in words.
        target = selectors.tickets_visible_to(agent).filter(pk=into).first()
    return _page(
        request,
        action=request.path,
        sources=[ticket],
        choices=choices,
        target=target,
    )


@agent_required
def tickets_merge_selected(request: HttpRequest) -> HttpResponse:
    """The tickets selected in the inbox: choose the one to keep, the others merge into it."""
    agent = current_user(request)
    data = request.POST if request.method == "POST" else request.GET
    ids = [int(raw) for raw in data.getlist("ticket")[: MAX_SOURCES + 1] if raw.isdigit()]
    selected = list(selectors.tickets_visible_to(agent).filter(pk__in=ids).order_by("created_at"))
    if len(selected) < 2:
        messages.error(request, "Select two or more tickets of one customer to merge.")
        return redirect("console:inbox")
    keep = _chosen(request, "into")
    target = next((t for t in selected if t.pk == keep), None)
    sources = [t for t in selected if target is None or t.pk != target.pk]
    return _page(
        request,
        action=request.path,
        sources=sources,
        choices=selected,
        target=target,
        selected=selected,
    )
