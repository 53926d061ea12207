"""Full-text search over every message ever received: SQLite FTS5 or PostgreSQL full text.

The index lives in the database (see migration 0002_message_search): an FTS5
external-content table kept in sync by triggers on SQLite, a GIN expression
index on `to_tsvector('simple', text)` on PostgreSQL. Whatever the user types
is treated as words, never as query syntax: quotes, `*`, `NEAR`, `OR`,
parentheses are inert.
"""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

# The FTS5 table's name; the migration creates it and its triggers.
FTS_TABLE = "inbox_message_fts"
# Longest query we look at; a search box never needs more.
MAX_QUERY_LENGTH = 200
MAX_TERMS = 12

_WORD = re.compile(r"\w+", re.UNICODE)

# PostgreSQL: accent folding without the unaccent extension (which needs a
# superuser): translate() is immutable, so the GIN index can hold it. Must stay
# identical to the expression of migration 0002_message_search.
PG_ACCENTS = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿ"
PG_PLAIN = "aaaaaaceeeeiiiinooooouuuuyy"
PG_DOCUMENT = f"to_tsvector('simple', translate(lower(m.text), '{PG_ACCENTS}', '{PG_PLAIN}'))"


def search_terms(q: str) -> list[str]:
    """The words of a query, without any punctuation or operator characters."""
    return _WORD.findall(q[:MAX_QUERY_LENGTH])[:MAX_TERMS]


def fts5_query(q: str) -> str:
    """An FTS5 MATCH expression: every word quoted (so `NEAR`, `OR`, `*` are plain words), prefix-matched, ANDed."""
    return " ".join('"' + term.replace('"', '""') + '"*' for term in search_terms(q))


def conversation_search_filter(workspace_id: int, q: str) -> Q | None:
    """A filter on Conversation matching conversations with a message containing all words of `q`.

    None when `q` holds no word (the caller shows everything). Covers all
    history: inbound, outbound and notes, closed conversations included.
    """
    terms = search_terms(q)
    if not terms:
        return None
    if connection.vendor == "sqlite":
        sql = (
            f"SELECT m.conversation_id FROM {FTS_TABLE} f "  # noqa: S608 (constant table name)
            # CROSS JOIN fixes the order (SQLite never reorders it): the FTS match
            # runs once, then rows are fetched by primary key. A plain JOIN let the
            # planner scan messages and run the match for each (minutes at 40k).
            "CROSS JOIN inbox_message m ON m.id = f.rowid "
            f"WHERE {FTS_TABLE} MATCH %s AND m.workspace_id = %s"
        )
        return Q(pk__in=RawSQL(sql, (fts5_query(q), workspace_id)))  # noqa: S611 (values are bound parameters)
    if connection.vendor == "postgresql":
        # The terms hold only word characters, so "a:* & b:*" cannot carry tsquery
        # syntax; the document expression matches the GIN index.
        sql = (
            "SELECT m.conversation_id FROM inbox_message m "  # noqa: S608 (constant expression)
            f"WHERE m.workspace_id = %s AND {PG_DOCUMENT} @@ "
            f"to_tsquery('simple', translate(lower(%s), '{PG_ACCENTS}', '{PG_PLAIN}'))"
        )
        tsquery = " & ".join(f"{term}:*" for term in terms)
        return Q(pk__in=RawSQL(sql, (workspace_id, tsquery)))  # noqa: S611 (values are bound parameters)
    # Any other database: slow but correct.
    query = Q()
    for term in terms:
        query &= Q(messages__text__icontains=term)
    return query


def matching_conversation_ids(workspace_id: int, q: str) -> list[int]:
    """Ids of the workspace's conversations matching `q` (see conversation_search_filter)."""
    from .models import Conversation

    condition = conversation_search_filter(workspace_id, q)
    if condition is None:
        return []
    return list(
        Conversation.objects.filter(condition, workspace_id=workspace_id)
        .values_list("pk", flat=True)
        .distinct()
    )
