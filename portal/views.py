"""Customer portal: contact form, My requests, a request's thread, attachments."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.decorators import current_user, customer_required
from accounts.services import contact_for_typed_email
from core.errors import UserError
from core.forms import apply_service_error
from core.throttle import Throttled, request_ip, throttle
from feedback.exceptions import InvalidRating, RatingLocked
from feedback.requests import resolution_interaction
from feedback.services import feedback_record
from identity import services as identity
from identity.models import Method
from policy.loader import get_policy
from portal.forms import ContactForm, CustomerReplyForm
from portal.selectors import (
    rating_open,
    ratings_by_ticket,
    recent_orders_for,
    ticket_url,
    with_open_escalation,
)
from sla.models import Escalation, EscalationStatus
from tickets import selectors, services
from tickets.choices import Channel
from tickets.escalation import escalation_request
from tickets.merge import surviving
from tickets.models import TICKET_REFERENCE_PREFIX, Attachment, Ticket


def contact(request: HttpRequest) -> HttpResponse:
    user = current_user(request) if request.user.is_authenticated else None
    if user is not None and not user.is_customer:
        return redirect("console:inbox")
    form = ContactForm(
        request.POST or None,
        request.FILES or None,
        user=user,
        recent_orders=recent_orders_for(user),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if user is None:
            try:
                _throttle_anonymous(request, email=data["email"])
            except Throttled as exc:
                form.add_error(None, exc.message)
                response = render(
                    request,
                    "portal/contact.html",
                    {"form": form, "policy": get_policy()},
                    status=429,
                )
                response["Retry-After"] = str(exc.retry_after)
                return response
        try:
            # Not signed in: an unverified contact, whoever owns the address (and the
            # same answer for a staff address as for any other).
            requester = user or contact_for_typed_email(email=data["email"], name=data["name"])
            ticket = services.ticket_open(
                requester=requester,
                channel=Channel.WEB_FORM,
                category=data["category"],
                subject=data["subject"],
                body=data["body"],
                order_number=data["order_number"],
                uploads=data["photos"],
            )
        except UserError as exc:
            apply_service_error(form, exc)
        else:
            if user is None:
                request.session["opened_reference"] = ticket.reference
                request.session["verification_link_sent"] = _offer_link(ticket)
                return redirect("portal:thanks")
            messages.success(request, f"Request {ticket.reference} is open. We'll reply here.")
            return redirect("portal:request", ticket_id=ticket.pk)
    return render(
        request,
        "portal/contact.html",
        {
            "form": form,
            "policy": get_policy(),
            # A browser cannot be given files back: name them, so nobody sends without.
            "files_to_attach_again": [f.name for f in request.FILES.getlist("photos")],
        },
        status=400 if request.method == "POST" else 200,
    )


def _offer_link(ticket: Ticket) -> bool:
    """Email the link that proves the address; False when the address had its quota."""
    try:
        identity.challenge_send(ticket=ticket, method=Method.LINK)
    except identity.VerificationError:
        return False
    return True


def _throttle_anonymous(request: HttpRequest, *, email: str) -> None:
    throttle(
        scope="contact",
        limits=[
            ("IZONIE_THROTTLE_CONTACT_PER_IP", request_ip(request), "from your network"),
            ("IZONIE_THROTTLE_CONTACT_PER_ADDRESS", email, "for this email address"),
        ],
    )


def thanks(request: HttpRequest) -> HttpResponse:
    reference = request.session.get("opened_reference")
    if not reference:
        return redirect("portal:contact")
    return render(
        request,
        "portal/thanks.html",
        {
            "reference": reference,
            "link_sent": request.session.get("verification_link_sent", False),
            "policy": get_policy(),
        },
    )


@customer_required
def requests_list(request: HttpRequest) -> HttpResponse:
    # A request merged into another is part of that conversation; it is listed once.
    tickets = with_open_escalation(
        selectors.tickets_visible_to(current_user(request))
        .filter(merged_into__isnull=True)
        .order_by("-created_at", "-id")
    )
    page = Paginator(tickets, 20).get_page(request.GET.get("page"))
    ratings = ratings_by_ticket(tickets=list(page.object_list))
    for ticket in page.object_list:
        ticket.my_rating = ratings.get(ticket.pk)
        ticket.rateable = rating_open(ticket=ticket)
    return render(
        request, "portal/requests.html", {"page": page, "scores": _scores(), "policy": get_policy()}
    )


def _scores() -> list[int]:
    feedback = get_policy().feedback
    return list(range(feedback.scale_min, feedback.scale_max + 1))


def _own_ticket(request: HttpRequest, ticket_id: int) -> Ticket:
    """The request, or the one it was merged into: an old link (or a reply written in a
    tab opened before the merge) lands on the surviving conversation."""
    try:
        ticket = selectors.ticket_get_for_viewer(viewer=current_user(request), ticket_id=ticket_id)
    except Ticket.DoesNotExist:
        raise Http404("No such request.") from None
    return surviving(ticket)


@customer_required
def request_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _own_ticket(request, ticket_id)
    if ticket.pk != ticket_id and request.method != "POST":
        messages.info(
            request,
            f"{TICKET_REFERENCE_PREFIX}{ticket_id} is now part of {ticket.reference}: "
            "the whole conversation is here.",
        )
        return redirect("portal:request", ticket_id=ticket.pk)
    form = CustomerReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.ticket_customer_message(
                ticket=ticket,
                author=current_user(request),
                body=form.cleaned_data["body"],
                uploads=form.cleaned_data["photos"],
                channel=Channel.WEB_FORM,
            )
        except UserError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, "Message sent.")
            return redirect("portal:request", ticket_id=ticket.pk)
    return render(
        request,
        "portal/request.html",
        {
            "ticket": ticket,
            "thread": selectors.messages_for_viewer(viewer=current_user(request), ticket=ticket),
            "form": form,
            "escalation": Escalation.objects.filter(
                ticket=ticket, status=EscalationStatus.OPEN
            ).first(),
            "policy": get_policy(),
            "rateable": rating_open(ticket=ticket),
            "scores": _scores(),
            "my_rating": ratings_by_ticket(tickets=[ticket]).get(ticket.pk),
        },
        status=400 if request.method == "POST" else 200,
    )


@customer_required
@require_POST
def request_rate(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """One tap on a score of a solved request (its page or My requests) records it
    through the feedback app, as the rating email's links do."""
    ticket = _own_ticket(request, ticket_id)
    back = request.POST.get("next") or ""
    target = back if back == reverse("portal:requests") else ticket_url(ticket)
    if not rating_open(ticket=ticket):
        messages.error(request, "This request can be rated once it is solved.")
        return redirect(target)
    try:
        result = feedback_record(
            ticket=ticket,
            channel=ticket.channel,
            score=request.POST.get("score", ""),
            interaction=resolution_interaction(ticket),
            actor=current_user(request),
        )
    except (InvalidRating, RatingLocked) as exc:
        messages.error(request, exc.message)
    else:
        scale = get_policy().feedback.scale_max
        verb = "Thank you: your rating" if result.created else "Your rating"
        messages.success(
            request,
            f"{verb} of {result.rating.score} out of {scale} for {ticket.reference} is recorded.",
        )
    return redirect(target)


@customer_required
@require_POST
def request_escalate(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _own_ticket(request, ticket_id)
    _escalation, created = escalation_request(
        ticket=ticket,
        requested_by=current_user(request),
        channel=Channel.WEB_FORM,
        reason=request.POST.get("reason", ""),
    )
    if created:
        messages.success(request, "Your request is escalated. A supervisor will contact you.")
    else:
        messages.info(
            request,
            "This request is already escalated; a supervisor will contact you by the time shown.",
        )
    return redirect("portal:request", ticket_id=ticket.pk)


def attachment(request: HttpRequest, attachment_id: int) -> FileResponse:
    """Files are served only to people who may see the ticket (never from MEDIA_URL)."""
    if not request.user.is_authenticated:
        raise PermissionDenied
    viewer = current_user(request)
    item = get_object_or_404(
        Attachment.objects.select_related("message"), pk=attachment_id, kept=True
    )
    visible = selectors.tickets_visible_to(viewer).filter(pk=item.message.ticket_id)
    if not visible.exists() or (item.message.is_note and not viewer.is_agent):
        raise Http404
    response = FileResponse(
        item.file.open("rb"), content_type=item.content_type, filename=item.filename
    )
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response
