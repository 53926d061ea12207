"""The inbox's default sort puts whoever waits for an answer first (see queries._sorted).

The order becomes `(waiting_since IS NULL), priority DESC, waiting_since, last_activity_at
DESC, id`: before it, priority led, so an answered conversation that had been urgent stayed
above conversations still waiting. The four indexes of migration 0010 are rebuilt with the
columns in the new order (same names, same partial conditions; see 0010 for why each exists
and why the SQL is raw).
"""

from django.db import migrations

OPEN = "status IN ('new', 'open')"
WAIT = "waiting_since IS NULL, priority DESC, waiting_since"
PG_WAIT = "(waiting_since IS NULL), priority DESC, waiting_since"
NAMES = (
    "conv_open_sort_idx",
    "conv_open_assignee_sort_idx",
    "conv_status_sort_idx",
    "conv_all_sort_idx",
)
DROP = [f"DROP INDEX IF EXISTS {name}" for name in NAMES]


def _create(lead: str, activity: str) -> list[str]:
    """The four indexes, their sort columns led by `lead`."""
    return [
        f"CREATE INDEX conv_open_sort_idx ON inbox_conversation "
        f"(workspace_id, {lead}, {activity}, id) WHERE {OPEN}",
        f"CREATE INDEX conv_open_assignee_sort_idx ON inbox_conversation "
        f"(workspace_id, assignee_id, {lead}, {activity}, id) WHERE {OPEN}",
        f"CREATE INDEX conv_status_sort_idx ON inbox_conversation "
        f"(workspace_id, status, {lead}, {activity}, id)",
        f"CREATE INDEX conv_all_sort_idx ON inbox_conversation "
        f"(workspace_id, {lead}, {activity}, id)",
    ]


FORWARD = {
    "sqlite": DROP + _create(WAIT, "last_activity_at DESC"),
    "postgresql": DROP + _create(PG_WAIT, "last_activity_at DESC NULLS LAST"),
}
BACKWARD = {
    "sqlite": DROP
    + _create("priority DESC, waiting_since IS NULL, waiting_since", "last_activity_at DESC"),
    "postgresql": DROP
    + _create(
        "priority DESC, (waiting_since IS NULL), waiting_since", "last_activity_at DESC NULLS LAST"
    ),
}


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("inbox", "0012_merge_20261130_1645")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
