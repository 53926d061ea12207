"""PostgreSQL: every commit that stores RawEvents sends NOTIFY cercle_ingest.

The stored RawEvent is the ingest queue: the worker's ingest waker LISTENs and
enqueues one drain for however many deliveries arrived, instead of each webhook
querying the task table and inserting a task row. A statement-level trigger
sends one notification per statement; PostgreSQL folds identical notifications
of one transaction into one, delivers them at commit and drops them with a
rollback. SQLite has no NOTIFY: nothing is installed there (the waker polls).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION cercle_ingest_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('cercle_ingest', '');
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS cercle_ingest_notify ON pipeline_rawevent;
CREATE TRIGGER cercle_ingest_notify
    AFTER INSERT ON pipeline_rawevent
    FOR EACH STATEMENT EXECUTE FUNCTION cercle_ingest_notify();
"""

DROP = """
DROP TRIGGER IF EXISTS cercle_ingest_notify ON pipeline_rawevent;
DROP FUNCTION IF EXISTS cercle_ingest_notify();
"""


def _on_postgresql(sql: str):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0003_rawevent_item_errors")]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]
