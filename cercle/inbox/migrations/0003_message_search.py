"""Full-text search over Message.text: FTS5 + triggers on SQLite, a GIN index on PostgreSQL."""

from django.db import migrations

SQLITE_FORWARD = [
    # External-content FTS5 table: stores only the index; rowid = inbox_message.id.
    """CREATE VIRTUAL TABLE IF NOT EXISTS inbox_message_fts USING fts5(
        text, content='inbox_message', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER IF NOT EXISTS inbox_message_fts_ai AFTER INSERT ON inbox_message BEGIN
        INSERT INTO inbox_message_fts(rowid, text) VALUES (new.id, new.text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS inbox_message_fts_ad AFTER DELETE ON inbox_message BEGIN
        INSERT INTO inbox_message_fts(inbox_message_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END""",
    # Only when the text changes: delivery-state updates must not touch the index.
    """CREATE TRIGGER IF NOT EXISTS inbox_message_fts_au AFTER UPDATE OF text ON inbox_message BEGIN
        INSERT INTO inbox_message_fts(inbox_message_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO inbox_message_fts(rowid, text) VALUES (new.id, new.text);
    END""",
    "INSERT INTO inbox_message_fts(inbox_message_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS inbox_message_fts_au",
    "DROP TRIGGER IF EXISTS inbox_message_fts_ad",
    "DROP TRIGGER IF EXISTS inbox_message_fts_ai",
    "DROP TABLE IF EXISTS inbox_message_fts",
]
# Serves search.conversation_search_filter: <the same expression> @@ to_tsquery(...).
# Accents folded with translate() (no unaccent extension needed); keep in sync with search.PG_DOCUMENT.
POSTGRES_FORWARD = [
    "CREATE INDEX IF NOT EXISTS inbox_message_text_fts_idx ON inbox_message USING GIN "
    "(to_tsvector('simple', translate(lower(text), 'àáâãäåçèéêëìíîïñòóôõöùúûüýÿ', 'aaaaaaceeeeiiiinooooouuuuyy')))",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS inbox_message_text_fts_idx"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("inbox", "0002_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        ),
    ]
