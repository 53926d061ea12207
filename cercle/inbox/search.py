"""Full-text search over every message ever received: SQLite FTS5 or PostgreSQL full text.

The index lives in the database (see migration 0002_message_search): an FTS5
external-content table kept in sync by triggers on SQLite, a GIN expression
index on `to_tsvector('simple', text)` on PostgreSQL. Whatever the user types
is treated as words, never as query syntax: quotes, `*`, `NEAR`, `OR`,
parentheses are inert. A query made only of such characters (`%`, `*`) is
looked for as plain text, never taken as "match everything".

Besides the messages' text, a search finds the people who wrote them: the
contact's name and every identity's handle and display name (`@léa` or `Léa`).
"""

from __future__ import annotations

import re
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from .models import Identity, Message

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


def _text_ids(workspace_id: int, q: str, terms: list[str]) -> tuple[str, tuple[object, ...]] | None:
    """SQL selecting the ids of the conversations with a message holding every word of `q`
    (as a prefix), or `q` as text; None on a database without a full-text index."""
    if not terms:
        # Only punctuation (`%`, `*`, `"`): look for it literally. Django escapes LIKE's
        # wildcards, so `%` finds a "%" in a message, not every message.
        literal = q[:MAX_QUERY_LENGTH]
        return _sql(
            Message.objects.filter(workspace_id=workspace_id, text__icontains=literal).values(
                "conversation_id"
            )
        )
    if connection.vendor == "sqlite":
        sql = (
            f"SELECT m.conversation_id FROM {FTS_TABLE} f "  # noqa: S608 (constant table name)
            # CROSS JOIN fixes the order (SQLite never reorders it): the FTS match
            # runs once, then rows are fetched by primary key. A plain JOIN let the
            # planner scan messages and run the match for each (minutes at 40k).
            "CROSS JOIN inbox_message m ON m.id = f.rowid "
            f"WHERE {FTS_TABLE} MATCH %s AND m.workspace_id = %s"
        )
        return sql, (fts5_query(q), workspace_id)
    if connection.vendor == "postgresql":
        # The terms hold only word characters, so "a:* & b:*" cannot carry tsquery
        # syntax; the document expression matches the GIN index.
        sql = (
            "SELECT m.conversation_id FROM inbox_message m "  # noqa: S608 (constant expression)
            f"WHERE m.workspace_id = %s AND {PG_DOCUMENT} @@ "
            f"to_tsquery('simple', translate(lower(%s), '{PG_ACCENTS}', '{PG_PLAIN}'))"
        )
        return sql, (workspace_id, pg_tsquery(terms))
    return None


def _sql(qs: QuerySet[Any]) -> tuple[str, tuple[object, ...]]:
    """A queryset's SQL and parameters, unordered (a part of a UNION has no ORDER BY)."""
    sql, params = qs.order_by().query.sql_with_params()
    return sql, tuple(params)


def pg_tsquery(terms: list[str]) -> str:
    """A PostgreSQL tsquery: every word as a prefix, ANDed.

    Underscores are word characters for Python but separators for tsquery: they
    are spaces here, so `a_b` looks for `a` and `b`, and `_` alone for nothing.
    """
    words = [w for term in terms for w in term.replace("_", " ").split()]
    return " & ".join(f"{word}:*" for word in words)


def _author_ids(workspace_id: int, q: str, terms: list[str]) -> list[QuerySet[Any]]:
    """Conversations whose contact's name, or one of whose identities' handle or name, matches."""
    from .models import Conversation

    # "@lea" finds the handle "lea"; "@" alone is looked for as it is (never an empty needle).
    handle = q.lstrip("@").strip() or q
    words = terms or [q]
    by_name = Q(workspace_id=workspace_id)
    identity_name = Q(workspace_id=workspace_id)
    for word in words:
        by_name &= Q(contact__display_name__icontains=word)
        identity_name &= Q(display_name__icontains=word)
    identities = Identity.objects.filter(
        identity_name | Q(workspace_id=workspace_id, handle__icontains=handle)
    ).values("contact_id")
    return [
        Conversation.objects.filter(by_name).values("pk"),
        Conversation.objects.filter(workspace_id=workspace_id, contact_id__in=identities).values(
            "pk"
        ),
    ]


def conversation_search_filter(workspace_id: int, q: str) -> Q | None:
    """A filter on Conversation for the search `q`: its messages or its author match.

    Matches conversations with a message containing all words of `q` (each as
    a prefix), or whose author's name or handle contains them. None only when
    `q` is blank (the caller shows everything); a query of operator characters
    alone is looked for as text. Covers all history: inbound, outbound and
    notes, closed conversations included.
    """
    q = q[:MAX_QUERY_LENGTH].replace("\x00", "").strip()
    if not q:
        return None
    terms = search_terms(q)
    authors = _author_ids(workspace_id, q, terms)
    text = _text_ids(workspace_id, q, terms)
    if text is None:
        # Any other database: slow but correct.
        by_text = Q()
        for term in terms or [q]:
            by_text &= Q(messages__text__icontains=term)
        return by_text | Q(pk__in=authors[0]) | Q(pk__in=authors[1])
    # One set of ids, a UNION of its three sources, rather than an OR of three conditions:
    # the database reads the few matching conversations from the indexes (full text, then
    # primary keys) and sorts them, where an OR made it walk every conversation of the
    # workspace in the list's order and test each (the whole workspace when nothing matches).
    parts = [text, *(_sql(qs) for qs in authors)]
    sql = " UNION ".join(part for part, _params in parts)
    params = tuple(p for _sql_text, part_params in parts for p in part_params)
    return Q(pk__in=RawSQL(sql, params))  # noqa: S611 (composed of bound-parameter SQL)


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
