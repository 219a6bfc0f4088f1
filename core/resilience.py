"""Long-running loops that outlive a database outage.

A worker, the IMAP fetcher and the web process's background threads each poll the
database for ever. A lost connection (the server restarted, a fail-over, a network blip)
used to end them: one OperationalError and the process was gone until someone restarted
it. Here an outage is waited out with back-off and jitter (so a fleet of workers does not
reconnect in lock-step), logged once when it starts and once when it ends, and the loop
goes on. See docs/operations/recovery.md.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

# What "the database is unreachable" looks like through Django: the server refused or
# dropped the connection (OperationalError), or the connection object is already closed
# (InterfaceError). Errors in what a query asks (IntegrityError...) are not outages.
OUTAGE_ERRORS = (OperationalError, InterfaceError)


class OutageLog:
    """Logs an outage once when it starts and once when it ends, however many threads
    of the process fail and retry meanwhile."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.since: float | None = None

    def failed(self, exc: BaseException, *, who: str) -> None:
        with self._lock:
            if self.since is not None:
                return
            self.since = time.monotonic()
        logger.warning("Database unreachable (%s: %s); retrying with back-off", who, exc)

    def recovered(self) -> None:
        with self._lock:
            if self.since is None:
                return
            lasted = time.monotonic() - self.since
            self.since = None
        logger.warning("Database reachable again after %.1f s", lasted)


outage_log = OutageLog()


def backoff_delays(*, first: float = 0.5, longest: float | None = None) -> Iterator[float]:
    """Pauses between attempts: doubling from ``first`` up to ``longest`` seconds, each
    drawn between half and all of that step ("equal jitter")."""
    longest = settings.IZONIE_DB_RETRY_MAX_SECONDS if longest is None else longest
    step = first
    while True:
        yield random.uniform(step / 2, step)
        step = min(step * 2, longest)


def drop_connection() -> None:
    """Forget this thread's connection, which an outage left broken; the next query
    opens a new one."""
    try:
        connection.close()
    except DatabaseError:
        # Closing a connection whose server is gone can fail; it is gone either way.
        connection.connection = None


def database_problem() -> Exception | None:
    """None when a new or kept connection of this thread answers ``SELECT 1``, else
    the error that came instead."""
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except OUTAGE_ERRORS as exc:
        drop_connection()
        return exc
    return None


def wait_for_database(
    *,
    who: str,
    timeout: float | None,
    should_stop: Callable[[], bool] = lambda: False,
) -> bool:
    """Wait until the database answers, for at most ``timeout`` seconds (None: for ever).
    Returns whether it answered; False also when ``should_stop()`` became true."""
    deadline = None if timeout is None else time.monotonic() + timeout
    delays = backoff_delays()
    while not should_stop():
        problem = database_problem()
        if problem is None:
            outage_log.recovered()
            return True
        outage_log.failed(problem, who=who)
        pause = next(delays)
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            pause = min(pause, left)
        sleep_unless(should_stop, pause)
    return False


def sleep_unless(should_stop: Callable[[], bool], seconds: float) -> None:
    """Sleep ``seconds``, waking every 0.2 s to see whether to stop."""
    deadline = time.monotonic() + seconds
    while not should_stop() and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(0.2, left))
