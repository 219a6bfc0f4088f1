"""A second FTS5 table on SQLite holding only the titles and summaries, for the first two
tiers of search candidates: a column filter on the full table (``{title summary} : ...``)
reads every posting of a word, body included (2-4 ms per statement at 10,000 articles),
this table only the title and summary ones (0.1-0.5 ms). PostgreSQL already has its own
``head`` tsvector with a GIN index. Filled from the full table, so no article is re-read.
The statements are copied here, not imported, so this migration keeps its meaning when the
search modules change."""

from django.db import migrations

SQLITE_CREATE = "CREATE VIRTUAL TABLE IF NOT EXISTS helpcenter_article_head_fts USING fts5(title, summary, locale UNINDEXED, tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3')"
SQLITE_FILL = "INSERT INTO helpcenter_article_head_fts (rowid, title, summary, locale) SELECT rowid, title, summary, locale FROM helpcenter_article_fts"
SQLITE_DROP = "DROP TABLE IF EXISTS helpcenter_article_head_fts"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE)
        schema_editor.execute(SQLITE_FILL)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [("helpcenter", "0003_article_images")]

    operations = [migrations.RunPython(create_index, drop_index)]
