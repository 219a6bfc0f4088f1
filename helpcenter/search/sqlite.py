"""SQLite FTS5: porter stemming, bm25 ranking (title counts most), snippet()/highlight()."""

# The only string formatting in this module's SQL is the TABLE constant; every value is a
# query parameter.
# ruff: noqa: S608

from __future__ import annotations

from django.db import connection

from helpcenter.search.base import MARK_END, MARK_START, IndexedArticle, RawHit, marks_to_html

TABLE = "helpcenter_article_fts"
CREATE_SQL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5("
    "title, summary, body, locale UNINDEXED, "
    "tokenize = 'porter unicode61 remove_diacritics 2')"
)
DROP_SQL = f"DROP TABLE IF EXISTS {TABLE}"


def _fts_query(terms: list[str], *, prefix_last: bool, any_term: bool) -> str:
    # Every term is letters/digits only (query_terms); quoting makes words like "near",
    # "and" or "not" plain words instead of FTS5 operators.
    quoted = [f'"{term}"' for term in terms]
    if prefix_last:
        quoted[-1] += "*"
    return (" OR " if any_term else " ").join(quoted)


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

    def match(
        self,
        terms: list[str],
        *,
        locale: str,
        prefix_last: bool,
        any_term: bool,
        limit: int,
        offset: int,
    ) -> list[RawHit]:
        sql = (
            f"SELECT rowid, highlight({TABLE}, 0, %s, %s), "
            f"snippet({TABLE}, 2, %s, %s, '…', 24) "
            f"FROM {TABLE} WHERE {TABLE} MATCH %s AND locale = %s "
            f"ORDER BY bm25({TABLE}, 10.0, 4.0, 1.0) LIMIT %s OFFSET %s"
        )
        params: list[str | int] = [
            MARK_START,
            MARK_END,
            MARK_START,
            MARK_END,
            _fts_query(terms, prefix_last=prefix_last, any_term=any_term),
            locale,
            limit,
            offset,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [RawHit(row[0], marks_to_html(row[1]), marks_to_html(row[2])) for row in rows]
