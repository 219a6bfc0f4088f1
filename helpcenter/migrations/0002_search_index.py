"""The full-text index table of the database in use: FTS5 on SQLite, tsvector + GIN on
PostgreSQL. Raw SQL because neither is a Django model; helpcenter.search reads and writes
them. The statements are copied here, not imported, so this migration keeps its meaning
when the search modules change."""

from django.db import migrations

SQLITE_CREATE = "CREATE VIRTUAL TABLE IF NOT EXISTS helpcenter_article_fts USING fts5(title, summary, body, locale UNINDEXED, tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3')"
SQLITE_DROP = 'DROP TABLE IF EXISTS helpcenter_article_fts'
POSTGRES_CREATE = ['CREATE TABLE IF NOT EXISTS helpcenter_article_search (article_id bigint PRIMARY KEY, locale varchar(12) NOT NULL, config regconfig NOT NULL, title text NOT NULL, summary text NOT NULL, body text NOT NULL, head tsvector NOT NULL, document tsvector NOT NULL)', 'CREATE INDEX IF NOT EXISTS helpcenter_article_search_head ON helpcenter_article_search USING gin (head)', 'CREATE INDEX IF NOT EXISTS helpcenter_article_search_document ON helpcenter_article_search USING gin (document)']
POSTGRES_DROP = 'DROP TABLE IF EXISTS helpcenter_article_search'


def create_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE)
    elif vendor == "postgresql":
        for statement in POSTGRES_CREATE:
            schema_editor.execute(statement)


def drop_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)


class Migration(migrations.Migration):
    dependencies = [("helpcenter", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
