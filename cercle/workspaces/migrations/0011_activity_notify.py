"""PostgreSQL: every commit that adds Activity rows sends NOTIFY cercle_activity, '<workspace id>'.

The live stream (cercle.inbox.live) LISTENs and wakes at once instead of polling.
A statement-level trigger sends one notification per workspace and statement
(a bulk insert of 500 rows sends one); PostgreSQL delivers them at commit, and
drops them with a rollback. SQLite has no NOTIFY: nothing is installed there.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION cercle_activity_notify() RETURNS trigger AS $$
DECLARE ws bigint;
BEGIN
    FOR ws IN SELECT DISTINCT workspace_id FROM new_rows LOOP
        PERFORM pg_notify('cercle_activity', ws::text);
    END LOOP;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS cercle_activity_notify ON workspaces_activity;
CREATE TRIGGER cercle_activity_notify
    AFTER INSERT ON workspaces_activity
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cercle_activity_notify();
"""

DROP = """
DROP TRIGGER IF EXISTS cercle_activity_notify ON workspaces_activity;
DROP FUNCTION IF EXISTS cercle_activity_notify();
"""


def _on_postgresql(sql: str):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("workspaces", "0010_merge_20261130_1010")]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]
