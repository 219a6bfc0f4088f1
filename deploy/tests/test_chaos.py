"""The fault-injection run (bench/chaos.py) in its short form: 15 s of mail, REST API and
Messenger load on the production layout (PostgreSQL, Redis, two web processes, two workers,
the IMAP fetcher), the fetcher, a web process and a worker each killed once with SIGKILL,
the database cut for 3 s, then everything delivered again. Nothing may be lost, nothing
stored or mailed twice, no follow-up work left without its task.

Marked slow, PostgreSQL only (the suite's second run); ``python -m bench.chaos`` is the
long form. Its time is almost all Python processes starting: six at first, three again
after the kills (each imports Django and scikit-learn, 8 CPU-seconds). Measured on this
2-core machine shared with other jobs: 251 s at load average 11 (112 s until the layout
answered, 68 s until the restarted web process answered again), 350 s at 12-14; the load,
the outage, the redelivery and the count take about 40 s.
"""

from __future__ import annotations

import os
import time

import pytest
from django.db import connection

from bench.chaos import rig, run_chaos
from deploy.layout import NGINX

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(NGINX) and not os.environ.get("CI"),
        reason="nginx is installed by scripts/test",
    ),
]


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    user, host, port = db["USER"] or "postgres", db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def test_killed_processes_and_an_outage_lose_nothing_and_double_nothing():
    if connection.vendor != "postgresql":
        pytest.skip("the production layout runs on PostgreSQL (the suite's second run)")
    lines: list[str] = []
    started = time.monotonic()
    keep_logs = bool(os.environ.get("IZONIE_CHAOS_KEEP_LOGS"))
    with rig(database_url=_database_url(), prepare=False, keep_logs=keep_logs) as chaos:
        lines.append(f"layout up in {time.monotonic() - started:.1f} s ({chaos.layout.run_dir})")
        try:
            report = run_chaos(
                chaos, seconds=15, kills=1, outage=3, settle_timeout=300, log=lines.append
            )
        except BaseException as exc:
            raise AssertionError(f"{exc!r}\n{chaos.layout.logs()}") from exc
        logs = chaos.layout.logs()
    summary = "\n".join([*lines, *report.lines()])
    print(summary)
    assert all(channel.sent > 0 for channel in report.channels), summary
    assert report.lost == 0, f"{summary}\n{logs}"
    assert report.duplicated == 0, f"{summary}\n{logs}"
    assert report.mailed == report.channels[1].sent, summary
    assert not any(report.orphans.values()), f"{summary}\n{logs}"
    assert sum(line.count("SIGKILL") for line in lines) == 3, summary
