"""Full-text search over every message ever received: SQLite FTS5 or PostgreSQL full text.

The index lives in the database: an FTS5 external-content table kept in sync by
triggers on SQLite (migration 0003_message_search); on PostgreSQL a stored,
generated tsvector column `inbox_message.search_vector` with a GIN index
(migration 0011), so an edited message is re-indexed by the database itself.
Whatever the user types is treated as words, never as query syntax: quotes,
`*`, `NEAR`, `OR`, parentheses are inert. A query made only of such characters
(`%`, `*`) is looked for as plain text, never taken as "match everything".

Besides the messages' text, a search finds the people who wrote them: the
contact's name and every identity's handle and display name (`@léa` or `Léa`);
on PostgreSQL, trigram indexes (pg_trgm, migration 0011) serve those.

How it stays fast whatever the word: the ids of the matching conversations are
first read with a cap (MATCH_CAP rows). A rare word stays under it: the list is
then drawn from those few ids. A common word reaches it: the list then walks the
conversations in its own order (an index, migration 0010) and checks each for a
matching message (one index probe each), stopping at the page's end, instead of
gathering every match and sorting them all.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, F, Func, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.sql.compiler import SQLCompiler

from .models import Contact, Conversation, Identity, Message

# The FTS5 table's name; the migration creates it and its triggers.
FTS_TABLE = "inbox_message_fts"
# Longest query we look at; a search box never needs more.
MAX_QUERY_LENGTH = 200
MAX_TERMS = 12

_WORD = re.compile(r"\w+", re.UNICODE)

# PostgreSQL: accent folding without the unaccent extension (which needs a
# superuser): translate() is immutable, so the generated column can hold it. Must stay
# identical to the expression of migration 0011_message_search_vector_trigram.
PG_ACCENTS = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿ"
PG_PLAIN = "aaaaaaceeeeiiiinooooouuuuyy"
# The tsquery of a search, folded like the stored column (migration 0011, search_vector).
PG_QUERY = f"to_tsquery('simple', translate(lower(%s), '{PG_ACCENTS}', '{PG_PLAIN}'))"
# Above this many matching messages (or authors' conversations), a search walks the list in
# its order and checks each conversation rather than collecting every match (see above).
# Measured at 1 M messages (bench/search.py): collecting costs a row per match, walking about
# five messages per conversation walked; SQLite's per-message check (words_match, in Python)
# costs more than PostgreSQL's (the stored vector), so it collects more before walking.
MATCH_CAP = {"sqlite": 20_000, "postgresql": 5_000}


def _cap() -> int:
    return MATCH_CAP.get(connection.vendor, 5_000)


def search_terms(q: str) -> list[str]:
    """The words of a query, without any punctuation or operator characters."""
    return _WORD.findall(q[:MAX_QUERY_LENGTH])[:MAX_TERMS]


def fold(text: str) -> str:
    """Lower case without diacritics, as FTS5's `unicode61 remove_diacritics 2` indexes words."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# The SQLite function that checks one message the way the FTS5 query would (see below).
SQLITE_WORDS_MATCH = "cercle_words_match"


def words_match(text: str | None, prefixes: str | None) -> bool:
    """Whether every (folded) word of `prefixes` starts a word of `text`: FTS5's MATCH of
    fts5_query, for one message. SQLite's FTS5 rebuilds the whole list of a prefix's rows for
    each MATCH (about 0.1 s for a word in every message), so checking a message by its rowid
    cost that much; this function checks one text in microseconds."""
    if not text or prefixes is None:
        return False
    words = _TOKEN.findall(fold(text))
    return all(any(w.startswith(p) for w in words) for p in _TOKEN.findall(fold(prefixes)))


