"""Mail that became no ticket (machine and bulk mail, bounces, quarantined, duplicates),
for agents who need to check what arrived: a list and one mail's text."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.decorators import agent_required
from mail import selectors
from mail.models import InboundEmail, InboundStatus


@agent_required
def other_mail(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    query = request.GET.get("q", "")
    mails = selectors.other_mail(status=status, query=query)
    page = Paginator(mails, 50).get_page(request.GET.get("page"))
    statuses = [(value, InboundStatus(value).label) for value in selectors.LISTABLE]
    return render(
        request,
        "console/other_mail.html",
        {"page": page, "status": status, "q": query, "statuses": statuses},
    )


@agent_required
def other_mail_detail(request: HttpRequest, mail_id: int) -> HttpResponse:
    mail = get_object_or_404(InboundEmail.objects.filter(status__in=selectors.LISTABLE), pk=mail_id)
    text, problem = selectors.other_mail_text(mail=mail)
    return render(
        request, "console/other_mail_detail.html", {"mail": mail, "text": text, "problem": problem}
    )
