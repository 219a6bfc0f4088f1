"""An index of the task rows still to run, by task: the look-ups that ask "is one of
these queued already?" (the reports' refresh after every change that finds none planned,
the recovery sweeps) read every row still to run otherwise. The SLA timers keep one or
two rows per open ticket waiting for their time, so that was a scan growing with the
open tickets: 1.5 ms at 10,000 rows, 0.01 ms with this index (EXPLAIN ANALYZE,
PostgreSQL 2026-12-08).

The table is django-tasks-db's, so the index is written here as SQL rather than in its
model's Meta; both SQLite and PostgreSQL take a partial index in this form.
"""

from django.db import migrations

INDEX = "izonie_task_rows_ready_by_task"


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_worker_heartbeat_and_idempotent_request"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                f"CREATE INDEX IF NOT EXISTS {INDEX} ON django_tasks_database_dbtaskresult "
                "(task_path, run_after) WHERE status = 'READY'"
            ),
            reverse_sql=f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]
