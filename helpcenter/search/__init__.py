"""Help Center search: one entry point, the engine chosen by the database in use."""

from __future__ import annotations

from django.db import connection

from helpcenter.search.base import IndexedArticle, RawHit, SearchBackend


def backend() -> SearchBackend:
    if connection.vendor == "postgresql":
        from helpcenter.search.postgres import PostgresFullTextBackend

        return PostgresFullTextBackend()
    if connection.vendor == "sqlite":
        from helpcenter.search.sqlite import SqliteFts5Backend

        return SqliteFts5Backend()
    raise NotImplementedError(f"Help Center search has no backend for {connection.vendor}")


__all__ = ["IndexedArticle", "RawHit", "SearchBackend", "backend"]
