"""Writes: saving and publishing articles (with revisions and the search index), feedback,
deflections, views and zero-result searches."""

from __future__ import annotations

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from helpcenter.choices import ArticleStatus, DeflectionSource
from helpcenter.models import (
    Article,
    ArticleFeedback,
    ArticleRevision,
    Deflection,
    SearchGap,
    SearchTerm,
)
from helpcenter.placeholders import unknown_placeholders
from helpcenter.rendering import markdown_to_text
from helpcenter.search import IndexedArticle, backend
from helpcenter.search.query import normalise_query
from helpcenter.search.vocabulary import vocabulary_add, vocabulary_forget
from policy.loader import get_policy

MAX_COMMENT_CHARS = 2000
# Anonymous counters (feedback, "this answered my question") per client address and window:
# enough for a real reader, too few to skew the report by scripting.
COUNTER_POSTS_PER_WINDOW = 30
COUNTER_WINDOW_SECONDS = 600


def counter_post_allowed(*, client: str) -> bool:
    """Count one anonymous counter post from ``client``; False once over the limit."""
    key = f"helpcenter:posts:{client}"
    cache.add(key, 0, timeout=COUNTER_WINDOW_SECONDS)
    try:
        posts = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=COUNTER_WINDOW_SECONDS)
        posts = 1
    return posts <= COUNTER_POSTS_PER_WINDOW


def article_validate(*, article: Article) -> None:
    """Model validation plus the Help Center's own rules; raises ``ValidationError``."""
    article.full_clean(exclude=["updated_at"], validate_unique=True)
    unknown = unknown_placeholders(article.body, get_policy())
    if unknown:
        raise ValidationError(
            {"body": f"Unknown policy placeholder(s): {', '.join(unknown)}."}, code="placeholder"
        )
    if article.section.locale != article.locale:
        raise ValidationError({"section": "The section is in another language."})


def article_index_sync(*, article: Article) -> None:
    """Published articles are in the search index with their current text; others are not."""
    engine = backend()
    if not article.is_published:
        engine.remove(article.pk)
        return
    body_text = markdown_to_text(article.body, policy=get_policy())
    engine.index(
        IndexedArticle(
            article_id=article.pk,
            locale=article.locale,
            title=article.title,
            summary=article.summary,
            body_text=body_text,
        )
    )
    vocabulary_add(locale=article.locale, text=f"{article.title} {article.summary} {body_text}")


def _revision_differs(article: Article, latest: ArticleRevision | None) -> bool:
    if latest is None:
        return True
    return (latest.title, latest.summary, latest.body, latest.status) != (
        article.title,
        article.summary,
        article.body,
        article.status,
    )


@transaction.atomic
def article_save(*, article: Article, author: User | None = None, note: str = "") -> Article:
    """Validate and save an article; a changed text or status becomes a new revision."""
    if not article.updated_at:
        article.updated_at = timezone.now()
    article_validate(article=article)
    latest = article.revisions.first() if article.pk else None
    changed = _revision_differs(article, latest)
    if changed:
        article.updated_at = timezone.now()
    if article.is_published and article.published_at is None:
        article.published_at = article.updated_at
    article.save()
    if changed:
        ArticleRevision.objects.create(
            article=article,
            number=(latest.number + 1) if latest else 1,
            title=article.title,
            summary=article.summary,
            body=article.body,
            status=article.status,
            author=author,
            note=note[:200],
        )
    article_index_sync(article=article)
    return article


def article_publish(*, article: Article, actor: User | None) -> Article:
    article.status = ArticleStatus.PUBLISHED
    return article_save(article=article, author=actor, note="published")


def article_unpublish(*, article: Article, actor: User | None) -> Article:
    article.status = ArticleStatus.DRAFT
    return article_save(article=article, author=actor, note="unpublished")


@transaction.atomic
def article_delete(*, article: Article) -> None:
    backend().remove(article.pk)
    article.delete()


@transaction.atomic
def search_index_rebuild() -> int:
    """Re-index every published article (after a policy change, or a restored database)."""
    backend().clear()
    SearchTerm.objects.all().delete()
    vocabulary_forget()
    count = 0
    for article in Article.objects.filter(status=ArticleStatus.PUBLISHED).iterator():
        article_index_sync(article=article)
        count += 1
    return count


def article_view_record(*, article: Article) -> None:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # A view count lost in a crash does no harm; not waiting for the WAL flush
            # keeps this write off the page's response time.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)


@transaction.atomic
def feedback_record(*, article: Article, helpful: bool, comment: str = "") -> ArticleFeedback:
    feedback = ArticleFeedback.objects.create(
        article=article, helpful=helpful, comment=comment.strip()[:MAX_COMMENT_CHARS]
    )
    counter = "helpful_yes" if helpful else "helpful_no"
    Article.objects.filter(pk=article.pk).update(**{counter: F(counter) + 1})
    return feedback


def deflection_record(
    *, article: Article, source: DeflectionSource | str, query: str = "", user: User | None = None
) -> Deflection:
    return Deflection.objects.create(
        article=article,
        source=DeflectionSource(source),
        query=normalise_query(query),
        user=user if user is not None and user.is_authenticated else None,
    )


def search_gap_record(*, query: str, locale: str) -> SearchGap | None:
    """Count a search that found nothing, once per normalised (lower-cased) query."""
    text = normalise_query(query).lower()
    if not text:
        return None
    now = timezone.now()
    updated = SearchGap.objects.filter(locale=locale, query=text).update(
        count=F("count") + 1, last_seen_at=now
    )
    if not updated:
        try:
            with transaction.atomic():
                return SearchGap.objects.create(locale=locale, query=text, last_seen_at=now)
        except IntegrityError:  # another request recorded the same query first
            SearchGap.objects.filter(locale=locale, query=text).update(
                count=F("count") + 1, last_seen_at=now
            )
    return SearchGap.objects.get(locale=locale, query=text)
