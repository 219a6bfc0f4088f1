"""Rows the whole system shares: worker heartbeats, kept REST answers."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """A task worker saying it is alive (core.task_recovery).

    A task RUNNING on a worker whose last beat is older than
    IZONIE_WORKER_DEAD_AFTER_SECONDS lost its worker (killed, out of memory, the machine
    gone) and is queued again. django-tasks-db records which worker claimed a task
    (``worker_ids``) but not whether that worker still lives; this is the missing half.
    """

    worker_id = models.CharField(max_length=64, primary_key=True)
    beat_at = models.DateTimeField()
    started_at = models.DateTimeField()
    # For people reading the table during an incident: where the worker runs.
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"worker {self.worker_id} ({self.host}:{self.pid}), last beat {self.beat_at}"


class IdempotentRequest(models.Model):
    """The answer to an unsafe REST request sent with an ``Idempotency-Key`` header, kept
    for IZONIE_IDEMPOTENCY_TTL_SECONDS so that a retry (the client timed out, the
    connection dropped after the server committed) gets the same answer instead of
    doing the work twice (core.idempotency)."""

    # Whose key: a digest of the API token, or the signed-in user; keys of different
    # callers never meet.
    scope = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    # A digest of method, path and body: the same key with another request is an error.
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=255)
    body = models.BinaryField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_one_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"
