"""The embedded default, end to end: ``manage.py serve`` as a newcomer runs it."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path):
    port = _free_port()
    env = {**os.environ, "IZONIE_VAR_DIR": str(tmp_path / "var")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        log.seek(0)
        pytest.fail("serve did not answer within 60 s:\n" + log.read())
    yield base, tmp_path, log
    process.terminate()
    process.wait(timeout=15)
    log.close()


def test_serve_runs_migrations_demo_data_web_and_worker(served):
    base, tmp_path, log = served
    log.seek(0)
    output = log.read()
    # The URLs to open and the demo logins are printed.
    assert f"{base}/console/" in output
    assert "ada.agent" in output and "izonie-demo" in output
    # SQLite in WAL mode under the configured var directory.
    database = tmp_path / "var" / "izonie.sqlite3"
    assert database.exists()
    assert (tmp_path / "var" / "izonie.sqlite3-wal").exists()

    # An agent signs in with a demo login and the console answers.
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_page = opener.open(f"{base}/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page)
    assert token
    form = urlencode(
        {"username": "ada.agent", "password": "izonie-demo", "csrfmiddlewaretoken": token.group(1)}
    ).encode()
    request = urllib.request.Request(
        f"{base}/accounts/login/", data=form, headers={"Referer": f"{base}/accounts/login/"}
    )
    with opener.open(request) as response:
        assert response.url.rstrip("/").endswith("/console")
    with opener.open(f"{base}/support-policy") as response:
        assert "support@izonie.com" in response.read().decode()
