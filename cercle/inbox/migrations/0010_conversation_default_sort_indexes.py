"""Indexes that serve the inbox's default sort without sorting (see queries._sorted).

The default order is `priority DESC, waiting_since NULLS LAST, last_activity_at DESC, id`,
written `priority DESC, (waiting_since IS NULL), waiting_since, last_activity_at DESC, id`
because SQLite's indexes cannot hold NULLS LAST (and the same order then works on both
databases). Four indexes, created with raw SQL since Django's Index cannot say `IS NULL` the
same way on both:

- `conv_open_sort_idx`, partial on the open statuses (new, open): the default view lists both
  statuses in one order, which an index led by the status cannot give without a sort. Its
  WHERE must be written with literal values in the query (SQLite only uses a partial index
  when the query's own terms imply it, and it does not look at bound parameters): see
  queries.OPEN_STATUS_SQL.
- `conv_open_assignee_sort_idx`, the same led by the assignee: "mine", "unassigned", an agent's.
- `conv_status_sort_idx`, led by the status: one status at a time (pending, snoozed…).
- `conv_all_sort_idx`, every status: a search of all history, the "all" view, a tag.
"""

from django.db import migrations

OPEN = "status IN ('new', 'open')"
SQLITE_FORWARD = [
    "CREATE INDEX IF NOT EXISTS conv_open_sort_idx ON inbox_conversation "
    "(workspace_id, priority DESC, waiting_since IS NULL, waiting_since, last_activity_at DESC, id) "
    f"WHERE {OPEN}",
    "CREATE INDEX IF NOT EXISTS conv_open_assignee_sort_idx ON inbox_conversation "
    "(workspace_id, assignee_id, priority DESC, waiting_since IS NULL, waiting_since, "
    f"last_activity_at DESC, id) WHERE {OPEN}",
    "CREATE INDEX IF NOT EXISTS conv_status_sort_idx ON inbox_conversation "
    "(workspace_id, status, priority DESC, waiting_since IS NULL, waiting_since, "
    "last_activity_at DESC, id)",
    "CREATE INDEX IF NOT EXISTS conv_all_sort_idx ON inbox_conversation "
    "(workspace_id, priority DESC, waiting_since IS NULL, waiting_since, "
    "last_activity_at DESC, id)",
]
POSTGRES_FORWARD = [
    "CREATE INDEX IF NOT EXISTS conv_open_sort_idx ON inbox_conversation "
    "(workspace_id, priority DESC, (waiting_since IS NULL), waiting_since, "
    f"last_activity_at DESC NULLS LAST, id) WHERE {OPEN}",
    "CREATE INDEX IF NOT EXISTS conv_open_assignee_sort_idx ON inbox_conversation "
    "(workspace_id, assignee_id, priority DESC, (waiting_since IS NULL), waiting_since, "
    f"last_activity_at DESC NULLS LAST, id) WHERE {OPEN}",
    "CREATE INDEX IF NOT EXISTS conv_status_sort_idx ON inbox_conversation "
    "(workspace_id, status, priority DESC, (waiting_since IS NULL), waiting_since, "
    "last_activity_at DESC NULLS LAST, id)",
    "CREATE INDEX IF NOT EXISTS conv_all_sort_idx ON inbox_conversation "
    "(workspace_id, priority DESC, (waiting_since IS NULL), waiting_since, "
    "last_activity_at DESC NULLS LAST, id)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS conv_open_sort_idx",
    "DROP INDEX IF EXISTS conv_open_assignee_sort_idx",
    "DROP INDEX IF EXISTS conv_status_sort_idx",
    "DROP INDEX IF EXISTS conv_all_sort_idx",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("inbox", "0009_conversation_closed_view_activity_id_index")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": BACKWARD, "postgresql": BACKWARD}),
        ),
    ]
