from __future__ import annotations

import itertools

from helpcenter import services
from helpcenter.choices import ArticleKind, ArticleStatus
from helpcenter.models import Article, Section

_counter = itertools.count(1)


def make_section(*, slug: str | None = None, name: str = "Returns", **fields) -> Section:
    number = next(_counter)
    return Section.objects.create(slug=slug or f"section-{number}", name=name, **fields)


def make_article(
    *,
    section: Section | None = None,
    title: str = "How to start a return",
    body: str = "1. Open your orders.\n2. Choose the item.\n",
    summary: str = "Return an item within 7 days of delivery.",
    kind: str = ArticleKind.HOWTO,
    status: str = ArticleStatus.PUBLISHED,
    slug: str | None = None,
    **fields,
) -> Article:
    """An article saved through the service, so revisions and the search index follow."""
    article = Article(
        section=section or make_section(),
        slug=slug or f"article-{next(_counter)}",
        title=title,
        body=body,
        summary=summary,
        kind=kind,
        status=status,
        **fields,
    )
    return services.article_save(article=article)
