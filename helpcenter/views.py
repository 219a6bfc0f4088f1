"""Public Help Center pages (no sign-in), the suggestion and deflection endpoints the
contact form and the chat widget call, article feedback and the content team's report."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import filetype
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import http_date
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import current_user, supervisor_required
from core.http import problem_response
from helpcenter import selectors, services
from helpcenter.choices import ArticleKind, DeflectionSource
from helpcenter.forms import DeflectionForm, FeedbackForm
from helpcenter.models import Article, ArticleImage
from helpcenter.search.query import MAX_QUERY_CHARS

# Public pages are the same for every anonymous visitor, so shared caches may keep them
# for a few minutes; signed-in visitors see their name in the header, so theirs stay private.
PUBLIC_MAX_AGE = 300
ResponseT = TypeVar("ResponseT", bound=HttpResponseBase)
SUGGESTION_LIMIT = 5
SEARCH_PAGE_SIZE = 10


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))  # set by django-htmx's middleware


def _client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR as the ASGI server reports it; behind a proxy, configure the server to
    # pass the client's address (uvicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") or "unknown"


def _locale(request: HttpRequest) -> str:
    return settings.LANGUAGE_CODE


def _cacheable(request: HttpRequest, response: ResponseT) -> ResponseT:
    if request.user.is_authenticated:
        patch_cache_control(response, private=True, max_age=0)
    else:
        patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
    patch_vary_headers(response, ["Cookie", "HX-Request"])
    return response


def _json_ld(data: dict[str, Any]) -> SafeString:
    """JSON for a ``<script type="application/ld+json">``; ``<``, ``>`` and ``&`` escaped as
    Django's json_script does, so article text cannot close the script element."""
    text = json.dumps(data, ensure_ascii=False)
    for char, escape in (("<", "\\u003C"), (">", "\\u003E"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return mark_safe(text)


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 6 else 1


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    locale = _locale(request)
    response = render(
        request,
        "helpcenter/home.html",
        {
            "sections": selectors.section_list(locale=locale),
            "popular": selectors.popular_articles(locale=locale),
        },
    )
    return _cacheable(request, response)


def _not_found(request: HttpRequest, message: str) -> HttpResponse:
    """A Help Center page (search box, topics) instead of a bare "Not Found"."""
    return render(
        request,
        "helpcenter/not_found.html",
        {"message": message, "sections": selectors.section_list(locale=_locale(request))},
        status=404,
    )


@require_GET
def section(request: HttpRequest, section_slug: str) -> HttpResponse:
    try:
        found = selectors.section_get(slug=section_slug, locale=_locale(request))
    except Http404:
        return _not_found(request, "There is no Help Center topic at this address.")
    page = Paginator(selectors.section_articles(section=found), 20).get_page(_page_number(request))
    response = render(request, "helpcenter/section.html", {"section": found, "page": page})
    return _cacheable(request, response)


@require_GET
def article(request: HttpRequest, section_slug: str, article_slug: str) -> HttpResponse:
    try:
        found = selectors.article_get_published(slug=article_slug, locale=_locale(request))
    except Http404:
        return _not_found(
            request, "This article does not exist, or it has been taken down for an update."
        )
    if found.section.slug != section_slug:
        return redirect(found, permanent=True)  # the article moved to another section
    services.article_view_record(article=found)
    rendered = selectors.article_render(article=found)
    faq_data = None
    if found.kind == ArticleKind.FAQ and rendered.faq:
        faq_data = {
            "@context": "https://schema.org",
            "@type": "FAQPage",
            "mainEntity": [
                {
                    "@type": "Question",
                    "name": pair.question,
                    "acceptedAnswer": {"@type": "Answer", "text": pair.answer_html.strip()},
                }
                for pair in rendered.faq
            ],
        }
    response = render(
        request,
        "helpcenter/article.html",
        {
            "article": found,
            "body_html": rendered.html,
            "faq_json_ld": _json_ld(faq_data) if faq_data else None,
            "related": selectors.article_related(article=found),
            "feedback_form": FeedbackForm(),
            "canonical_url": request.build_absolute_uri(found.get_absolute_url()),
        },
    )
    response["Last-Modified"] = http_date(found.updated_at.timestamp())
    return _cacheable(request, response)


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    locale = _locale(request)
    page_number = _page_number(request)
    offset = (page_number - 1) * SEARCH_PAGE_SIZE
    results = selectors.search_articles(
        query=request.GET.get("q"), locale=locale, limit=SEARCH_PAGE_SIZE, offset=offset
    )
    if results.query and results.empty and page_number == 1:
        services.search_gap_record(query=results.query, locale=locale)
    context: dict[str, Any] = {
        "results": results,
        "page_number": page_number,
        "previous_page": page_number - 1 if page_number > 1 else None,
        "next_page": page_number + 1 if results.has_next else None,
        "sections": selectors.section_list(locale=locale) if results.empty else [],
    }
    template = "helpcenter/_results.html" if _is_htmx(request) else "helpcenter/search.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
def suggest(request: HttpRequest) -> HttpResponse:
    """Instant suggestions under the search box (htmx), as the visitor types."""
    results = selectors.search_articles(
        query=request.GET.get("q"), locale=_locale(request), limit=SUGGESTION_LIMIT
    )
    response = render(request, "helpcenter/_suggestions.html", {"results": results})
    return _cacheable(request, response)


@require_GET
def api_suggestions(request: HttpRequest) -> HttpResponse:
    """Articles matching what a customer is typing, for the contact form and the chat widget.

    JSON by default; the HTML fragment with "This answered my question" buttons when asked
    by htmx or with ``format=html``. The response shape is documented in
    docs/channels/help-center.md.
    """
    source = request.GET.get("source", DeflectionSource.CONTACT_FORM)
    if source not in DeflectionSource.values:
        return problem_response(
            400,
            "invalid_source",
            f"source must be one of: {', '.join(DeflectionSource.values)}.",
            {"source": "unknown source"},
        )
    raw_limit = request.GET.get("limit", str(SUGGESTION_LIMIT))
    limit = int(raw_limit) if raw_limit.isascii() and raw_limit.isdigit() else SUGGESTION_LIMIT
    limit = max(1, min(limit, 10))
    # The contact form posts its whole message as "body"; the widget sends "q".
    query = " ".join(
        request.GET.get(name, "")[:MAX_QUERY_CHARS] for name in ("q", "subject", "body")
    )
    results = selectors.search_articles(query=query, locale=_locale(request), limit=limit)
    if _is_htmx(request) or request.GET.get("format") == "html":
        return render(
            request, "helpcenter/_deflection.html", {"results": results, "source": source}
        )
    return JsonResponse(
        {
            "query": results.query,
            "corrected_query": results.corrected_query,
            "source": source,
            "results": [
                {
                    "id": hit.article.pk,
                    "title": hit.article.title,
                    "summary": hit.article.summary,
                    "url": request.build_absolute_uri(hit.article.get_absolute_url()),
                    "section": hit.article.section.name,
                    "kind": hit.article.kind,
                    "title_html": hit.title_html,
                    "snippet_html": hit.snippet_html,
                }
                for hit in results.hits
            ],
        }
    )


def _request_data(request: HttpRequest) -> dict[str, Any] | None:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None
    return request.POST.dict()


# Anonymous, idempotent-enough counters posted from cached pages and from other sites'
# widgets: there is no session to protect, and a cached page cannot carry a CSRF token.
@csrf_exempt
@require_POST
def api_deflection(request: HttpRequest) -> HttpResponse:
    """ "This answered my question": the customer did not need to open a request."""
    if not services.counter_post_allowed(client=_client_address(request)):
        return problem_response(
            429, "rate_limited", "Too many answers from this address; try later."
        )
    data = _request_data(request)
    if data is None:
        return problem_response(400, "invalid_json", "Send a JSON object or form fields.")
    form = DeflectionForm(data)
    if not form.is_valid():
        return problem_response(
            400,
            "invalid_input",
            "Some fields are missing or invalid.",
            {
                name: " ".join(str(error) for error in errors)
                for name, errors in form.errors.items()
            },
        )
    found = Article.objects.filter(pk=form.cleaned_data["article_id"], status="published").first()
    if found is None:
        return problem_response(404, "not_found", "No published article with that id.")
    deflection = services.deflection_record(
        article=found,
        source=form.cleaned_data["source"],
        query=form.cleaned_data["query"],
        user=current_user(request) if request.user.is_authenticated else None,
    )
    if _is_htmx(request):
        return render(request, "helpcenter/_deflected.html", {"article": found}, status=201)
    return JsonResponse({"recorded": True, "id": deflection.pk, "article_id": found.pk}, status=201)


@csrf_exempt
@require_POST
def article_feedback(request: HttpRequest, article_id: int) -> HttpResponse:
    found = get_object_or_404(Article, pk=article_id, status="published")
    if not services.counter_post_allowed(client=_client_address(request)):
        return HttpResponse("Too many answers from this address; try later.", status=429)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        if _is_htmx(request):
            return render(
                request,
                "helpcenter/_feedback.html",
                {"article": found, "feedback_form": form},
                status=400,
            )
        messages.error(request, "Please answer yes or no.")
        return redirect(found)
    services.feedback_record(
        article=found,
        helpful=form.cleaned_data["helpful"] == "yes",
        comment=form.cleaned_data["comment"],
    )
    if _is_htmx(request):
        return render(request, "helpcenter/_feedback.html", {"article": found, "thanked": True})
    messages.success(request, "Thank you for your feedback.")
    return redirect(found)


# Image types a browser renders as pictures and nothing else (no SVG).
_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


@require_GET
def image(request: HttpRequest, image_id: int) -> HttpResponseBase:
    """An article's picture, to everyone while the article is published (staff: always)."""
    item = get_object_or_404(ArticleImage.objects.select_related("article"), pk=image_id)
    if not item.article.is_published and not request.user.is_staff:
        return _not_found(request, "This picture belongs to an article that is not published.")
    kind = filetype.guess(item.image.path)
    if kind is None or kind.mime not in _IMAGE_TYPES:
        return _not_found(request, "This picture cannot be shown.")
    response = FileResponse(item.image.open("rb"), content_type=kind.mime)
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return _cacheable(request, response)


@supervisor_required
def report(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "helpcenter/report.html",
        {
            "most_viewed": selectors.report_most_viewed(),
            "least_helpful": selectors.report_least_helpful(),
            "gaps": selectors.report_top_search_gaps(),
            "deflections": selectors.report_deflections(),
            "views_total": selectors.report_views_total(),
        },
    )
