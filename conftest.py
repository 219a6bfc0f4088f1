"""Fixtures shared by every app's tests."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from core.tests.net import free_port
from policy.loader import reset_policy_cache


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    from django.core.cache import cache

    # Throttle counts and other cached state belong to the test that made them.
    cache.clear()
    settings.MEDIA_ROOT = tmp_path / "media"
    # Classifier files a test trains stay with the test, not in the developer's var/.
    settings.IZONIE_TRIAGE_MODEL_DIR = tmp_path / "triage-models"
    settings.IZONIE_OUTBOX_BACKOFF_SECONDS = 0
    # Social deliveries: a drain per delivery, ready at once (coalescing has its own test).
    settings.IZONIE_SOCIAL_DRAIN_DELAY_SECONDS = 0
    # Real hashing costs ~0.3 s per user; tests create hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Production asks staff for a second factor; tests that sign agents in do not (the
    # two-factor tests in accounts/tests/ turn it on).
    settings.IZONIE_STAFF_2FA_REQUIRED = False


class SmtpInbox:
    """What the loopback SMTP server received, as ``email.message.Message`` objects."""

    def __init__(self) -> None:
        self.messages: list = []
        # Answer this many next mails with a temporary failure after receiving them
        # whole: the ambiguous case, where the sender retries a mail we already have.
        self.fail_after_data = 0

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback (aiosmtpd); Django's SMTP backend sends to it."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message as MessageHandler

    inbox = SmtpInbox()

    class Handler(MessageHandler):
        def handle_message(self, message):
            inbox.messages.append(message)

        async def handle_DATA(self, server, session, envelope):
            answer = await super().handle_DATA(server, session, envelope)
            if inbox.fail_after_data:
                inbox.fail_after_data -= 1
                return "451 4.3.0 Local error in processing"
            return answer

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_TIMEOUT = 5
    yield inbox
    controller.stop()


@pytest.fixture(scope="session", autouse=True)
def _server_connections_closed(django_db_setup, django_db_blocker):
    """Servers started by tests keep database connections open in their threads (the
    chat's database pool, the HTTP threads of config.asgi); close them before
    pytest-django drops the test database, which PostgreSQL refuses while anyone is on it."""
    yield
    from django.db import connection

    from chat.db import close_pool

    with django_db_blocker.unblock():
        close_pool()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(autouse=True)
def _no_planned_runs():
    from core.coalesce import forget_planned_runs

    forget_planned_runs()


@pytest.fixture(autouse=True)
def _empty_cache():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_policy():
    reset_policy_cache()
    yield
    reset_policy_cache()


def png_bytes(size: tuple[int, int] = (8, 8), color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def photo() -> Callable[..., SimpleUploadedFile]:
    def make(name: str = "damaged.png") -> SimpleUploadedFile:
        return SimpleUploadedFile(name, png_bytes(), content_type="image/png")

    return make


def run_queued_tasks(*, limit: int = 1000) -> int:
    """Work the database task queue until nothing is ready, as the worker process would.

    Uses the django-tasks-db worker's own ``run_task``; only its polling loop is left
    out, because that loop closes the connection between tasks, which would end the
    test's transaction. Returns how many tasks ran.
    """
    from django_tasks_db.models import DBTaskResult

    from core.worker import make_worker

    worker = make_worker(worker_id="pytest", interval=0)
    ran = 0
    while ran < limit:
        result = DBTaskResult.objects.ready().order_by("enqueued_at").first()
        if result is None:
            break
        result.claim(worker.worker_id)
        worker.run_task(result)
        ran += 1
    return ran


@pytest.fixture
def run_tasks() -> Callable[[], int]:
    return run_queued_tasks


# --- Browser tests: Playwright driving Debian's Chromium against a live server.

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS_DIR = "test-artifacts"


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (``/usr/bin/chromium``, never a download)."""
    import os

    from playwright.sync_api import expect, sync_playwright

    # expect() waits until its condition holds; the bound only decides when a page that
    # never gets there fails. Its default (5 s) is short for a busy CI machine.
    expect.set_options(timeout=15_000)
    # Playwright's sync API runs an event loop in this thread; Django's live server
    # runs in its own thread, so the ORM calls made by the test itself are safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (own cookies) per test, at desktop width."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id="Europe/London"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def login(live_server):
    """Sign a Playwright page in through the real login form."""
    from accounts.tests.factories import PASSWORD

    def sign_in(page, user) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()

    return sign_in


def screenshot_path(name: str) -> str:
    import os

    os.makedirs(ARTIFACTS_DIR, exist_ok=True)
    return os.path.join(ARTIFACTS_DIR, f"{name}.png")


# --- The second database engine repeats only what depends on the engine.
#
# `scripts/test` runs the suite on SQLite and again on PostgreSQL. A test that never
# reaches the database behaves the same on both, and a browser test checks what a page
# shows, which the ORM hides the engine from; the PostgreSQL run (IZONIE_TEST_SCOPE=engine)
# leaves both out, so the second run costs what it proves. Tests that start their own
# processes against DATABASE_URL carry the ``engine`` marker and always run; tests that
# use the database only as a fixture for what Python decides (who may open which URL)
# carry ``engine_neutral`` and run once.

DATABASE_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "live_server",
    }
)
BROWSER_FIXTURES = frozenset({"page", "browser"})


def depends_on_the_engine(item: pytest.Item) -> bool:
    if item.get_closest_marker("engine"):
        return True
    if item.get_closest_marker("engine_neutral"):
        return False
    fixtures = set(getattr(item, "fixturenames", ()))
    if item.get_closest_marker("browser") or fixtures & BROWSER_FIXTURES:
        return False
    return bool(item.get_closest_marker("django_db") or fixtures & DATABASE_FIXTURES)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import os

    if os.environ.get("IZONIE_TEST_SCOPE") != "engine":
        return
    kept: list[pytest.Item] = []
    left: list[pytest.Item] = []
    for item in items:
        (kept if depends_on_the_engine(item) else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept
