"""Back up and restore an installation: the database and the stored files, with a manifest.

A backup is one ``.tar`` file:

- ``manifest.json``: when and from what it was made (database vendor, applied migrations),
  the row count of every table, every stored file with its size and SHA-256, and the files
  the database refers to that were already missing when the backup was made;
- ``database.sqlite3`` (SQLite's online backup API, consistent while the system runs) or
  ``database.pgdump`` (``pg_dump --format=custom``);
- ``media/…``: the uploaded files (attachments, Help Center images) as stored.

``restore`` puts a backup into an *empty* installation (a new SQLite file, or a PostgreSQL
database with no tables or only the empty tables ``migrate`` made), checks every file against
its checksum and compares the row counts with the manifest. A file that is missing restores
everything else and is listed, never an error that loses the rest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, models
from django.db.migrations.recorder import MigrationRecorder

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PGDUMP_MEMBER = "database.pgdump"
MEDIA_PREFIX = "media/"

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass
class RestoreReport:
    tables: int = 0
    files_restored: int = 0
    # Files the database refers to that the backup did not hold (missing when it was made).
    files_missing: list[str] = field(default_factory=list)
    # Files whose bytes did not match the manifest's checksum: not restored.
    files_damaged: list[str] = field(default_factory=list)
    # model label -> (rows in the manifest, rows after the restore), where they differ.
    count_mismatches: dict[str, tuple[int, int]] = field(default_factory=dict)


# --- What the database holds -------------------------------------------------------------


def _concrete_models() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if not model._meta.proxy and model._meta.managed
    ]


def row_counts() -> dict[str, int]:
    """Rows per table, keyed by model label (``tickets.Ticket``)."""
    return {model._meta.label: model._base_manager.count() for model in _concrete_models()}


def referenced_files() -> Iterator[str]:
    """Every stored file a row refers to (FileField and ImageField values), by storage name."""
    for model in _concrete_models():
        for model_field in model._meta.get_fields():
            if isinstance(model_field, models.FileField):
                names = (
                    model._base_manager.exclude(**{model_field.name: ""})
                    .values_list(model_field.name, flat=True)
                    .iterator()
                )
                yield from (name for name in names if name)


def _applied_migrations() -> dict[str, str]:
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        latest[app] = max(latest.get(app, ""), name)
    return dict(sorted(latest.items()))


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


# --- Database dumps ---------------------------------------------------------------------


def _pg_environment() -> tuple[list[str], dict[str, str]]:
    """Connection arguments and environment for pg_dump / pg_restore from the settings."""
    db = settings.DATABASES["default"]
    args = [f"--dbname={db['NAME']}"]
    if db.get("HOST"):
        args.append(f"--host={db['HOST']}")
    if db.get("PORT"):
        args.append(f"--port={db['PORT']}")
    if db.get("USER"):
        args.append(f"--username={db['USER']}")
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError as exc:
        raise BackupError(
            f"{command[0]} is not installed; on Debian: apt-get install postgresql-client"
        ) from exc
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[-2000:]}")


def _dump_database(directory: Path) -> str:
    if connection.vendor == "sqlite":
        target = directory / SQLITE_MEMBER
        source = sqlite3.connect(settings.DATABASES["default"]["NAME"])
        destination = sqlite3.connect(target)
        try:
            # The online backup API copies a consistent snapshot while others keep writing.
            source.backup(destination)
        finally:
            destination.close()
            source.close()
        return SQLITE_MEMBER
    if connection.vendor == "postgresql":
        args, env = _pg_environment()
        target = directory / PGDUMP_MEMBER
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", *args], env)
        return PGDUMP_MEMBER
    raise BackupError(f"Backups of {connection.vendor} databases are not supported.")


# --- Backup -----------------------------------------------------------------------------


def backup_create(*, output: Path, progress: Progress = lambda line: None) -> dict[str, Any]:
    """Write a backup of this installation to ``output`` (a ``.tar`` file); return its manifest."""
    media_root = _media_root()
    with tempfile.TemporaryDirectory(prefix="izonie-backup-") as scratch:
        directory = Path(scratch)
        progress("Dumping the database…")
        database_member = _dump_database(directory)
        counts = row_counts()
        progress(f"{sum(counts.values()):,} rows in {len(counts)} tables.")
        files: list[dict[str, Any]] = []
        if media_root.is_dir():
            for path in sorted(p for p in media_root.rglob("*") if p.is_file()):
                name = path.relative_to(media_root).as_posix()
                files.append({"name": name, "bytes": path.stat().st_size, "sha256": _sha256(path)})
        stored = {entry["name"] for entry in files}
        missing = sorted({name for name in referenced_files() if name not in stored})
        progress(f"{len(files):,} stored files; {len(missing)} referenced but missing.")
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "database": {"vendor": connection.vendor, "member": database_member},
            "migrations": _applied_migrations(),
            "row_counts": counts,
            "files": files,
            "files_missing_at_backup": missing,
        }
        output.parent.mkdir(parents=True, exist_ok=True)
        partial = output.with_name(output.name + ".partial")
        with tarfile.open(partial, "w") as archive:
            data = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
            archive.add(directory / database_member, arcname=database_member)
            for entry in files:
                archive.add(media_root / entry["name"], arcname=MEDIA_PREFIX + entry["name"])
        # Renamed only once complete: a backup that died half-way is never mistaken for one.
        partial.replace(output)
    progress(f"Backup written to {output}.")
    return manifest


# --- Restore ----------------------------------------------------------------------------


def _read_manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = archive.extractfile(MANIFEST)
    except KeyError:
        member = None
    if member is None:
        raise BackupError("This is not an Izonie Support backup (no manifest.json).")
    manifest = json.loads(member.read())
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"Backup format {manifest.get('format')} is not supported here.")
    return manifest


def _installation_is_empty() -> bool:
    tables = set(connection.introspection.table_names())
    if not tables:
        return True
    # Tables made by ``migrate`` are fine as long as nothing is in them yet.
    from tickets.models import Ticket

    if Ticket._meta.db_table not in tables:
        return False
    return not Ticket.objects.exists() and not apps.get_model("accounts", "User").objects.exists()


def _restore_database(archive: tarfile.TarFile, manifest: dict[str, Any], scratch: Path) -> None:
    member = manifest["database"]["member"]
    vendor = manifest["database"]["vendor"]
    if vendor != connection.vendor:
        raise BackupError(
            f"This backup is of a {vendor} database; this installation uses {connection.vendor}."
        )
    archive.extract(member, path=scratch, filter="data")
    dump = scratch / member
    if vendor == "sqlite":
        connection.close()
        source = sqlite3.connect(dump)
        destination = sqlite3.connect(settings.DATABASES["default"]["NAME"])
        try:
            source.backup(destination)
        finally:
            destination.close()
            source.close()
        return
    args, env = _pg_environment()
    connection.close()
    _run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", *args, str(dump)],
        env,
    )


def backup_restore(*, source: Path, progress: Progress = lambda line: None) -> RestoreReport:
    """Restore the backup at ``source`` into this (empty) installation."""
    report = RestoreReport()
    if not source.is_file():
        raise BackupError(f"{source} does not exist.")
    with tarfile.open(source, "r") as archive, tempfile.TemporaryDirectory() as scratch:
        manifest = _read_manifest(archive)
        if not _installation_is_empty():
            raise BackupError(
                "This installation already holds tickets or accounts; restore into an empty "
                "one (a new SQLite file or an empty PostgreSQL database)."
            )
        progress(f"Restoring the database ({manifest['database']['vendor']})…")
        _restore_database(archive, manifest, Path(scratch))
        media_root = _media_root()
        for entry in manifest["files"]:
            name = PurePosixPath(entry["name"])
            if name.is_absolute() or ".." in name.parts:
                report.files_damaged.append(entry["name"])
                continue
            member = archive.extractfile(MEDIA_PREFIX + entry["name"])
            if member is None:
                report.files_missing.append(entry["name"])
                continue
            target = media_root / Path(*name.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            digest = hashlib.sha256()
            with partial.open("wb") as out:
                for block in iter(lambda member=member: member.read(1 << 20), b""):  # type: ignore[misc]
                    digest.update(block)
                    out.write(block)
            if digest.hexdigest() != entry["sha256"]:
                partial.unlink()
                report.files_damaged.append(entry["name"])
                continue
            partial.replace(target)
            report.files_restored += 1
        progress(f"{report.files_restored:,} files restored.")
        report.files_missing.extend(manifest["files_missing_at_backup"])
        after = row_counts()
        report.tables = len(after)
        for label, expected in manifest["row_counts"].items():
            if after.get(label, 0) != expected:
                report.count_mismatches[label] = (expected, after.get(label, 0))
    return report
