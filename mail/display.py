"""A customer's HTML email as the console shows it: remote images held back.

A remote image in an email is how senders learn that (and when, and from where) a message
was read: tracking pixels. The console strips every image source by default and shows a
"Show remote images" link; that link opens the ticket again with ``?remote_images=<id>``,
which shows HTTPS images of that one message, and the response's Content-Security-Policy
then allows https: images (``remote_images_allowed``) – every other response allows only
this site's own images, so a source the stripping missed is still not fetched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

import nh3
from django.http import HttpRequest, HttpResponse

REMOTE_IMAGES_PARAM = "remote_images"


@dataclass(frozen=True)
class EmailHtml:
    html: str
    # Image sources taken out: what "Show remote images" would bring back.
    hidden_images: int


def email_html(html: str, *, remote_images: bool) -> EmailHtml:
    """``html`` (already sanitised when stored, tickets.services.sanitise_html) with image
    sources removed; with ``remote_images``, HTTPS sources are kept (plain HTTP ones would
    be mixed content and go unencrypted, so they stay out)."""
    hidden = 0

    def keep(element: str, attribute: str, value: str) -> str | None:
        nonlocal hidden
        if element != "img" or attribute != "src":
            return value
        if remote_images and value.lower().startswith("https://"):
            return value
        hidden += 1
        return None

    # Same arguments as when it was stored, so nothing else changes.
    cleaned = nh3.clean(html, link_rel="noopener noreferrer nofollow", attribute_filter=keep)
    return EmailHtml(html=cleaned, hidden_images=0 if remote_images else hidden)


def remote_images_requested(request: HttpRequest, *, message_id: int) -> bool:
    return request.GET.get(REMOTE_IMAGES_PARAM) == str(message_id)


def remote_images_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """On a view that shows emails: when the request asks for a message's remote images,
    its response's CSP allows https: images (django-csp's per-response update)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if request.GET.get(REMOTE_IMAGES_PARAM):
            response._csp_update = {"img-src": ["https:"]}  # type: ignore[attr-defined]
        return response

    return wrapped
