import datetime as dt

from django.contrib.sitemaps import Sitemap
from django.db.models import QuerySet

from helpcenter.choices import ArticleStatus
from helpcenter.models import Article, Section


class SectionSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.6

    def items(self) -> QuerySet[Section]:
        return Section.objects.filter(articles__status=ArticleStatus.PUBLISHED).distinct()


class ArticleSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.8

    def items(self) -> QuerySet[Article]:
        return Article.objects.filter(status=ArticleStatus.PUBLISHED).select_related("section")

    def lastmod(self, item: Article) -> dt.datetime:
        return item.updated_at


SITEMAPS = {"sections": SectionSitemap, "articles": ArticleSitemap}
