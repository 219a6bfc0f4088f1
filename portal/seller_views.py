"""Seller portal: a registered seller's disputes and Seller Support requests."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.decorators import current_user, customer_required
from accounts.models import Role, User
from core.errors import UserError
from core.forms import apply_service_error
from disputes import selectors, services
from disputes.forms import SellerReplyForm, SellerRequestForm
from disputes.models import Dispute
from tickets import selectors as ticket_selectors
from tickets import services as ticket_services
from tickets.choices import Channel

SELLER_CATEGORY = "seller_support"


def _seller(request: HttpRequest) -> User:
    user = current_user(request)
    if user.role != Role.SELLER:
        raise PermissionDenied("The seller portal is for registered sellers.")
    return user


@customer_required
def home(request: HttpRequest) -> HttpResponse:
    seller = _seller(request)
    return render(
        request,
        "portal/seller_home.html",
        {
            "disputes": selectors.disputes_for_seller(seller)[:50],
            "requests": ticket_selectors.tickets_visible_to(seller)
            .filter(requester=seller)
            .order_by("-created_at", "-id")[:20],
        },
    )


@customer_required
def dispute_detail(request: HttpRequest, dispute_id: int) -> HttpResponse:
    seller = _seller(request)
    try:
        dispute = selectors.dispute_get_for_seller(seller=seller, dispute_id=dispute_id)
    except Dispute.DoesNotExist:
        raise Http404("No such dispute.") from None
    form = SellerReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.dispute_seller_reply(
                dispute=dispute, seller=seller, body=form.cleaned_data["body"]
            )
        except UserError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, "Reply sent to Izonie Support.")
            return redirect("portal:seller_dispute", dispute_id=dispute.pk)
    return render(
        request,
        "portal/seller_dispute.html",
        {
            "dispute": dispute,
            "thread": selectors.seller_thread(dispute),
            "outcome": services.outcome_text(dispute) if dispute.outcome else "",
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )


@customer_required
def request_new(request: HttpRequest) -> HttpResponse:
    """A Seller Support request (listings, payouts), routed to the seller team."""
    seller = _seller(request)
    form = SellerRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = ticket_services.ticket_open(
                requester=seller,
                channel=Channel.WEB_FORM,
                category=SELLER_CATEGORY,
                subject=f"{data['topic']}: {data['subject']}",
                body=data["body"],
            )
        except UserError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, f"Request {ticket.reference} is open. We'll reply here.")
            return redirect("portal:request", ticket_id=ticket.pk)
    return render(
        request,
        "portal/seller_request.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )
