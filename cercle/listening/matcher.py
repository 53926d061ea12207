"""The query matcher of a listening search: pure, no database, no network.

A search has three term lists: every term of `all_of` must appear, at least one
of `any_of` (when it has any), none of `none_of`. Matching ignores case and
accents ("Crème" matches "creme") and works on whole words or phrases: "lumen"
matches "Lumen!" and "#lumen" but not "lumenville". A term written as a hashtag
("#lumen") matches only the hashtag. Platforms' own search is looser (and each
differs): their results are only candidates, this function decides.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from cercle.connectors.base import SearchTerms


def fold(text: str) -> str:
    """Lowercase, without accents, whitespace collapsed (NFKD, combining marks dropped)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.split())


@lru_cache(maxsize=1024)
def _pattern(term: str) -> re.Pattern[str] | None:
    folded = fold(term)
    if not folded:
        return None
    # A plain term also matches its hashtag; a hashtag term only the hashtag.
    before = r"(?<![\w#])" if folded.startswith("#") else r"(?<!\w)"
    return re.compile(before + re.escape(folded) + r"(?!\w)")


def has_term(folded_text: str, term: str) -> bool:
    pattern = _pattern(term)
    return pattern is not None and pattern.search(folded_text) is not None


@dataclass(frozen=True)
class Query:
    all_of: Sequence[str] = ()
    any_of: Sequence[str] = ()
    none_of: Sequence[str] = ()
    languages: Sequence[str] = ()

    @property
    def is_empty(self) -> bool:
        return not any(fold(t) for t in [*self.all_of, *self.any_of])

    def terms(self) -> SearchTerms:
        """What to ask the platforms' search (each connector writes its own query from it).

        The platform's results are candidates; `matches` keeps the right ones.
        """

        def kept(terms: Sequence[str]) -> tuple[str, ...]:
            return tuple(t.strip() for t in terms if t.strip())

        return SearchTerms(
            all_of=kept(self.all_of),
            any_of=kept(self.any_of),
            none_of=kept(self.none_of),
            languages=kept(self.languages),
        )


def matches(query: Query, text: str, language: str = "") -> bool:
    """Whether `text` (in `language`, "" when unknown) answers `query`."""
    if query.is_empty:
        return False
    if query.languages and language and language not in query.languages:
        return False
    folded = fold(text)
    if not all(has_term(folded, t) for t in query.all_of if fold(t)):
        return False
    alternatives = [t for t in query.any_of if fold(t)]
    if alternatives and not any(has_term(folded, t) for t in alternatives):
        return False
    return not any(has_term(folded, t) for t in query.none_of)


def parse_terms(value: str) -> list[str]:
    """Terms typed one per line or comma-separated, trimmed, without repeats (first kept)."""
    seen: dict[str, str] = {}
    for chunk in re.split(r"[,\n]", value):
        term = " ".join(chunk.split())
        if term and fold(term) not in seen:
            seen[fold(term)] = term[:100]
    return list(seen.values())[:50]
