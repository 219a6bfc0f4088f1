"""Agent actions on social conversations from the console."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.decorators import agent_required, current_user
from social import services
from tickets import selectors
from tickets.models import Attachment, Ticket


@agent_required
@require_POST
def attachment_retry(request: HttpRequest, ticket_id: int, attachment_id: int) -> HttpResponse:
    """Queue another download of a customer's attachment that was not kept."""
    try:
        ticket = selectors.ticket_get_for_viewer(viewer=current_user(request), ticket_id=ticket_id)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket.") from None
    attachment = Attachment.objects.filter(
        pk=attachment_id, message__ticket=ticket, social_link__isnull=False
    ).first()
    if attachment is None:
        raise Http404("No such attachment.")
    if attachment.kept:
        messages.info(request, f"{attachment.filename} is already kept.")
    elif services.social_attachment_retry_queue(attachment=attachment):
        messages.success(
            request, "The download will be tried again in the background: reload in a moment."
        )
    else:
        messages.info(request, "A download of this attachment is already waiting.")
    response = redirect("console:ticket", ticket_id=ticket.pk)
    response["Location"] += f"#message-{attachment.message_id}"
    return response
