"""Search behaves the same on SQLite (FTS5) and PostgreSQL (full text); run this module
with DATABASE_URL pointing at PostgreSQL for the second engine."""

from __future__ import annotations

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpcenter import services
from helpcenter.choices import ArticleStatus
from helpcenter.models import SearchTerm
from helpcenter.search.query import MAX_QUERY_CHARS, normalise_query
from helpcenter.selectors import search_articles
from helpcenter.tests.factories import make_article, make_section

pytestmark = pytest.mark.django_db


@pytest.fixture
def library():
    returns = make_section(slug="returns", name="Returns")
    payments = make_section(slug="payments", name="Payments")
    return {
        "refund": make_article(
            section=payments,
            slug="refund-timing",
            title="When will I get my refund?",
            summary="Refund timing by payment method.",
            body="Izonie issues refunds on behalf of sellers. Card refunds depend on your bank.",
        ),
        "return": make_article(
            section=returns,
            slug="start-a-return",
            title="How to start a return",
            summary="Within 7 days of delivery.",
            body="Open your orders and choose the item. Once received, we issue a refund.",
        ),
        "password": make_article(
            section=payments,
            slug="reset-password",
            title="Reset your password",
            summary="Forgot your password?",
            body="Choose Forgot password on the sign-in page.",
        ),
        "draft": make_article(
            section=returns,
            slug="draft-article",
            title="Secret refund draft",
            summary="Not yet published.",
            body="refund refund refund",
            status=ArticleStatus.DRAFT,
        ),
    }


def _slugs(query: str, **kwargs) -> list[str]:
    return [hit.article.slug for hit in search_articles(query=query, locale="en", **kwargs).hits]


def test_search_runs_on_the_engine_of_the_database():
    assert connection.vendor in {"sqlite", "postgresql"}


def test_a_title_match_ranks_above_a_body_match(library):
    assert _slugs("refund") == ["refund-timing", "start-a-return"]


def test_word_forms_match_through_stemming(library):
    assert _slugs("refunded")[0] == "refund-timing"
    assert _slugs("returning") == ["start-a-return"]


def test_a_half_typed_last_word_matches(library):
    assert _slugs("passw") == ["reset-password"]


def test_typos_are_corrected_to_words_the_articles_use(library):
    results = search_articles(query="pasword resett", locale="en")
    assert [hit.article.slug for hit in results.hits] == ["reset-password"]
    assert results.corrected_query == "password reset"


def test_drafts_are_never_found(library):
    assert "draft-article" not in _slugs("secret refund draft")


def test_unpublishing_removes_an_article_from_search(library):
    services.article_unpublish(article=library["password"], actor=None)
    assert _slugs("password") == []
    services.article_publish(article=library["password"], actor=None)
    assert _slugs("password") == ["reset-password"]


def test_matches_are_highlighted_and_article_text_is_escaped():
    make_article(
        slug="xss",
        title="Refund <script>alert(1)</script>",
        body="A refund with <b>bold</b> & <img src=x onerror=alert(1)> text.",
    )
    hit = search_articles(query="refund", locale="en").hits[0]
    assert "<mark>Refund</mark>" in hit.title_html
    assert "<script>" not in hit.title_html and "&lt;script&gt;" in hit.title_html
    assert "<mark>refund</mark>" in hit.snippet_html
    assert "<img" not in hit.snippet_html and "<b>" not in hit.snippet_html


@pytest.mark.parametrize(
    "query",
    ['"', '""refund', "refund*", "*", "NEAR(refund return)", "refund NEAR", "((refund", "refund)",
     "AND OR NOT", "title:refund", "refund & | !", "-refund", "^refund", "'", ":*", "\\"],
)  # fmt: skip
def test_query_syntax_typed_by_users_never_errors(library, query):
    results = search_articles(query=query, locale="en")
    if "refund" in query:
        assert results.hits, query


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=300))
def test_any_text_is_a_valid_query(library, query):
    search_articles(query=query, locale="en")


def test_a_ten_thousand_character_query_is_cut_at_a_word(library):
    query = "refund " * 1500  # 10,500 characters
    assert len(normalise_query(query)) <= MAX_QUERY_CHARS
    assert normalise_query(query).endswith("refund")
    assert _slugs(query)[0] == "refund-timing"


def test_paging_returns_the_next_hits(library):
    first = search_articles(query="refund", locale="en", limit=1)
    second = search_articles(query="refund", locale="en", limit=1, offset=1)
    assert first.has_next and not second.has_next
    assert [hit.article.slug for hit in first.hits + second.hits] == [
        "refund-timing",
        "start-a-return",
    ]


def test_nothing_found_is_an_empty_result(library):
    assert search_articles(query="zzzzqqq", locale="en").empty


def test_rebuild_restores_the_index(library):
    assert services.search_index_rebuild() == 3
    assert _slugs("refund") == ["refund-timing", "start-a-return"]


def test_a_search_reads_in_a_few_statements(library, django_assert_max_num_queries):
    search_articles(query="refund", locale="en")  # this process now holds the vocabulary
    # Candidates with their counters (up to three tiers), the page's snippets, its rows.
    with django_assert_max_num_queries(5):
        assert _slugs("refund") == ["refund-timing", "start-a-return"]
    with django_assert_max_num_queries(5):
        assert _slugs("passw") == ["reset-password"]


def test_words_another_process_added_are_not_corrected(library):
    search_articles(query="refund", locale="en")  # this process now holds the vocabulary
    # As another process publishing an article would: this process's copy is not told.
    SearchTerm.objects.create(locale="en", term="resell")
    results = search_articles(query="resell", locale="en")
    assert results.corrected_query is None  # not "reset"
