"""Backup and restore: a backup restored into an empty installation holds every ticket,
message and attachment; a file missing at backup time is listed and the rest restored."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection

from core.backup import BackupError, backup_create, backup_restore
from tickets.models import Attachment, Message, Ticket
from tickets.tests.factories import MessageFactory, TicketFactory

PHOTO = b"\xff\xd8\xff\xe0 a photo of the cracked screen" * 100


def _tickets_with_files() -> tuple[list[Ticket], Attachment, Attachment]:
    tickets = [TicketFactory(subject=f"Screen cracked on arrival #{n}") for n in range(3)]
    message = MessageFactory(ticket=tickets[0], body_text="Photos attached.")
    kept = Attachment.objects.create(
        message=message,
        file=ContentFile(PHOTO, name="screen.jpg"),
        filename="screen.jpg",
        content_type="image/jpeg",
        size=len(PHOTO),
    )
    lost = Attachment.objects.create(
        message=message,
        file=ContentFile(b"%PDF-1.4 receipt", name="receipt.pdf"),
        filename="receipt.pdf",
        content_type="application/pdf",
        size=16,
    )
    return tickets, kept, lost


def _damage_member(archive: Path, name: str) -> None:
    """Overwrite one member's bytes inside the tar, keeping its size (a bit-rotted backup)."""
    with tarfile.open(archive) as source:
        member = source.getmember(name)
        offset = member.offset_data
    with archive.open("r+b") as raw:
        raw.seek(offset)
        raw.write(b"X" * member.size)


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SECRET_KEY": "restore-test", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _fresh_installation(tmp_path: Path) -> tuple[dict[str, str], Path, str | None]:
    """Environment of a new, empty installation on this test's database engine."""
    root = tmp_path / "restored"
    env = {"IZONIE_VAR_DIR": str(root), "IZONIE_MEDIA_ROOT": str(root / "media")}
    if connection.vendor == "sqlite":
        return {**env, "DATABASE_URL": ""}, root, None
    db = settings.DATABASES["default"]
    name = f"izonie_restore_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
    return {**env, "DATABASE_URL": url}, root, name


def _restored_rows(env: dict[str, str], root: Path, sql: str) -> list[tuple]:
    if not env["DATABASE_URL"]:
        with sqlite3.connect(root / "izonie.sqlite3") as restored:
            return restored.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as restored:
        return restored.execute(sql).fetchall()  # type: ignore[arg-type]


@pytest.mark.django_db(transaction=True)
def test_a_restored_backup_holds_every_ticket_message_and_attachment(tmp_path):
    tickets, kept, lost = _tickets_with_files()
    damaged = Attachment.objects.create(
        message=kept.message,
        file=ContentFile(b"a second photo", name="box.jpg"),
        filename="box.jpg",
        content_type="image/jpeg",
        size=14,
    )
    # A broken file reference: the row is there, the file is gone (a disk mishap).
    Path(lost.file.path).unlink()
    archive = tmp_path / "backup.tar"

    manifest = backup_create(output=archive)

    assert manifest["row_counts"]["tickets.Ticket"] == 3
    assert manifest["files_missing_at_backup"] == [lost.file.name]
    _damage_member(archive, f"media/{damaged.file.name}")
    env, root, pg_name = _fresh_installation(tmp_path)
    try:
        result = _manage("restore", str(archive), env=env)
        assert result.returncode == 0, result.stderr
        assert f"Missing from the backup (restored everything else): {lost.file.name}" in (
            result.stderr
        )
        assert f"Damaged in the backup (checksum differs), not restored: {damaged.file.name}" in (
            result.stderr
        )
        assert not (root / "media" / damaged.file.name).exists()
        subjects = _restored_rows(env, root, "SELECT subject FROM tickets_ticket ORDER BY id")
        assert [row[0] for row in subjects] == [t.subject for t in tickets]
        messages = _restored_rows(env, root, "SELECT count(*) FROM tickets_message")
        assert messages[0][0] == Message.objects.count()
        files = _restored_rows(env, root, "SELECT file FROM tickets_attachment ORDER BY id")
        assert [row[0] for row in files] == [kept.file.name, lost.file.name, damaged.file.name]
        assert (root / "media" / kept.file.name).read_bytes() == PHOTO
        assert not (root / "media" / lost.file.name).exists()
    finally:
        if pg_name:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_a_backup_is_not_restored_over_an_installation_that_has_tickets(tmp_path):
    _tickets_with_files()
    archive = tmp_path / "backup.tar"
    backup_create(output=archive)

    with pytest.raises(BackupError, match="already holds tickets or accounts"):
        backup_restore(source=archive)
    assert Ticket.objects.count() == 3


def test_a_file_that_is_not_a_backup_is_refused_with_a_reason(tmp_path):
    not_a_backup = tmp_path / "notes.tar"
    with tarfile.open(not_a_backup, "w"):
        pass

    with pytest.raises(BackupError, match="not an Izonie Support backup"):
        backup_restore(source=not_a_backup)
