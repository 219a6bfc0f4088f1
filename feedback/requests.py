"""Asking for a rating when a request is solved, per channel.

Each channel registers how its customers are asked (``register_rating_request``): by
default email, the contact form and the API get an email with one-click 1–5 links; live
chat asks in the widget when the chat ends, so it registers nothing to send; social
channels register their own (quick-reply buttons) at merge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from feedback.models import RatingRequest
from feedback.tokens import link_token
from mail.autoreply import auto_reply_refused
from mail.outbound import stable_message_id
from policy.loader import get_policy
from tickets.choices import Channel, EventKind, TicketStatus
from tickets.models import Ticket

logger = logging.getLogger(__name__)

RatingRequester = Callable[[Ticket], None]

_requesters: dict[str, RatingRequester] = {}


def register_rating_request(channel: str, requester: RatingRequester) -> None:
    _requesters[channel] = requester


def rating_request_on_resolved(*, ticket: Ticket) -> None:
    """Called where a ticket's status becomes resolved; asks after commit, so a solve
    that rolls back asks nothing."""
    transaction.on_commit(partial(_ask, ticket_id=ticket.pk))


def _ask(*, ticket_id: int) -> None:
    ticket = Ticket.objects.select_related("requester").filter(pk=ticket_id).first()
    if ticket is None or ticket.status != TicketStatus.RESOLVED:
        return
    requester = _requesters.get(ticket.channel)
    if requester is None:
        logger.info("No rating request for %s conversations (%s)", ticket.channel, ticket_id)
        return
    requester(ticket)


def resolution_interaction(ticket: Ticket) -> str:
    """The n-th time this ticket was solved: a reopened and solved-again request is a
    new interaction to rate."""
    solved = ticket.events.filter(
        kind=EventKind.STATUS_CHANGED, data__new=TicketStatus.RESOLVED.value
    ).count()
    return f"resolution-{max(solved, 1)}"


def email_rating_request(ticket: Ticket) -> None:
    """Create the request (once per interaction) and queue the email."""
    from feedback.tasks import send_rating_email

    if not ticket.requester.email or auto_reply_refused(ticket.requester.email):
        return  # no address, or one no person reads (RFC 3834)
    try:
        with transaction.atomic():
            request, created = RatingRequest.objects.get_or_create(
                ticket=ticket,
                interaction=resolution_interaction(ticket),
                defaults={"email": ticket.requester.email},
            )
    except IntegrityError:
        return  # asked concurrently
    if created:
        transaction.on_commit(partial(send_rating_email.enqueue, request_id=request.pk))


def live_chat_rating_request(ticket: Ticket) -> None:
    """The chat widget offers the rating when the chat ends; nothing to send."""


def rating_links(request: RatingRequest) -> list[tuple[int, str]]:
    feedback = get_policy().feedback
    base = str(settings.IZONIE_PUBLIC_URL).rstrip("/")
    return [
        (
            score,
            base
            + reverse(
                "feedback:rate", kwargs={"token": link_token(request_id=request.pk, score=score)}
            ),
        )
        for score in range(feedback.scale_min, feedback.scale_max + 1)
    ]


def rating_email_send(*, request_id: int) -> bool:
    """Send the rating email once; safe to run twice. Returns whether it sent."""
    request = RatingRequest.objects.select_related("ticket").filter(pk=request_id).first()
    if request is None or request.sent_at is not None:
        return False
    policy = get_policy()
    ticket = request.ticket
    context = {
        "ticket": ticket,
        "links": rating_links(request),
        "policy": policy,
        "question": policy.feedback.question,
    }
    email = EmailMultiAlternatives(
        subject=policy.feedback.email_subject.replace("{reference}", ticket.reference),
        body=render_to_string("feedback/rating_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[request.email],
        headers={
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
            # Sent again after a failure: the same Message-ID, so it is seen as one mail.
            "Message-ID": stable_message_id(
                kind="rating", pk=request.pk, created_at=request.created_at
            ),
        },
    )
    email.attach_alternative(render_to_string("feedback/rating_email.html", context), "text/html")
    try:
        email.send()
    except Exception as exc:  # any backend failure: kept on the row, the task may retry
        RatingRequest.objects.filter(pk=request.pk).update(last_error=str(exc)[:2000])
        raise
    RatingRequest.objects.filter(pk=request.pk).update(sent_at=timezone.now(), last_error="")
    return True


def register_builtin_rating_requests() -> None:
    for channel in (Channel.EMAIL, Channel.WEB_FORM, Channel.API):
        register_rating_request(channel, email_rating_request)
    register_rating_request(Channel.LIVE_CHAT, live_chat_rating_request)
