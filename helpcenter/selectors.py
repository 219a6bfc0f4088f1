"""Reads: sections, published articles, search and the content team's report."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, F, FloatField, Q, QuerySet, Sum
from django.db.models.functions import Cast
from django.http import Http404

from helpcenter import ranking
from helpcenter.choices import ArticleKind, ArticleStatus, DeflectionSource
from helpcenter.models import Article, Deflection, SearchGap, Section
from helpcenter.ranking import plan_query
from helpcenter.rendering import QuestionAnswer, faq_pairs, render_markdown
from helpcenter.search import backend
from helpcenter.search.query import normalise_query
from helpcenter.search.vocabulary import completions
from policy.loader import get_policy
from policy.schema import SupportPolicy


def published_articles(*, locale: str) -> QuerySet[Article]:
    return Article.objects.filter(status=ArticleStatus.PUBLISHED, locale=locale)


def section_list(*, locale: str) -> QuerySet[Section]:
    """Sections that have something to read, with their published article counts."""
    return (
        Section.objects.filter(locale=locale)
        .annotate(
            published_count=Count(
                "articles",
                filter=Q(articles__status=ArticleStatus.PUBLISHED),
            )
        )
        .filter(published_count__gt=0)
    )


def popular_articles(*, locale: str, limit: int = 6) -> list[Article]:
    return list(
        published_articles(locale=locale)
        .select_related("section")
        .order_by("-view_count", "position", "title")[:limit]
    )


def section_get(*, slug: str, locale: str) -> Section:
    section = Section.objects.filter(slug=slug, locale=locale).first()
    if section is None:
        raise Http404("No such Help Center section.")
    return section


def section_articles(*, section: Section) -> QuerySet[Article]:
    return section.articles.filter(status=ArticleStatus.PUBLISHED).select_related("section")


def article_get_published(*, slug: str, locale: str) -> Article:
    """A published article by slug (any section: the view redirects to the right one)."""
    article = published_articles(locale=locale).select_related("section").filter(slug=slug).first()
    if article is None:
        raise Http404("No such article, or it is not published.")
    return article


def article_related(*, article: Article) -> list[Article]:
    return list(
        article.related.filter(status=ArticleStatus.PUBLISHED, locale=article.locale)
        .select_related("section")
        .order_by("position", "title")
    )


@dataclass(frozen=True)
class RenderedArticle:
    html: str
    faq: list[QuestionAnswer]


def _policy_fingerprint(policy: SupportPolicy) -> str:
    # Keyed by id, holding the object so the id cannot be reused by a later policy.
    entry = _fingerprints.get(id(policy))
    if entry is None or entry[0] is not policy:
        entry = (policy, hashlib.sha256(policy.model_dump_json().encode()).hexdigest()[:16])
        _fingerprints[id(policy)] = entry
    return entry[1]


_fingerprints: dict[int, tuple[SupportPolicy, str]] = {}


def article_render(*, article: Article) -> RenderedArticle:
    """The article's HTML and FAQ pairs, cached until the article or the policy changes."""
    policy = get_policy()
    key = (
        f"helpcenter:render:{article.pk}:{article.updated_at.timestamp()}:"
        f"{_policy_fingerprint(policy)}"
    )
    cached = cache.get(key)
    if cached is not None:
        return cached
    faq = faq_pairs(article.body, policy=policy) if article.kind == ArticleKind.FAQ else []
    rendered = RenderedArticle(html=render_markdown(article.body, policy=policy), faq=faq)
    cache.set(key, rendered, timeout=24 * 3600)
    return rendered


# --- Search


@dataclass(frozen=True)
class SearchHit:
    article: Article
    title_html: str
    snippet_html: str


@dataclass(frozen=True)
class SearchResults:
    query: str
    hits: list[SearchHit]
    # Set when nothing matched as typed and a spelling correction found something.
    corrected_query: str | None = None
    has_next: bool = False

    @property
    def empty(self) -> bool:
        return not self.hits


