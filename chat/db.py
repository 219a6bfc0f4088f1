"""Where the chat consumers' database work runs.

Channels' ``database_sync_to_async`` runs every call of a process on one thread
(``thread_sensitive``), so under load one socket's query waits behind every other
socket's, handshakes included. On PostgreSQL the chat's calls run on a small pool of
threads instead, each with its own connection: the waits overlap, and a row lock on
one conversation holds up only that conversation. SQLite serialises writers anyway, so
the embedded default keeps the single thread (``IZONIE_CHAT_DB_THREADS=1``).

The consumers handle one frame at a time each, so a connection's frames still run in
the order they arrived; the services lock the conversation's row for every change.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from asgiref.sync import SyncToAsync
from channels.db import DatabaseSyncToAsync, database_sync_to_async
from django.conf import settings
from django.db import connections

R = TypeVar("R")

_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(
            max_workers=settings.IZONIE_CHAT_DB_THREADS, thread_name_prefix="chat-db"
        )
    return _pool


def db(func: Callable[..., R]) -> Callable[..., Awaitable[R]]:
    """``func`` as an awaitable that runs on the chat's database thread(s). Arguments
    are left unchecked, as with ``database_sync_to_async``: frames carry raw JSON that
    the services validate."""
    if settings.IZONIE_CHAT_DB_THREADS <= 1:
        return database_sync_to_async(func)
    wrapped: Any = DatabaseSyncToAsync(func, thread_sensitive=False, executor=_executor())
    return wrapped


def on_each_thread(pool: ThreadPoolExecutor, func: Callable[[], object], *, threads: int) -> None:
    """Run ``func`` once on each of ``threads`` threads of ``pool``, after the calls
    queued before it: the barrier holds every thread that took one call until all have,
    so no thread takes two."""
    if threads <= 0:
        return
    barrier = threading.Barrier(threads, timeout=10)

    def once() -> None:
        barrier.wait()
        func()

    for future in [pool.submit(once) for _ in range(threads)]:
        future.result(timeout=15)


def close_pool() -> None:
    """Close every pool thread's database connections and stop the pool (a test
    database cannot be dropped while they are open)."""
    global _pool
    # Channels' own single thread (sessions and logins of every socket) has one too.
    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)
    if _pool is None:
        return
    pool, _pool = _pool, None
    on_each_thread(pool, connections.close_all, threads=pool._max_workers)
    pool.shutdown(wait=True)
