"""The full-text index table of the database in use: FTS5 on SQLite, tsvector + GIN on
PostgreSQL. Raw SQL because neither is a Django model; helpcenter.search owns both."""

from django.db import migrations


def create_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        from helpcenter.search.sqlite import CREATE_SQL

        schema_editor.execute(CREATE_SQL)
    elif vendor == "postgresql":
        from helpcenter.search.postgres import CREATE_SQL as statements

        for statement in statements:
            schema_editor.execute(statement)


def drop_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        from helpcenter.search.sqlite import DROP_SQL
    elif vendor == "postgresql":
        from helpcenter.search.postgres import DROP_SQL
    else:
        return
    schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [("helpcenter", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
