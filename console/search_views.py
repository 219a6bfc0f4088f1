"""The console's global search: every ticket the agent may see, narrowed by a view."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.decorators import agent_required, current_user
from tickets import selectors
from tickets.choices import TicketStatus, channel_filter_choices
from tickets.search import ticket_search

ALL = "all"


@agent_required
def search(request: HttpRequest) -> HttpResponse:
    agent = current_user(request)
    text = request.GET.get("q", "")[:200]
    view = request.GET.get("view", ALL)
    views = {v.key for v in selectors.INBOX_VIEWS}
    filters = (
        selectors.inbox_filters(agent=agent, view=view)
        if view in views
        else selectors.TicketFilters()
    )
    status = request.GET.get("status", "")
    if status in TicketStatus.values:
        filters.status = [status]
    channel = request.GET.get("channel", "")
    if channel in dict(channel_filter_choices()):
        filters.channel = channel
    hits = ticket_search(viewer=agent, text=text, filters=filters, limit=50) if text else []
    return render(
        request,
        "console/search.html",
        {
            "q": text,
            "hits": hits,
            "view": view if view in views else ALL,
            "views": selectors.INBOX_VIEWS,
            "channels": channel_filter_choices(),
            "statuses": TicketStatus.choices,
            "params": request.GET,
        },
    )
