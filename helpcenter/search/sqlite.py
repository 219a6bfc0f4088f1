"""SQLite FTS5: porter stemming, bm25 ranking, snippet()/highlight() for the page of hits.

Ranking every match costs time in proportion to the matches (about 5 ms for 5,000 of
them), so candidates come in tiers: articles whose title or summary hold a word of every
group, ranked by bm25 over all of them (few hold them all), then those holding any word in
title or summary, then body matches, each of these two ranked among the first
``BODY_TIER_WINDOW`` matches in index order. The first two read ``HEAD_TABLE`` (titles and
summaries only), the third the full table. helpcenter.ranking orders the candidates.
"""

# The only string formatting in this module's SQL is table names, the window (an int) and
# placeholders; every value is a query parameter.
# ruff: noqa: S608

from __future__ import annotations

from django.db import connection
from django.db.backends.utils import CursorWrapper

from helpcenter.choices import ArticleStatus
from helpcenter.models import Article
from helpcenter.search.base import (
    MARK_END,
    MARK_START,
    EngineHit,
    IndexedArticle,
    RawHit,
    marks_to_html,
)

TABLE = "helpcenter_article_fts"
CREATE_SQL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5("
    "title, summary, body, locale UNINDEXED, "
    # Prefix indexes make half-typed words ("re", "ref") as cheap as whole ones.
    "tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3')"
)
DROP_SQL = f"DROP TABLE IF EXISTS {TABLE}"
# Titles and summaries alone, for the first two tiers: a column filter on TABLE would read
# every posting of a word, body included (migration 0004).
HEAD_TABLE = "helpcenter_article_head_fts"
HEAD_CREATE_SQL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {HEAD_TABLE} USING fts5("
    "title, summary, locale UNINDEXED, "
    "tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3')"
)
HEAD_DROP_SQL = f"DROP TABLE IF EXISTS {HEAD_TABLE}"
BODY_TIER_WINDOW = 250
_ARTICLES = Article._meta.db_table
# Same column weights in both tables.
_BM25 = {TABLE: f"bm25({TABLE}, 10.0, 4.0, 1.0)", HEAD_TABLE: f"bm25({HEAD_TABLE}, 10.0, 4.0)"}


def _fts_term(term: str, prefix: str | None) -> str:
    # Every term is letters/digits only (query_terms); quoting makes words like "near",
    # "and" or "not" plain words instead of FTS5 operators.
    return f'"{term}"*' if term == prefix else f'"{term}"'


def _fts_any(terms: list[str], prefix: str | None) -> str:
    return " OR ".join(_fts_term(term, prefix) for term in terms)


def _fts_all(groups: list[list[str]], prefix: str | None) -> str:
    return " AND ".join(f"({_fts_any(group, prefix)})" for group in groups)


def _ranked(
    cursor: CursorWrapper,
    table: str,
    query: str,
    locale: str,
    *,
    window: int | None,
    wanted: int,
) -> list[EngineHit]:
    """The best ``wanted`` matches of ``query`` in ``table`` (among the first ``window``
    in index order, if given) with the article's words and counters.

    The locale column is not indexed: testing it on every match reads each match's stored
    text (2-3x the cost of ranking 600 title matches). So the matches are ranked without
    it and the articles' rows say which are of ``locale``; only when another locale's
    articles are among the best is the query run again with the test. (Otherwise a
    window may have counted other languages' matches that did not make the best: on a
    site with several languages, slightly fewer of this one's matches are ranked.)
    """
    for in_locale in ("", "AND locale = %s "):
        inner = f"SELECT rowid AS id, {_BM25[table]} AS score FROM {table} WHERE {table} MATCH %s "
        inner += in_locale
        if window is not None:
            inner = f"SELECT id, score FROM ({inner}LIMIT {int(window)}) "
        cursor.execute(
            f"SELECT a.id, a.title, a.summary, a.view_count, a.helpful_yes, a.helpful_no, "
            f"a.position, a.locale FROM ({inner}ORDER BY score LIMIT %s) f "
            f"JOIN {_ARTICLES} a ON a.id = f.id WHERE a.status = %s ORDER BY f.score, f.id",
            [query, locale, wanted, ArticleStatus.PUBLISHED]
            if in_locale
            else [query, wanted, ArticleStatus.PUBLISHED],
        )
        rows = cursor.fetchall()
        if all(row[7] == locale for row in rows):
            break
    return [EngineHit(*row[:7]) for row in rows if row[7] == locale]


class SqliteFts5Backend:
    def index(self, document: IndexedArticle) -> None:
        self.remove(document.article_id)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TABLE} (rowid, title, summary, body, locale) "
                "VALUES (%s, %s, %s, %s, %s)",
                [
                    document.article_id,
                    document.title,
                    document.summary,
                    document.body_text,
                    document.locale,
                ],
            )
            cursor.execute(
                f"INSERT INTO {HEAD_TABLE} (rowid, title, summary, locale) VALUES (%s, %s, %s, %s)",
                [document.article_id, document.title, document.summary, document.locale],
            )

    def remove(self, article_id: int) -> None:
        with connection.cursor() as cursor:
            for table in (TABLE, HEAD_TABLE):
                cursor.execute(f"DELETE FROM {table} WHERE rowid = %s", [article_id])

    def clear(self) -> None:
        with connection.cursor() as cursor:
            for table in (TABLE, HEAD_TABLE):
                cursor.execute(f"DELETE FROM {table}")

    def candidates(
        self,
        groups: list[list[str]],
        terms: list[str],
        *,
        locale: str,
        prefix: str | None,
        limit: int,
    ) -> list[EngineHit]:
        any_term = _fts_any(terms, prefix)
        tiers = [
            (HEAD_TABLE, _fts_all(groups, prefix), None),
            (HEAD_TABLE, any_term, BODY_TIER_WINDOW),
            (TABLE, any_term, BODY_TIER_WINDOW),
        ]
        hits: list[EngineHit] = []
        with connection.cursor() as cursor:
            for table, query, window in tiers:
                if len(hits) >= limit:
                    break
                seen = {hit.article_id for hit in hits}
                # Tier 2 repeats tier 1's articles, tier 3 both: ask for as many more.
                rows = _ranked(
                    cursor, table, query, locale, window=window, wanted=limit + len(hits)
                )
                hits += [hit for hit in rows if hit.article_id not in seen]
        return hits[:limit]

    def highlight(
        self, article_ids: list[int], terms: list[str], *, locale: str, prefix: str | None
    ) -> dict[int, RawHit]:
        if not article_ids:
            return {}
        # The page's rows by rowid in one statement: FTS5 seeks each of them, so snippets
        # cost the page, not the matches.
        placeholders = ", ".join(["%s"] * len(article_ids))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT rowid, highlight({TABLE}, 0, %s, %s), "
                f"snippet({TABLE}, 2, %s, %s, '…', 24) "
                f"FROM {TABLE} WHERE {TABLE} MATCH %s AND rowid IN ({placeholders})",
                [MARK_START, MARK_END, MARK_START, MARK_END, _fts_any(terms, prefix), *article_ids],
            )
            rows = cursor.fetchall()
        return {
            row[0]: RawHit(row[0], marks_to_html(row[1]), marks_to_html(row[2])) for row in rows
        }
