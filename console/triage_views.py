"""Console: the triage view, where conversations without a category wait for an agent."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.decorators import agent_required, current_user
from core.errors import UserError
from policy.loader import get_policy
from tickets import selectors as ticket_selectors
from tickets import workflows
from tickets.models import Ticket
from triage import selectors
from triage import services as triage_services

PAGE_SIZE = 25


class CategoriseForm(forms.Form):
    category = forms.CharField(max_length=40)
    page = forms.IntegerField(required=False, min_value=1)


@agent_required
def triage(request: HttpRequest) -> HttpResponse:
    paginator = Paginator(selectors.triage_queue(), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    active = triage_services.classifier_active()
    return render(
        request,
        "console/triage.html",
        {
            "page": page,
            "policy": get_policy(),
            "active": active,
            "history": selectors.classifier_history(),
            "teams": selectors.team_routing(),
        },
    )


@agent_required
@require_POST
def triage_categorise(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Confirm the predicted category or choose another: one click either way."""
    try:
        ticket = ticket_selectors.ticket_get_for_viewer(
            viewer=current_user(request), ticket_id=ticket_id
        )
    except Ticket.DoesNotExist:
        raise Http404("No such ticket.") from None
    form = CategoriseForm(request.POST)
    page = request.POST.get("page", "")
    back = redirect(reverse("console:triage") + (f"?page={page}" if page.isdigit() else ""))
    if not form.is_valid():
        messages.error(request, f"{ticket.reference}: choose a category.")
        return back
    try:
        ticket = workflows.ticket_categorise_from_triage(
            ticket=ticket, actor=current_user(request), category=form.cleaned_data["category"]
        )
    except UserError as exc:
        messages.error(request, f"{ticket.reference}: {exc.message} Nothing was changed.")
        return back
    name = get_policy().category(form.cleaned_data["category"]).name
    assigned = f", assigned to {ticket.assignee}" if ticket.assignee else ""
    messages.success(request, f"{ticket.reference} filed under {name}{assigned}.")
    return back