def register_sqlite_functions(connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """`connection_created` receiver: SQLite connections get SQLITE_WORDS_MATCH."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            SQLITE_WORDS_MATCH, 2, words_match, deterministic=True
        )


def fts5_query(q: str, *, prefix: bool = True) -> str:
    """An FTS5 MATCH expression: every word quoted (so `NEAR`, `OR`, `*` are plain words), prefix-matched, ANDed."""
    star = "*" if prefix else ""
    return " ".join('"' + term.replace('"', '""') + '"' + star for term in search_terms(q))


def _text_ids(
    workspace_id: int, q: str, terms: list[str], *, prefix: bool = True
) -> tuple[str, tuple[object, ...]] | None:
    """SQL selecting the conversation id of each message holding every word of `q` (as a
    prefix, or whole when not `prefix`), or `q` as text; None on a database without a
    full-text index."""
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
        return sql, (fts5_query(q, prefix=prefix), workspace_id)
    if connection.vendor == "postgresql":
        # The terms hold only word characters, so "a:* & b:*" cannot carry tsquery syntax.
        sql = (
            "SELECT m.conversation_id FROM inbox_message m "  # noqa: S608 (constant expression)
            f"WHERE m.workspace_id = %s AND m.search_vector @@ {PG_QUERY}"
        )
        return sql, (workspace_id, pg_tsquery(terms, prefix=prefix))
    return None


class _HasMatchingMessage(Func):
    """`EXISTS (a message of this conversation matching the search)`, for the outer conversation.

    The outer conversation's id is compiled by Django (so any table alias is right); the rest is
    the full-text condition of one message: FTS5 checked for that message's rowid, or the stored
    tsvector. Each row costs an index probe of the conversation's messages.
    """

    output_field = BooleanField()

    def __init__(self, condition: str, param: str) -> None:
        super().__init__(F("pk"))
        self.condition = condition
        self.param = param

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, tuple[object, ...]]:
        pk_sql, pk_params = compiler.compile(self.get_source_expressions()[0])
        sql = (
            "EXISTS (SELECT 1 FROM inbox_message m "  # noqa: S608 (constant SQL, bound parameters)
            f"WHERE m.conversation_id = {pk_sql} AND {self.condition})"
        )
        return sql, (*pk_params, self.param)


def _has_matching_message(q: str, terms: list[str]) -> Func | None:
    """The per-conversation text condition (see _HasMatchingMessage); None without an index."""
    if connection.vendor == "sqlite" and terms:
        return _HasMatchingMessage(f"{SQLITE_WORDS_MATCH}(m.text, %s)", " ".join(terms))
    if connection.vendor == "postgresql" and terms:
        return _HasMatchingMessage(f"m.search_vector @@ {PG_QUERY}", pg_tsquery(terms))
    return None


def _is_common(sql: str, params: tuple[Any, ...]) -> bool:
    """Whether `sql` selects MATCH_CAP rows or more (it reads at most that many)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM ({sql}) found LIMIT 1 OFFSET %s",  # noqa: S608 (bound-parameter SQL)
            (*params, _cap() - 1),
        )
        return cursor.fetchone() is not None


def _any_workspace(text: tuple[str, tuple[object, ...]]) -> tuple[str, tuple[object, ...]]:
    """The whole-word check over every workspace on PostgreSQL: its rows then come from the
    GIN index alone (no table row to read for the workspace), and it only picks a path."""
    sql, params = text
    if connection.vendor != "postgresql":
        return text
    return sql.replace("m.workspace_id = %s AND ", ""), params[1:]


def _capped_ids(sql: str, params: tuple[Any, ...]) -> set[int] | None:
    """The distinct conversation ids `sql` selects (its one column), or None when it selects
    MATCH_CAP rows or more."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM ({sql}) found LIMIT %s", (*params, _cap()))  # noqa: S608
        rows = cursor.fetchall()
    if len(rows) >= _cap():
        return None
    return {row[0] for row in rows}


def _sql(qs: QuerySet[Any]) -> tuple[str, tuple[object, ...]]:
    """A queryset's SQL and parameters, unordered (a part of a UNION has no ORDER BY)."""
    sql, params = qs.order_by().query.sql_with_params()
    return sql, tuple(params)


def pg_tsquery(terms: list[str], *, prefix: bool = True) -> str:
    """A PostgreSQL tsquery: every word as a prefix, ANDed.

    Underscores are word characters for Python but separators for tsquery: they
    are spaces here, so `a_b` looks for `a` and `b`, and `_` alone for nothing.
    """
    words = [w for term in terms for w in term.replace("_", " ").split()]
    star = ":*" if prefix else ""
    return " & ".join(f"{word}{star}" for word in words)


def _author_ids(workspace_id: int, q: str, terms: list[str]) -> list[QuerySet[Any]]:
    """Conversations whose contact's name, or one of whose identities' handle or name, matches."""
    # "@lea" finds the handle "lea"; "@" alone is looked for as it is (never an empty needle).
    handle = q.lstrip("@").strip() or q
    words = terms or [q]
    by_name = Q(workspace_id=workspace_id)
    identity_name = Q(workspace_id=workspace_id)
    for word in words:
        by_name &= Q(display_name__icontains=word)
        identity_name &= Q(display_name__icontains=word)
    # The contacts first (a trigram index on PostgreSQL), then their conversations by key:
    # a join made the database read every conversation and look its contact up.
    contacts = Contact.objects.filter(by_name).values("pk")
    identities = Identity.objects.filter(
        identity_name | Q(workspace_id=workspace_id, handle__icontains=handle)
    ).values("contact_id")
    return [
        Conversation.objects.filter(workspace_id=workspace_id, contact_id__in=contacts).values(
            "pk"
        ),
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
    # Few matches (the usual case): the ids, read from the indexes (full text, trigrams), and
    # the list sorts those few. Many: a condition checked row by row as the list is walked in
    # its order, which stops at the page's end (see the module's docstring).
    parts: list[tuple[str, tuple[object, ...]]] = []
    walked: list[Q] = []
    # Whole words first: read as a stream, they tell cheaply that a search is common (its
    # prefixes then match even more), where a prefix makes the database gather all its rows.
    whole = _text_ids(workspace_id, q, terms, prefix=False) if terms else None
    if (whole is not None and _is_common(*_any_workspace(whole))) or _is_common(*text):
        per_row = _has_matching_message(q, terms)
        # A literal search (punctuation only) has no index to probe: the ids' subquery.
        walked.append(Q(per_row) if per_row is not None else Q(pk__in=RawSQL(*text)))  # noqa: S611
    else:
        parts.append(text)
    author_ids: set[int] = set()
    for qs in authors:
        found = _capped_ids(*_sql(qs))
        if found is None:
            walked.append(Q(pk__in=qs))
        else:
            author_ids |= found
    if author_ids:
        parts.append(_sql(Conversation.objects.filter(pk__in=sorted(author_ids)).values("pk")))
    # One set of ids, a UNION of its sources, rather than an OR of conditions: the database
    # reads the few matching conversations by their keys and sorts them, where an OR made it
    # walk every conversation of the workspace in the list's order and test each.
    condition = Q(pk__in=[])
    if parts:
        sql = " UNION ".join(part for part, _params in parts)
        params = tuple(p for _sql_text, part_params in parts for p in part_params)
        condition = Q(pk__in=RawSQL(sql, params))  # noqa: S611 (bound-parameter SQL)
    for other in walked:
        condition |= other
    return condition


def matching_conversation_ids(workspace_id: int, q: str) -> list[int]:
    """Ids of the workspace's conversations matching `q` (see conversation_search_filter)."""
    condition = conversation_search_filter(workspace_id, q)
    if condition is None:
        return []
    return list(
        Conversation.objects.filter(condition, workspace_id=workspace_id)
        .values_list("pk", flat=True)
        .distinct()
    )
