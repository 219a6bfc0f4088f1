"""Fixtures shared by every app's tests."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from policy.loader import reset_policy_cache


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.IZONIE_OUTBOX_BACKOFF_SECONDS = 0


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


def run_queued_tasks() -> int:
    """Work the database task queue until nothing is ready, as the worker process would.

    Returns how many tasks ran."""
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    before = DBTaskResult.objects.exclude(status="READY").count()
    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="pytest",
        excluded_queue_names=[],
    ).run()
    return DBTaskResult.objects.exclude(status="READY").count() - before


@pytest.fixture
def run_tasks() -> Callable[[], int]:
    return run_queued_tasks
