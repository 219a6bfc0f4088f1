"""The starter content loads idempotently, covers every policy category, and never types
a response time or the escalation window (they come from the policy)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from helpcenter.content import CONTENT_DIR, ContentError, content_load
from helpcenter.models import Article, ArticleRevision, Section
from policy.loader import get_policy

CONTENT_FILES = sorted(CONTENT_DIR.glob("*/*.md"))


def test_at_least_thirty_starter_articles():
    assert len(CONTENT_FILES) >= 30


@pytest.mark.parametrize("path", CONTENT_FILES, ids=lambda path: path.stem)
def test_no_article_types_a_response_time_or_hours(path: Path):
    text = path.read_text()
    typed = re.findall(
        r"\b\d+\s*(?:–|-|to)?\s*\d*\s*(?:minutes|hours|business days)\b|\b\d{1,2}:\d{2}\b",
        text,
    )
    assert typed == [], f"{path.name} types {typed}; use a {{{{ policy.* }}}} placeholder"


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    return target


@pytest.mark.django_db
def test_loading_twice_changes_nothing():
    first = content_load()
    revisions = ArticleRevision.objects.count()
    second = content_load()
    assert len(first.created) == len(CONTENT_FILES)
    assert second.created == [] and second.updated == []
    assert len(second.unchanged) == len(CONTENT_FILES)
    assert ArticleRevision.objects.count() == revisions == len(CONTENT_FILES)


@pytest.mark.django_db
def test_every_policy_category_has_a_section_with_articles():
    content_load()
    categories = {category.key for category in get_policy().categories}
    with_articles = set(
        Section.objects.exclude(policy_category="")
        .filter(articles__status="published")
        .values_list("policy_category", flat=True)
    )
    assert with_articles == categories
    for slug in ("getting-started", "your-account", "contacting-support", "code-of-conduct"):
        assert Article.objects.filter(section__slug=slug, status="published").exists(), slug


@pytest.mark.django_db
def test_related_articles_are_linked():
    content_load()
    start = Article.objects.get(slug="start-a-return")
    assert set(start.related.values_list("slug", flat=True)) == {
        "return-window",
        "what-can-be-returned",
        "packing-a-return",
        "check-refund-status",
    }


@pytest.mark.django_db
def test_a_changed_file_updates_its_article_with_a_new_revision(content_copy: Path):
    content_load(directory=content_copy)
    path = content_copy / "returns" / "return-window.md"
    path.write_text(path.read_text().replace("counted from the **delivery date**", "from delivery"))
    report = content_load(directory=content_copy)
    assert report.updated == ["returns/return-window.md"]
    article = Article.objects.get(slug="return-window")
    assert "from delivery" in article.body
    assert list(article.revisions.values_list("number", flat=True)) == [2, 1]


@pytest.mark.django_db
def test_an_article_edited_in_the_admin_is_kept_unless_forced(content_copy: Path):
    content_load(directory=content_copy)
    Article.objects.filter(slug="return-window").update(title="Edited by the content team")
    path = content_copy / "returns" / "return-window.md"
    path.write_text(path.read_text().replace("7 days you can", "seven days you can"))
    kept = content_load(directory=content_copy)
    assert kept.kept == ["returns/return-window.md"]
    assert Article.objects.get(slug="return-window").title == "Edited by the content team"
    forced = content_load(directory=content_copy, force=True)
    assert forced.updated == ["returns/return-window.md"]
    assert Article.objects.get(slug="return-window").title == "The 7-day return window"


@pytest.mark.django_db
def test_unknown_placeholder_in_a_file_is_refused_naming_the_file(content_copy: Path):
    path = content_copy / "payments" / "wallet-balance.md"
    path.write_text(path.read_text() + "\nWithin {{ policy.response.carrier_pigeon }}.\n")
    with pytest.raises(ContentError) as error:
        content_load(directory=content_copy)
    assert error.value.path.endswith("wallet-balance.md")
    assert "response.carrier_pigeon" in error.value.problem
    assert not Article.objects.exists()  # nothing half-loaded


@pytest.mark.django_db
def test_missing_front_matter_is_refused(content_copy: Path):
    (content_copy / "payments" / "broken.md").write_text("---\ntitle: x\n---\nbody\n")
    with pytest.raises(ContentError, match="missing summary, kind"):
        content_load(directory=content_copy)


@pytest.mark.django_db
def test_command_reports_counts(capsys):
    call_command("helpcenter", "load")
    call_command("helpcenter", "load")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{len(CONTENT_FILES)} created")
    assert (
        out[1]
        == f"0 created, 0 updated, {len(CONTENT_FILES)} unchanged, 0 kept (edited in the admin)"
    )


@pytest.mark.django_db
def test_demo_seed_loads_the_help_center():
    from core.demo import seed_demo

    seed_demo()
    assert Article.objects.filter(status="published").count() == len(CONTENT_FILES)
