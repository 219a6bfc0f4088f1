"""Starter content: ``helpcenter/content/sections.yaml`` and one Markdown file per article
(``content/<section>/<slug>.md`` with YAML front matter), loaded idempotently.

Loading twice changes nothing. A file that changed updates its article (a new revision).
An article edited in the admin since it was loaded is left alone unless ``force``, so a
redeploy never silently overwrites the content team's work.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from django.db import transaction

from core.yaml_text import load_yaml
from helpcenter import services
from helpcenter.choices import ArticleKind, ArticleStatus
from helpcenter.models import RESERVED_SECTION_SLUGS, Article, Section
from helpcenter.placeholders import unknown_placeholders
from policy.loader import get_policy

CONTENT_DIR = Path(__file__).resolve().parent / "content"
_REQUIRED = ("title", "summary", "kind")


class ContentError(Exception):
    def __init__(self, path: Path | str, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Edited in the admin since loaded; kept as the team left them.
    kept: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ArticleSource:
    path: Path
    section_slug: str
    slug: str
    locale: str
    kind: str
    status: str
    title: str
    summary: str
    body: str
    position: int
    related: list[str]


def _fingerprint(*, section_slug: str, kind: str, status: str, title: str, summary: str,
                 body: str, position: int) -> str:  # fmt: skip
    payload = json.dumps([section_slug, kind, status, title, summary, body.strip(), position])
    return hashlib.sha256(payload.encode()).hexdigest()


def _article_fingerprint(article: Article) -> str:
    return _fingerprint(
        section_slug=article.section.slug,
        kind=article.kind,
        status=article.status,
        title=article.title,
        summary=article.summary,
        body=article.body,
        position=article.position,
    )


def _source_fingerprint(source: ArticleSource) -> str:
    return _fingerprint(
        section_slug=source.section_slug,
        kind=source.kind,
        status=source.status,
        title=source.title,
        summary=source.summary,
        body=source.body,
        position=source.position,
    )


def read_sections(directory: Path) -> list[dict[str, Any]]:
    path = directory / "sections.yaml"
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError(path, f"cannot read the sections: {exc}") from exc
    if not isinstance(data, list):
        raise ContentError(path, "must be a list of sections")
    policy = get_policy()
    sections = []
    for index, entry in enumerate(data):
        if not isinstance(entry, dict) or "slug" not in entry:
            raise ContentError(path, f"section {index} needs at least a slug")
        slug = str(entry["slug"])
        if slug in RESERVED_SECTION_SLUGS:
            raise ContentError(path, f"section slug {slug!r} is reserved for a Help Center page")
        category_key = entry.get("policy_category") or ""
        name, description = entry.get("name"), entry.get("description")
        if category_key:
            # Policy sections take their name and description from the policy itself.
            try:
                category = policy.category(category_key)
            except KeyError:
                raise ContentError(path, f"unknown policy category {category_key!r}") from None
            name = name or category.name
            description = description or f"{category.description} {', '.join(category.examples)}."
        if not name:
            raise ContentError(path, f"section {slug!r} needs a name")
        sections.append(
            {
                "slug": slug,
                "locale": entry.get("locale", "en"),
                "name": name,
                "description": description or "",
                "policy_category": category_key,
                "position": (index + 1) * 10,
            }
        )
    return sections


def read_article(path: Path, *, section_slug: str) -> ArticleSource:
    try:
        post = frontmatter.load(str(path))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ContentError(path, f"cannot read the article: {exc}") from exc
    meta = post.metadata
    missing = [name for name in _REQUIRED if not meta.get(name)]
    if missing:
        raise ContentError(path, f"front matter is missing {', '.join(missing)}")
    if meta["kind"] not in ArticleKind.values:
        raise ContentError(path, f"kind must be one of {', '.join(ArticleKind.values)}")
    status = meta.get("status", ArticleStatus.PUBLISHED)
    if status not in ArticleStatus.values:
        raise ContentError(path, f"status must be one of {', '.join(ArticleStatus.values)}")
    unknown = unknown_placeholders(post.content, get_policy())
    if unknown:
        raise ContentError(path, f"unknown policy placeholder(s): {', '.join(unknown)}")
    related = meta.get("related") or []
    if not isinstance(related, list):
        raise ContentError(path, "related must be a list of article slugs")
    return ArticleSource(
        path=path,
        section_slug=section_slug,
        slug=str(meta.get("slug") or path.stem),
        locale=str(meta.get("locale", "en")),
        kind=str(meta["kind"]),
        status=str(status),
        title=str(meta["title"]),
        summary=str(meta["summary"]),
        body=post.content.strip() + "\n",
        position=int(str(meta.get("position", 100))),
        related=[str(slug) for slug in related],
    )


def read_articles(directory: Path, section_slugs: list[str]) -> list[ArticleSource]:
    sources = []
    for slug in section_slugs:
        for path in sorted((directory / slug).glob("*.md")):
            sources.append(read_article(path, section_slug=slug))
    seen: dict[tuple[str, str], Path] = {}
    for source in sources:
        key = (source.locale, source.slug)
        if key in seen:
            raise ContentError(source.path, f"slug {source.slug!r} is also used by {seen[key]}")
        seen[key] = source.path
    known = {source.slug for source in sources}
    for source in sources:
        for slug in source.related:
            if slug not in known:
                raise ContentError(source.path, f"related article {slug!r} does not exist")
    return sources


@transaction.atomic
def content_load(*, directory: Path = CONTENT_DIR, force: bool = False) -> LoadReport:
    """Create or update sections and articles from the content files (idempotent)."""
    section_rows = read_sections(directory)
    sources = read_articles(directory, [row["slug"] for row in section_rows])
    sections: dict[tuple[str, str], Section] = {}
    for row in section_rows:
        section, _ = Section.objects.update_or_create(
            locale=row["locale"],
            slug=row["slug"],
            defaults={
                key: row[key] for key in ("name", "description", "policy_category", "position")
            },
        )
        sections[(section.locale, section.slug)] = section
    report = LoadReport()
    articles: dict[str, Article] = {}
    for source in sources:
        relative = str(source.path.relative_to(directory))
        article: Article | None = (
            Article.objects.select_related("section")
            .filter(locale=source.locale, slug=source.slug)
            .first()
        )
        wanted = _source_fingerprint(source)
        if article is not None:
            articles[source.slug] = article
            if article.source_hash == wanted:
                report.unchanged.append(relative)
                continue
            edited_here = article.source_hash and article.source_hash != _article_fingerprint(
                article
            )
            if edited_here and not force:
                report.kept.append(relative)
                continue
        target_section = sections.get((source.locale, source.section_slug))
        if target_section is None:
            raise ContentError(source.path, f"no section {source.section_slug!r} in that locale")
        created = article is None
        if article is None:
            article = Article(locale=source.locale, slug=source.slug)
        article.section = target_section
        article.kind = source.kind
        article.status = source.status
        article.title = source.title
        article.summary = source.summary
        article.body = source.body
        article.position = source.position
        article.source_path = relative
        article.source_hash = wanted
        services.article_save(article=article, note=f"loaded from {relative}")
        articles[source.slug] = article
        (report.created if created else report.updated).append(relative)
    for source in sources:
        article = articles[source.slug]
        if source.path.relative_to(directory).as_posix() in report.kept:
            continue
        wanted_related = [articles[slug] for slug in source.related]
        if {a.pk for a in article.related.all()} != {a.pk for a in wanted_related}:
            article.related.set(wanted_related)
    return report
