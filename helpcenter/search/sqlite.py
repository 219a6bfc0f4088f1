"""SQLite FTS5: porter stemming, bm25 ranking, snippet()/highlight() for the page of hits.

Ranking every match costs time in proportion to the matches (about 5 ms for 5,000 of
them), so candidates come in tiers: articles whose title or summary hold a word of every
group, ranked by bm25 over all of them (few hold them all), then those holding any word in
title or summary, then body matches, each of these two ranked among the first
``BODY_TIER_WINDOW`` matches in index order. helpcenter.ranking orders the candidates.
"""

# The only string formatting in this module's SQL is the TABLE constant; every value is a
# query parameter.
# ruff: noqa: S608

from __future__ import annotations

from django.db import connection

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
BODY_TIER_WINDOW = 250
_BM25 = f"bm25({TABLE}, 10.0, 4.0, 1.0)"


def _fts_term(term: str, prefix: str | None) -> str:
    # Every term is letters/digits only (query_terms); quoting makes words like "near",
    # "and" or "not" plain words instead of FTS5 operators.
    return f'"{term}"*' if term == prefix else f'"{term}"'


def _fts_any(terms: list[str], prefix: str | None) -> str:
    return " OR ".join(_fts_term(term, prefix) for term in terms)


def _fts_all(groups: list[list[str]], prefix: str | None) -> str:
    return " AND ".join(f"({_fts_any(group, prefix)})" for group in groups)


class SqliteFts5Backend:
    def index(self, document: IndexedArticle) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE rowid = %s", [document.article_id])
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

    def remove(self, article_id: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE rowid = %s", [article_id])

    def clear(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE}")

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
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT rowid, title, summary FROM {TABLE} WHERE {TABLE} MATCH %s "
                f"AND locale = %s ORDER BY {_BM25} LIMIT %s",
                [f"{{title summary}} : ({_fts_all(groups, prefix)})", locale, limit],
            )
            rows = cursor.fetchall()
            for query in (f"{{title summary}} : ({any_term})", any_term):
                if len(rows) >= limit:
                    break
                cursor.execute(
                    f"SELECT rowid, title, summary FROM (SELECT rowid, title, summary, "
                    f"{_BM25} AS score FROM {TABLE} WHERE {TABLE} MATCH %s AND locale = %s "
                    "LIMIT %s) ORDER BY score LIMIT %s",
                    [query, locale, BODY_TIER_WINDOW, limit + len(rows)],
                )
                seen = {row[0] for row in rows}
                rows += [row for row in cursor.fetchall() if row[0] not in seen]
        return [EngineHit(row[0], row[1], row[2]) for row in rows[:limit]]

    def highlight(
        self, article_ids: list[int], terms: list[str], *, locale: str, prefix: str | None
    ) -> dict[int, RawHit]:
        query = _fts_any(terms, prefix)
        hits = {}
        with connection.cursor() as cursor:
            for article_id in article_ids:
                # One row by rowid: FTS5 seeks it, so snippets cost the page, not the matches.
                cursor.execute(
                    f"SELECT highlight({TABLE}, 0, %s, %s), "
                    f"snippet({TABLE}, 2, %s, %s, '…', 24) "
                    f"FROM {TABLE} WHERE {TABLE} MATCH %s AND rowid = %s",
                    [MARK_START, MARK_END, MARK_START, MARK_END, query, article_id],
                )
                row = cursor.fetchone()
                if row is not None:
                    hits[article_id] = RawHit(
                        article_id, marks_to_html(row[0]), marks_to_html(row[1])
                    )
        return hits
