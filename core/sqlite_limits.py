"""Let multi-row statements use SQLite's real variable limit.

Django assumes SQLite's old limit of 999 variables per statement and splits a
``bulk_create`` of 100 messages (ten columns each) into two INSERTs. SQLite 3.32 and
later allow 32,766 by default; the limit compiled into the library is read from the
connection, so the batch write path keeps one statement per table.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from django.db.backends.signals import connection_created


def _raise_limit(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor != "sqlite":
        return
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    connection.features.max_query_params = max(limit, 999)


def connect() -> None:
    connection_created.connect(_raise_limit, dispatch_uid="core_sqlite_limits")
