"""Help Center content: sections, articles and their revisions, feedback, search gaps."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from helpcenter.choices import ArticleKind, ArticleStatus, DeflectionSource

# Paths under /help/ that are pages of their own, so no section may take them as a slug.
RESERVED_SECTION_SLUGS = frozenset(
    {"search", "suggest", "api", "report", "articles", "images", "sitemap.xml", "feedback"}
)


class Section(models.Model):
    slug = models.SlugField(max_length=80)
    locale = models.CharField(max_length=12, default="en")
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    # The policy category this section answers questions about ("returns"); blank for
    # the general topics (getting started, your account, ...).
    policy_category = models.CharField(max_length=40, blank=True)
    position = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["locale", "slug"], name="helpcenter_section_slug")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("helpcenter:section", kwargs={"section_slug": self.slug})


class Article(models.Model):
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="articles")
    # Unique per locale (not per section) so related-article references in the content
    # files and the URL stay valid when an article moves to another section.
    slug = models.SlugField(max_length=120)
    locale = models.CharField(max_length=12, default="en")
    kind = models.CharField(max_length=10, choices=ArticleKind.choices, default=ArticleKind.FAQ)
    status = models.CharField(
        max_length=10, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT
    )
    title = models.CharField(max_length=200)
    # One or two sentences: the meta description and the line under the title in lists.
    summary = models.CharField(max_length=300)
    # Markdown with {{ policy.* }} placeholders, expanded when the page is rendered.
    body = models.TextField()
    related = models.ManyToManyField("self", symmetrical=False, blank=True)
    position = models.PositiveSmallIntegerField(default=100)
    published_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Counters kept on the row so the report and "popular articles" need no aggregation.
    view_count = models.PositiveIntegerField(default=0)
    helpful_yes = models.PositiveIntegerField(default=0)
    helpful_no = models.PositiveIntegerField(default=0)
    # Content-file bookkeeping: the file an article came from and the hash of what was
    # loaded, so a reload can tell an edit made in the admin from a stale row.
    source_path = models.CharField(max_length=200, blank=True)
    source_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["position", "title"]
        constraints = [
            models.UniqueConstraint(fields=["locale", "slug"], name="helpcenter_article_slug")
        ]
        indexes = [
            models.Index(fields=["status", "locale", "-view_count"], name="helpcenter_popular"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse(
            "helpcenter:article",
            kwargs={"section_slug": self.section.slug, "article_slug": self.slug},
        )

    @property
    def is_published(self) -> bool:
        return self.status == ArticleStatus.PUBLISHED

    @property
    def helpful_votes(self) -> int:
        return self.helpful_yes + self.helpful_no


class ArticleImage(models.Model):
    """A picture for an article (how-to steps), served at /help/images/<id> while the
    article is published. ImageField checks with Pillow that it really is an image, so an
    SVG (which can carry script) or a renamed HTML file is refused."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to="helpcenter/%Y/%m/", max_length=300)
    alt = models.CharField("description for screen readers", max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.alt

    def get_absolute_url(self) -> str:
        return reverse("helpcenter:image", kwargs={"image_id": self.pk})

    @property
    def markdown(self) -> str:
        return f"![{self.alt}]({self.get_absolute_url()})"


class ArticleRevision(models.Model):
    """What an article said after each save; the newest is the current text."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=300)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=ArticleStatus.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # "loaded from helpcenter/content/returns/start-a-return.md", "edited in the admin".
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="helpcenter_revision_number")
        ]

    def __str__(self) -> str:
        return f"{self.article} · revision {self.number}"


class ArticleFeedback(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.article}: {'yes' if self.helpful else 'no'}"


class SearchGap(models.Model):
    """A search that found nothing, counted per normalised query for the content team."""

    locale = models.CharField(max_length=12, default="en")
    query = models.CharField(max_length=200)
    count = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-count", "-last_seen_at"]
        constraints = [
            models.UniqueConstraint(fields=["locale", "query"], name="helpcenter_search_gap_query")
        ]

    def __str__(self) -> str:
        return f"{self.query} ({self.count})"


class Deflection(models.Model):
    """A customer said an article answered the question: a request that was not opened."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="deflections")
    source = models.CharField(max_length=20, choices=DeflectionSource.choices)
    # What the customer had typed when the suggestion was shown.
    query = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.article} via {self.source}"


class SearchTerm(models.Model):
    """Every word of the published articles, for the typo-tolerant fallback of search."""

    locale = models.CharField(max_length=12, default="en")
    term = models.CharField(max_length=60)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["locale", "term"], name="helpcenter_search_term")
        ]

    def __str__(self) -> str:
        return self.term
