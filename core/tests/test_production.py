"""Production safety (docs/security/production.md): no server without a secret key, no demo
data unless asked for, HTTPS settings and a Content-Security-Policy by default."""

import os
import re
import secrets
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.test import Client

from core.security import WITHOUT_KEY_REFUSAL, public_url_for
from core.tests.net import free_port

ROOT = Path(__file__).resolve().parents[2]


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The environment docs/security/production.md lists for production, on the real
    settings module (not the tests'), with nothing inherited that would weaken it."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "IZONIE_")) and key not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="support.izonie.com",
        IZONIE_PUBLIC_URL="https://support.izonie.com",
        IZONIE_PROXY_SETS_X_FORWARDED_PROTO="1",
        IZONIE_VAR_DIR=str(tmp_path / "var"),
    )
    env.update(overrides)
    return {key: value for key, value in env.items() if value != ""}


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_documented_production_settings(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_names_what_plain_http_and_a_missing_key_give_up(tmp_path):
    env = production_env(tmp_path, IZONIE_HTTPS="0", DJANGO_SECRET_KEY="")
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    for warning in ("W004", "W008", "W009", "W012", "W016"):
        assert f"security.{warning}" in result.stderr, warning


def test_servers_refuse_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path, DJANGO_SECRET_KEY="")
    served = manage(env, "serve", "--port", str(free_port()))
    assert served.returncode == 1
    assert served.stderr.strip() == f"CommandError: {WITHOUT_KEY_REFUSAL}"
    # What uvicorn, daphne or gunicorn load: the same message.
    loaded = subprocess.run(
        [sys.executable, "-c", "import config.asgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert loaded.returncode == 1
    assert f"ImproperlyConfigured: {WITHOUT_KEY_REFUSAL}" in loaded.stderr
    # Nothing was created either: the refusal comes before migrations.
    assert not (tmp_path / "var" / "izonie.sqlite3").exists()


def test_serve_without_demo_seeds_nothing_and_links_emails_to_its_own_port(tmp_path):
    port = free_port()
    env = production_env(
        tmp_path, IZONIE_HTTPS="0", IZONIE_PUBLIC_URL="", DJANGO_ALLOWED_HOSTS="127.0.0.1"
    )
    log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115
    process = subprocess.Popen(  # noqa: S603
        # --migrate: a production start does not migrate by itself (a deploy step), and this
        # database is new.
        [sys.executable, "manage.py", "serve", "--port", str(port), "--no-worker", "--migrate"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        else:
            log.seek(0)
            pytest.fail("serve did not answer within 60 s:\n" + log.read())
    finally:
        process.terminate()
        process.wait(timeout=15)
    log.seek(0)
    output = log.read()
    assert "izonie-demo" not in output and "Demo logins" not in output
    assert f"Links in emails point at http://127.0.0.1:{port}/." in output
    database = sqlite3.connect(tmp_path / "var" / "izonie.sqlite3")
    assert database.execute("SELECT count(*) FROM accounts_user").fetchone()[0] == 0
    assert database.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0] == 0


def test_public_url_for_a_server_without_a_proxy(settings):
    settings.IZONIE_HTTPS = False
    assert public_url_for(host="127.0.0.1", port=8123) == "http://127.0.0.1:8123"
    assert public_url_for(host="0.0.0.0", port=80) == "http://127.0.0.1:80"  # noqa: S104
    assert public_url_for(host="::1", port=9000) == "http://[::1]:9000"


def csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part
    }


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy():
    response = Client().get("/")
    policy = csp(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    # blob: for chat photos the widget fetched with its token header (no token in URLs).
    assert policy["img-src"] == ["'self'", "data:", "blob:"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_no_template_has_inline_script_or_event_handlers():
    """The CSP forbids them; a browser would silently skip them."""
    templates = [p for p in ROOT.glob("**/templates/**/*.html") if ".venv" not in p.parts]
    assert len(templates) > 50
    for path in templates:
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or "application/ld+json" in tag or "application/json" in tag, (
                f"{path}: inline {tag}"
            )
        assert not re.search(r"\son[a-z]+=[\"']", text), f"{path}: inline event handler"
        assert "hx-on" not in text, f"{path}: hx-on needs eval"


@pytest.mark.django_db
def test_favicon_and_api_docs_from_this_site():
    client = Client()
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon["Content-Type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert 'rel="icon"' in client.get("/").content.decode()
    docs = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert "/static/img/favicon.svg" in docs


@pytest.mark.django_db
def test_password_reset_link_uses_the_public_url_not_the_request_host(settings, mailoutbox):
    from accounts.tests.factories import BuyerFactory

    settings.IZONIE_PUBLIC_URL = "https://support.izonie.test/"
    settings.ALLOWED_HOSTS = ["internal.example"]
    buyer = BuyerFactory(email="ada@example.com")
    response = Client(HTTP_HOST="internal.example").post(
        "/accounts/password/", {"email": buyer.email}
    )
    assert response.status_code == 302
    (sent,) = mailoutbox
    link = re.search(r"https?://\S+", sent.body)
    assert link and link.group().startswith("https://support.izonie.test/accounts/password/")
