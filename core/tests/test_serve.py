"""The embedded default, end to end: ``manage.py serve`` as a newcomer runs it."""

import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

import pytest

from core.tests.net import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVE_START_LIMIT = 300


def _embedded_env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "IZONIE_VAR_DIR": str(tmp_path / "var")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.pop("IZONIE_PUBLIC_URL", None)  # serve sets it from its host and port
    return env


@pytest.fixture
def served(tmp_path, request):
    port = free_port()
    env = _embedded_env(tmp_path)
    before = getattr(request, "param", None)
    if before:
        before(env)
    log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "serve", "--demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    # The wait ends as soon as the server answers (migrations and the demo data come
    # first) or exits. The bound only decides when a server that never answers fails:
    # at load average 10 a healthy start took 110 s.
    deadline = time.monotonic() + SERVE_START_LIMIT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        log.seek(0)
        pytest.fail(
            f"serve exited with {process.returncode}:\n" + log.read()
            if process.returncode is not None
            else f"serve did not answer within {SERVE_START_LIMIT} s:\n" + log.read()
        )
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
    # Links in emails point at this server's own port, not a fixed 8000.
    # (https:// in HTTPS mode, which sits behind a TLS proxy on the same host and port.)
    host_port = base.split("://")[1]
    assert re.search(rf"Links in emails point at https?://{re.escape(host_port)}/\.", output)
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


# A webhook delivery stored (and acknowledged to Meta) by a run that then died before its
# worker handled it: the ticket must still appear once serve runs again.
LEFT_BEHIND = """
from social.models import SocialAccount, WebhookDelivery
import json
SocialAccount.objects.create(platform="facebook", external_id="1001", name="Izonie",
    access_token="t", app_secret="s", verify_token="v")
event = {"sender": {"id": "psid-1"}, "recipient": {"id": "1001"}, "timestamp": 1,
    "message": {"mid": "m_left_behind", "text": "Where is my refund? Order IZ-1234567"}}
body = json.dumps({"object": "page", "entry": [{"id": "1001", "time": 1, "messaging": [event]}]})
WebhookDelivery.objects.create(source="meta", body=body.encode(), event_count=1)
"""


def _delivery_left_behind(env: dict[str, str]) -> None:
    for command in (["migrate", "-v0"], ["shell", "-c", LEFT_BEHIND]):
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True
        )


@pytest.mark.parametrize("served", [_delivery_left_behind], indirect=True)
def test_serve_finishes_webhook_deliveries_a_previous_run_left(served):
    _base, tmp_path, log = served

    database = sqlite3.connect(tmp_path / "var" / "izonie.sqlite3")
    deadline = time.monotonic() + 30
    status = None
    while time.monotonic() < deadline:
        status = database.execute("SELECT status FROM social_webhookdelivery").fetchone()[0]
        if status == "processed":
            break
        time.sleep(0.3)
    log.seek(0)
    assert "Queued 1 unfinished social deliveries again." in log.read()
    assert status == "processed"
    events = database.execute("SELECT count(*) FROM social_inboundevent").fetchone()[0]
    assert events == 1


@pytest.mark.parametrize(
    ("argv", "env_migrate", "prepares"),
    [
        (["--demo"], False, True),  # the demo migrates and collects static files itself
        ([], False, False),  # production: a separate deploy step
        (["--migrate"], False, True),
        ([], True, True),  # IZONIE_SERVE_MIGRATE=1
    ],
)
def test_only_the_demo_or_an_explicit_request_migrates_at_start(
    settings, argv, env_migrate, prepares
):
    from core.management.commands.serve import Command

    settings.IZONIE_SERVE_MIGRATE = env_migrate
    options = vars(Command().create_parser("manage.py", "serve").parse_args(argv))
    assert Command._prepares_database(options) is prepares
