"""PostgreSQL full-text search: weighted tsvectors in a GIN-indexed table, ts_rank_cd
ranking, ts_headline snippets for the page of hits only.

Three tiers of candidates, as on SQLite (see helpcenter.search.sqlite): title or summary
(``head``) holding a word of every group, ranked over all of them; then head matches of
any word and body-only matches, each ranked among the first ``BODY_TIER_WINDOW``, so
ranking cost does not grow with every article that mentions a word.
"""

# The only string formatting in this module's SQL is table names; every value is a query
# parameter.
# ruff: noqa: S608

from __future__ import annotations

from django.db import connection

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

TABLE = "helpcenter_article_search"
ARTICLES = Article._meta.db_table
CREATE_SQL = [
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    # No foreign key: Django's test flush TRUNCATEs model tables without CASCADE, which a
    # reference from this table would refuse. Deletes go through services.article_delete,
    # and search only returns ids that still name a published article.
    "article_id bigint PRIMARY KEY, "
    "locale varchar(12) NOT NULL, config regconfig NOT NULL, "
    "title text NOT NULL, summary text NOT NULL, body text NOT NULL, "
    "head tsvector NOT NULL, document tsvector NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_head ON {TABLE} USING gin (head)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_document ON {TABLE} USING gin (document)",
]
DROP_SQL = f"DROP TABLE IF EXISTS {TABLE}"
BODY_TIER_WINDOW = 250

# Text-search configuration per article locale; unknown locales get no stemming.
_CONFIGS = {"en": "english", "fr": "french", "de": "german", "es": "spanish", "pt": "portuguese"}
_MARKS = f'StartSel="{MARK_START}", StopSel="{MARK_END}"'
_TITLE_HEADLINE = f"{_MARKS}, HighlightAll=true"
_BODY_HEADLINE = f"{_MARKS}, MaxWords=30, MinWords=15, MaxFragments=1"


def config_for(locale: str) -> str:
    return _CONFIGS.get(locale.split("-")[0], "simple")


def _ts_term(term: str, prefix: str | None) -> str:
    # Letters/digits only (query_terms), so nothing here is tsquery syntax but our own.
    return f"{term}:*" if term == prefix else term


def _ts_any(terms: list[str], prefix: str | None) -> str:
    return " | ".join(_ts_term(term, prefix) for term in terms)


def _ts_all(groups: list[list[str]], prefix: str | None) -> str:
    return " & ".join(f"({_ts_any(group, prefix)})" for group in groups)


class PostgresFullTextBackend:
    def index(self, document: IndexedArticle) -> None:
        config = config_for(document.locale)
        head = (
            "setweight(to_tsvector(%(config)s::regconfig, %(title)s), 'A') || "
            "setweight(to_tsvector(%(config)s::regconfig, %(summary)s), 'B')"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TABLE} "
                "(article_id, locale, config, title, summary, body, head, document) "
                "VALUES (%(id)s, %(locale)s, %(config)s::regconfig, %(title)s, %(summary)s, "
                f"%(body)s, {head}, {head} || "
                "setweight(to_tsvector(%(config)s::regconfig, %(body)s), 'D')) "
                "ON CONFLICT (article_id) DO UPDATE SET locale = EXCLUDED.locale, "
                "config = EXCLUDED.config, title = EXCLUDED.title, summary = EXCLUDED.summary, "
                "body = EXCLUDED.body, head = EXCLUDED.head, document = EXCLUDED.document",
                {
                    "id": document.article_id,
                    "locale": document.locale,
                    "config": config,
                    "title": document.title,
                    "summary": document.summary,
                    "body": document.body_text,
                },
            )

    def remove(self, article_id: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE article_id = %s", [article_id])

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
        # One round trip: the tiers in order (PostgreSQL's Append keeps the order of the
        # branches, and the LIMIT stops reading as soon as it has enough rows), then the
        # articles' counters for the ranking, joined by primary key.
        sql = f"""
            WITH q AS MATERIALIZED (
                SELECT to_tsquery(%(config)s::regconfig, %(all)s) AS every,
                       to_tsquery(%(config)s::regconfig, %(any)s) AS query
            )
            SELECT a.id, a.title, a.summary, a.view_count, a.helpful_yes, a.helpful_no,
                   a.position
              FROM (
                SELECT article_id, tier, rank FROM (
                    (SELECT s.article_id, 1 AS tier, ts_rank_cd(s.head, q.every) AS rank
                       FROM {TABLE} s, q
                      WHERE s.locale = %(locale)s AND s.head @@ q.every
                      ORDER BY rank DESC, s.article_id LIMIT %(wanted)s)
                    UNION ALL
                    (SELECT w.article_id, 2, w.rank FROM (
                        SELECT s.article_id, ts_rank_cd(s.head, q.query) AS rank
                          FROM {TABLE} s, q
                         WHERE s.locale = %(locale)s AND s.head @@ q.query
                         LIMIT %(window)s) w
                      ORDER BY w.rank DESC, w.article_id LIMIT %(wanted)s)
                    UNION ALL
                    (SELECT w.article_id, 3, w.rank FROM (
                        SELECT s.article_id, ts_rank_cd(s.document, q.query) AS rank,
                               s.head @@ q.query AS in_head
                          FROM {TABLE} s, q
                         WHERE s.locale = %(locale)s AND s.document @@ q.query
                         LIMIT %(window)s) w
                      WHERE NOT w.in_head
                      ORDER BY w.rank DESC, w.article_id LIMIT %(wanted)s)
                ) tiers LIMIT %(fetch)s
              ) t
              JOIN {ARTICLES} a ON a.id = t.article_id
             WHERE a.status = %(published)s AND a.locale = %(locale)s
             ORDER BY t.tier, t.rank DESC, t.article_id
        """
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                {
                    "config": config_for(locale),
                    "all": _ts_all(groups, prefix),
                    "any": _ts_any(terms, prefix),
                    "locale": locale,
                    "wanted": limit,
                    # Tier 2 repeats tier 1's articles; they are dropped here.
                    "fetch": 2 * limit,
                    "window": BODY_TIER_WINDOW,
                    "published": ArticleStatus.PUBLISHED,
                },
            )
            rows = cursor.fetchall()
        seen: set[int] = set()
        hits = []
        for row in rows:
            if row[0] not in seen:
                seen.add(row[0])
                hits.append(EngineHit(*row))
        return hits[:limit]

    def highlight(
        self, article_ids: list[int], terms: list[str], *, locale: str, prefix: str | None
    ) -> dict[int, RawHit]:
        if not article_ids:
            return {}
        sql = f"""
            WITH q AS MATERIALIZED (SELECT to_tsquery(%(config)s::regconfig, %(query)s) AS query)
            SELECT s.article_id,
                   ts_headline(s.config, s.title, q.query, %(title_opts)s),
                   ts_headline(s.config, s.body, q.query, %(body_opts)s)
              FROM {TABLE} s, q
             WHERE s.article_id = ANY(%(ids)s)
        """
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                {
                    "config": config_for(locale),
                    "query": _ts_any(terms, prefix),
                    "ids": list(article_ids),
                    "title_opts": _TITLE_HEADLINE,
                    "body_opts": _BODY_HEADLINE,
                },
            )
            rows = cursor.fetchall()
        return {
            row[0]: RawHit(row[0], marks_to_html(row[1]), marks_to_html(row[2])) for row in rows
        }
