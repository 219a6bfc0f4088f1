"""PostgreSQL full-text search: weighted tsvector (title A, summary B, body D) in a GIN-indexed
table, ts_rank_cd ranking, ts_headline snippets for the page of hits only."""

# The only string formatting in this module's SQL is the TABLE constant; every value is a
# query parameter.
# ruff: noqa: S608

from __future__ import annotations

from django.db import connection

from helpcenter.search.base import MARK_END, MARK_START, IndexedArticle, RawHit, marks_to_html

TABLE = "helpcenter_article_search"
CREATE_SQL = [
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    # No foreign key: Django's test flush TRUNCATEs model tables without CASCADE, which a
    # reference from this table would refuse. Deletes go through services.article_delete,
    # and search only returns ids that still name a published article.
    "article_id bigint PRIMARY KEY, "
    "locale varchar(12) NOT NULL, config regconfig NOT NULL, "
    "title text NOT NULL, summary text NOT NULL, body text NOT NULL, "
    "document tsvector NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_document ON {TABLE} USING gin (document)",
]
DROP_SQL = f"DROP TABLE IF EXISTS {TABLE}"

# Text-search configuration per article locale; unknown locales get no stemming.
_CONFIGS = {"en": "english", "fr": "french", "de": "german", "es": "spanish", "pt": "portuguese"}
_MARKS = f'StartSel="{MARK_START}", StopSel="{MARK_END}"'
_TITLE_HEADLINE = f"{_MARKS}, HighlightAll=true"
_BODY_HEADLINE = f"{_MARKS}, MaxWords=30, MinWords=15, MaxFragments=1"


def config_for(locale: str) -> str:
    return _CONFIGS.get(locale.split("-")[0], "simple")


def _tsquery(terms: list[str], *, prefix_last: bool, any_term: bool) -> str:
    # Letters/digits only (query_terms), so nothing here is tsquery syntax but our own.
    parts = list(terms)
    if prefix_last:
        parts[-1] += ":*"
    return (" | " if any_term else " & ").join(parts)


class PostgresFullTextBackend:
    def index(self, document: IndexedArticle) -> None:
        config = config_for(document.locale)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TABLE} (article_id, locale, config, title, summary, body, document) "
                "VALUES (%s, %s, %s::regconfig, %s, %s, %s, "
                "setweight(to_tsvector(%s::regconfig, %s), 'A') || "
                "setweight(to_tsvector(%s::regconfig, %s), 'B') || "
                "setweight(to_tsvector(%s::regconfig, %s), 'D')) "
                "ON CONFLICT (article_id) DO UPDATE SET locale = EXCLUDED.locale, "
                "config = EXCLUDED.config, title = EXCLUDED.title, summary = EXCLUDED.summary, "
                "body = EXCLUDED.body, document = EXCLUDED.document",
                [
                    document.article_id,
                    document.locale,
                    config,
                    document.title,
                    document.summary,
                    document.body_text,
                    config,
                    document.title,
                    config,
                    document.summary,
                    config,
                    document.body_text,
                ],
            )

    def remove(self, article_id: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE article_id = %s", [article_id])

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
        config = config_for(locale)
        # Rank and cut in the inner query; ts_headline is costly, so only the page of
        # hits gets one.
        sql = (
            "SELECT hit.article_id, ts_headline(hit.config, hit.title, hit.query, %s), "
            "ts_headline(hit.config, hit.body, hit.query, %s) FROM ("
            f"  SELECT s.article_id, s.config, s.title, s.body, q.query, "
            "   ts_rank_cd(s.document, q.query) AS rank"
            f"  FROM {TABLE} s, to_tsquery(%s::regconfig, %s) AS q(query)"
            "  WHERE s.locale = %s AND s.document @@ q.query"
            "  ORDER BY rank DESC, s.article_id LIMIT %s OFFSET %s"
            ") hit ORDER BY hit.rank DESC, hit.article_id"
        )
        params: list[str | int] = [
            _TITLE_HEADLINE,
            _BODY_HEADLINE,
            config,
            _tsquery(terms, prefix_last=prefix_last, any_term=any_term),
            locale,
            limit,
            offset,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [RawHit(row[0], marks_to_html(row[1]), marks_to_html(row[2])) for row in rows]
