"""A SQLite file named by DATABASE_URL runs like the embedded default: WAL, commits
without fsync (synchronous=NORMAL), writers that wait for each other (issue 22: such a
file ran in rollback-journal mode, four fsyncs per commit, and its writers could fail
with "database is locked")."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
from django.db import connection
with connection.cursor() as cursor:
    print(cursor.execute("PRAGMA journal_mode").fetchone()[0])
    print(cursor.execute("PRAGMA synchronous").fetchone()[0])
print(connection.settings_dict["OPTIONS"]["transaction_mode"])
"""


def test_a_sqlite_database_url_gets_the_embedded_defaults_pragmas(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'izonie.sqlite3'}",
        "IZONIE_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", f"import django; django.setup()\n{PROBE}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["wal", "1", "IMMEDIATE"]
