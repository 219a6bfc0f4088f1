"""The public pages behind the rating email's one-click links.

The link itself (a GET) records nothing: mail scanners open every link in a message,
which would record all five scores. The page submits its confirmation form at once
(``rate.js``), so a person's click records the score in one step, and without
JavaScript the same form is one button.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from feedback.exceptions import InvalidRating, RatingLocked
from feedback.models import Rating, RatingRequest
from feedback.services import MAX_COMMENT_CHARS, feedback_record
from feedback.tokens import LinkClaim, LinkInvalid, link_read
from policy.loader import get_policy


def _invalid(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    return render(request, "feedback/rate_invalid.html", {"message": message}, status=status)


def _claim(token: str) -> tuple[LinkClaim, RatingRequest]:
    claim = link_read(token)
    rating_request = (
        RatingRequest.objects.select_related("ticket").filter(pk=claim.request_id).first()
    )
    if rating_request is None:
        raise LinkInvalid("This rating link is not valid: the request it was for is gone.")
    return claim, rating_request


@require_http_methods(["GET", "POST"])
def rate(request: HttpRequest, token: str) -> HttpResponse:
    try:
        claim, rating_request = _claim(token)
    except LinkInvalid as exc:
        return _invalid(request, exc.message, status=410 if exc.expired else 400)
    ticket = rating_request.ticket
    if request.method == "GET":
        return render(
            request,
            "feedback/rate_confirm.html",
            {"ticket": ticket, "score": claim.score, "token": token, "policy": get_policy()},
        )
    try:
        result = feedback_record(
            ticket=ticket,
            channel=ticket.channel,
            score=claim.score,
            interaction=rating_request.interaction,
            actor=ticket.requester,
        )
    except (InvalidRating, RatingLocked) as exc:
        return _invalid(request, exc.message, status=409 if isinstance(exc, RatingLocked) else 400)
    response = redirect("feedback:thanks", token=token)
    if not result.changed:
        response["Location"] += "?already=1"
    return response


@require_http_methods(["GET", "POST"])
def thanks(request: HttpRequest, token: str) -> HttpResponse:
    try:
        _link, rating_request = _claim(token)
    except LinkInvalid as exc:
        return _invalid(request, exc.message, status=410 if exc.expired else 400)
    ticket = rating_request.ticket
    rating = Rating.objects.filter(ticket=ticket, interaction=rating_request.interaction).first()
    if rating is None:
        return redirect("feedback:rate", token=token)
    error = ""
    status = 200
    if request.method == "POST":
        comment = request.POST.get("comment", "").strip()
        if not comment:
            error = "Write a comment, or leave this page: your score is already recorded."
        elif len(comment) > MAX_COMMENT_CHARS:
            error = (
                f"The comment is {len(comment):,} characters; the limit is {MAX_COMMENT_CHARS:,}."
            )
        else:
            try:
                feedback_record(
                    ticket=ticket,
                    channel=rating.channel,
                    score=rating.score,
                    comment=comment,
                    interaction=rating.interaction,
                    actor=ticket.requester,
                )
            except (InvalidRating, RatingLocked) as exc:
                error = exc.message
            else:
                return redirect(f"{request.path}?commented=1")
        status = 400
    return render(
        request,
        "feedback/rate_thanks.html",
        {
            "ticket": ticket,
            "rating": rating,
            "policy": get_policy(),
            "already": request.GET.get("already") == "1",
            "commented": request.GET.get("commented") == "1",
            "error": error,
            "max_comment": MAX_COMMENT_CHARS,
        },
        status=status,
    )
