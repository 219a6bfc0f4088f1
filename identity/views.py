"""The link a requester opens to prove their address."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from identity import services


def verify_link(request: HttpRequest, challenge_id: int, token: str) -> HttpResponse:
    """GET shows a button, POST verifies: mail scanners that open links on arrival do
    not verify anything by doing so."""
    try:
        challenge = services.link_challenge(challenge_id=challenge_id, token=token)
        if request.method == "POST":
            ticket = services.link_check(challenge_id=challenge_id, token=token)
            return render(request, "identity/verified.html", {"ticket": ticket})
    except services.VerificationError as exc:
        return render(
            request,
            "identity/verify_link.html",
            {"problem": exc.message, "code": exc.code},
            status=200 if isinstance(exc, services.AlreadyVerified) else 400,
        )
    return render(
        request,
        "identity/verify_link.html",
        {"reference": challenge.ticket.reference, "email": challenge.email},
    )