# Articles the engine hands over for ranking; more costs time, fewer loses good answers
# that only the synonyms or the title weights bring up.
SEARCH_CANDIDATES = 40


def _completions(plan: ranking.QueryPlan, locale: str) -> list[str] | None:
    return completions(plan.prefix, locale=locale) if plan.prefix else None


def search_articles(
    *, query: str | None, locale: str, limit: int = 10, offset: int = 0
) -> SearchResults:
    """Published articles answering ``query``, best first (see helpcenter.ranking).

    The same for the search page, the suggestions under the search box, the contact form
    and the chat widget.
    """
    text = normalise_query(query)
    plan = plan_query(text, locale=locale)
    if plan.empty:
        return SearchResults(query=text, hits=[])
    engine = backend()
    wanted = max(SEARCH_CANDIDATES, offset + limit + 1)
    groups, terms, prefix = plan.engine_query(_completions(plan, locale))
    found = engine.candidates(groups, terms, locale=locale, prefix=prefix, limit=wanted)
    if not found and plan.prefix_last:
        # A whole word the stemmer shortens ("escalat" is indexed as "escal") is no prefix
        # of anything: read it as a finished word, which the correction may then fix.
        plan = plan_query(text, locale=locale, typing=False)
        groups, terms, prefix = plan.groups, plan.engine_terms, None
        found = engine.candidates(groups, terms, locale=locale, prefix=None, limit=wanted)
    # The engine's candidates are published articles of the locale, with their counters.
    ranked = ranking.rank(
        plan,
        [
            ranking.Candidate(
                hit.article_id,
                hit.title,
                hit.summary,
                hit.view_count,
                hit.helpful_yes,
                hit.helpful_no,
                hit.position,
            )
            for hit in found
        ],
    )
    page_ids = ranked[offset : offset + limit]
    marked = engine.highlight(page_ids, terms, locale=locale, prefix=prefix)
    # Published and of the locale: the engine's join said so in this search already.
    articles = Article.objects.select_related("section").in_bulk(page_ids)
    hits = [
        SearchHit(
            articles[article_id], marked[article_id].title_html, marked[article_id].snippet_html
        )
        for article_id in page_ids
        if article_id in articles and article_id in marked
    ]
    corrected = plan.corrected if hits else None
    return SearchResults(
        query=text, hits=hits, corrected_query=corrected, has_next=len(ranked) > offset + limit
    )


# --- Report for the content team


def report_most_viewed(*, limit: int = 10) -> QuerySet[Article]:
    return (
        Article.objects.filter(view_count__gt=0)
        .select_related("section")
        .order_by("-view_count", "title")[:limit]
    )


def report_least_helpful(*, limit: int = 10, min_votes: int = 1) -> QuerySet[Article]:
    """Articles by share of "no" answers, worst first (most votes first among equals)."""
    return (
        Article.objects.annotate(votes=F("helpful_yes") + F("helpful_no"))
        .filter(votes__gte=min_votes)
        .annotate(
            unhelpful_share=Cast(F("helpful_no"), FloatField()) / Cast(F("votes"), FloatField())
        )
        .select_related("section")
        .order_by("-unhelpful_share", "-votes", "title")[:limit]
    )


def report_top_search_gaps(*, limit: int = 20) -> QuerySet[SearchGap]:
    return SearchGap.objects.order_by("-count", "-last_seen_at")[:limit]


def report_deflections(*, limit: int = 10) -> dict:
    """Requests avoided: total, by source and by article."""
    by_source = list(
        Deflection.objects.values("source").annotate(count=Count("id")).order_by("-count")
    )
    by_article = list(
        Deflection.objects.values("article__title", "article__slug")
        .annotate(count=Count("id"))
        .order_by("-count", "article__title")[:limit]
    )
    for row in by_source:
        row["label"] = DeflectionSource(row["source"]).label
    total = sum(row["count"] for row in by_source)
    return {"total": total, "by_source": by_source, "by_article": by_article}


def report_views_total() -> int:
    return Article.objects.aggregate(total=Sum("view_count"))["total"] or 0
