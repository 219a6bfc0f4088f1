"""Console actions on conduct: end a conversation for conduct, dismiss a flag, lift a
block (supervisors). Each parses, calls a service and goes back to the ticket."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import agent_required, current_user, supervisor_required
from chat.services import ticket_end_for_conduct
from conduct import services
from conduct.models import ConductBlock, ConductFlag
from core.errors import UserError
from tickets import selectors
from tickets.models import Ticket


def _ticket_or_404(request: HttpRequest, ticket_id: int) -> Ticket:
    try:
        return selectors.ticket_get_for_viewer(viewer=current_user(request), ticket_id=ticket_id)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket.") from None


@agent_required
@require_POST
def end_for_conduct(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    try:
        ticket_end_for_conduct(
            ticket=ticket, actor=current_user(request), reason=request.POST.get("reason", "")
        )
    except UserError as exc:
        messages.error(request, f"The conversation was not ended: {exc.message}")
    else:
        messages.success(request, "The conversation was ended for conduct; the customer sees why.")
    return redirect("console:ticket", ticket_id=ticket.pk)


@agent_required
@require_POST
def flag_dismiss(request: HttpRequest, flag_id: int) -> HttpResponse:
    flag = get_object_or_404(ConductFlag.objects.select_related("ticket"), pk=flag_id)
    _ticket_or_404(request, flag.ticket_id)
    if services.flag_dismiss(flag=flag, actor=current_user(request)):
        messages.success(request, "Flag dismissed: it no longer counts towards a block.")
    return redirect("console:ticket", ticket_id=flag.ticket_id)


@supervisor_required
def blocks(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "conduct/blocks.html",
        {"blocks": services.blocks_active().select_related("customer", "ticket")},
    )


@supervisor_required
@require_POST
def block_lift(request: HttpRequest, block_id: int) -> HttpResponse:
    block = get_object_or_404(ConductBlock, pk=block_id)
    try:
        lifted = services.block_lift(
            block=block, actor=current_user(request), reason=request.POST.get("reason", "")
        )
    except UserError as exc:
        messages.error(request, exc.message)
    else:
        if lifted:
            messages.success(request, f"Block lifted: {block.customer} can start new sessions.")
        else:
            messages.info(request, "That block was already lifted.")
    target = request.POST.get("next", "")
    if target.startswith("/console/") and "//" not in target:
        return redirect(target)
    return redirect("conduct:blocks")
