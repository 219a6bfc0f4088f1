"""Trigram indexes for the global search's "customers by name" (``icontains`` on the
display, first and last names).

PostgreSQL only (pg_trgm, a trusted extension: the database owner may create it): a
name matching nobody was a sequential scan of every customer.
"""

from django.db import migrations

POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    *(
        f"CREATE INDEX IF NOT EXISTS accounts_user_{column}_trgm ON accounts_user "
        f"USING gin (upper({column}::text) gin_trgm_ops)"
        for column in ("display_name", "first_name", "last_name")
    ),
]
POSTGRES_DOWN = [
    f"DROP INDEX IF EXISTS accounts_user_{column}_trgm"
    for column in ("display_name", "first_name", "last_name")
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_user_unverified_contact")]

    operations = [migrations.RunPython(_run(POSTGRES_UP), _run(POSTGRES_DOWN))]
