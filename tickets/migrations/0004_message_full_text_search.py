"""Full-text index over every message's text for the console's global search.

SQLite: an FTS5 table with external content (the message table itself), kept in step by
triggers, so bulk inserts of the write path index their messages without a step of
their own. PostgreSQL: a GIN index on the message text's tsvector ('simple': names,
order numbers and words in any language match as written).
"""

from django.db import migrations

SQLITE_UP = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS tickets_message_fts USING fts5("
    "body_text, content='tickets_message', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS tickets_message_fts_ai AFTER INSERT ON tickets_message BEGIN "
    "INSERT INTO tickets_message_fts(rowid, body_text) VALUES (new.id, new.body_text); END",
    "CREATE TRIGGER IF NOT EXISTS tickets_message_fts_ad AFTER DELETE ON tickets_message BEGIN "
    "INSERT INTO tickets_message_fts(tickets_message_fts, rowid, body_text) "
    "VALUES ('delete', old.id, old.body_text); END",
    "CREATE TRIGGER IF NOT EXISTS tickets_message_fts_au AFTER UPDATE OF body_text "
    "ON tickets_message BEGIN "
    "INSERT INTO tickets_message_fts(tickets_message_fts, rowid, body_text) "
    "VALUES ('delete', old.id, old.body_text); "
    "INSERT INTO tickets_message_fts(rowid, body_text) VALUES (new.id, new.body_text); END",
    "INSERT INTO tickets_message_fts(tickets_message_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS tickets_message_fts_ai",
    "DROP TRIGGER IF EXISTS tickets_message_fts_ad",
    "DROP TRIGGER IF EXISTS tickets_message_fts_au",
    "DROP TABLE IF EXISTS tickets_message_fts",
]
POSTGRES_UP = [
    "CREATE INDEX IF NOT EXISTS tickets_message_body_fts ON tickets_message "
    "USING gin (to_tsvector('simple'::regconfig, body_text))",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS tickets_message_body_fts"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("tickets", "0003_ticket_requester_identity")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        )
    ]
