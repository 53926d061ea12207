"""PostgreSQL search: a stored tsvector column on messages (GIN-indexed) and trigram indexes.

- `inbox_message.search_vector`: a generated column (PostgreSQL 12+), so the database keeps
  it up to date on every write, an edit included, whatever writes it (the ORM, bulk inserts,
  raw SQL). It is not a field of the model: Django never reads or writes it, and SQLite
  keeps its FTS5 table (migration 0003). Searching no longer computes to_tsvector for each
  row the GIN index hands back (a word found in every message took seconds). The expression
  must fold accents as search.PG_QUERY does. Adding it rewrites the table once.
- pg_trgm indexes on the contact's name and the identities' name and handle, in the form
  Django's `icontains` queries them (`UPPER(col::text) LIKE UPPER(%s)`): searching an author
  no longer scans every contact. The extension is trusted (PostgreSQL 13+), so a database
  owner may create it; where that is refused, the migration goes on without these indexes
  (the search still works, by a scan) and says so.
"""

import logging

from django.db import migrations, transaction

logger = logging.getLogger(__name__)

ACCENTS = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿ"
PLAIN = "aaaaaaceeeeiiiinooooouuuuyy"
DOCUMENT = f"to_tsvector('simple'::regconfig, translate(lower(text), '{ACCENTS}', '{PLAIN}'))"

FORWARD = [
    "ALTER TABLE inbox_message ADD COLUMN IF NOT EXISTS search_vector tsvector "
    f"GENERATED ALWAYS AS ({DOCUMENT}) STORED",
    "CREATE INDEX IF NOT EXISTS inbox_message_search_vector_idx ON inbox_message "
    "USING GIN (search_vector)",
    # The expression index of 0003 served the same search by recomputing each row's vector.
    "DROP INDEX IF EXISTS inbox_message_text_fts_idx",
]
BACKWARD = [
    "CREATE INDEX IF NOT EXISTS inbox_message_text_fts_idx ON inbox_message USING GIN "
    f"(to_tsvector('simple', translate(lower(text), '{ACCENTS}', '{PLAIN}')))",
    "DROP INDEX IF EXISTS inbox_message_search_vector_idx",
    "ALTER TABLE inbox_message DROP COLUMN IF EXISTS search_vector",
]
TRIGRAM = [
    "CREATE INDEX IF NOT EXISTS inbox_contact_name_trgm_idx ON inbox_contact "
    "USING GIN ((UPPER(display_name::text)) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS inbox_identity_name_trgm_idx ON inbox_identity "
    "USING GIN ((UPPER(display_name::text)) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS inbox_identity_handle_trgm_idx ON inbox_identity "
    "USING GIN ((UPPER(handle::text)) gin_trgm_ops)",
]
TRIGRAM_BACKWARD = [
    "DROP INDEX IF EXISTS inbox_contact_name_trgm_idx",
    "DROP INDEX IF EXISTS inbox_identity_name_trgm_idx",
    "DROP INDEX IF EXISTS inbox_identity_handle_trgm_idx",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in FORWARD:
        schema_editor.execute(statement)
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            for statement in TRIGRAM:
                schema_editor.execute(statement)
    except Exception as exc:  # noqa: BLE001 (any refusal: go on without the trigram indexes)
        logger.warning(
            "pg_trgm could not be set up (%s): author search will scan the contacts. "
            "See docs/deploy.md (Search indexes) to add them later.",
            exc,
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in [*TRIGRAM_BACKWARD, *BACKWARD]:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("inbox", "0010_conversation_default_sort_indexes")]

    operations = [migrations.RunPython(forward, backward)]
