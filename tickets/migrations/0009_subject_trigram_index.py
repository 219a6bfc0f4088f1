"""A trigram index for the global search's "words in the subject" (``icontains``).

PostgreSQL only (pg_trgm, a trusted extension: the database owner may create it): a
subject matching nothing was a sequential scan of every ticket, a second at a million.
SQLite keeps its scan (its data sets are small).
"""

from django.db import migrations

POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ticket_subject_trgm ON tickets_ticket "
    "USING gin (upper(subject::text) gin_trgm_ops)",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS ticket_subject_trgm"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("tickets", "0008_inbox_sort_orders")]

    operations = [migrations.RunPython(_run(POSTGRES_UP), _run(POSTGRES_DOWN))]
