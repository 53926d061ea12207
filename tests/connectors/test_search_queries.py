"""How a listening search becomes platform queries: one per alternative, or one with OR."""

from __future__ import annotations

import pytest

from cercle.connectors.base import SearchTerms, or_queries
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for

TERMS = SearchTerms(all_of=("lumen",), any_of=("lampe", "lamp"), none_of=("recrute",))


def test_without_or_each_alternative_is_its_own_query(workspace):
    mastodon = Channel(
        workspace=workspace, platform="mastodon", config={"api_base": "https://m.example"}
    )
    assert connector_for(mastodon).search_queries(TERMS) == ["lumen lampe", "lumen lamp"]
    assert connector_for(mastodon).search_queries(SearchTerms(all_of=("a", "b"))) == ["a b"]
    assert connector_for(mastodon).search_queries(SearchTerms(none_of=("x",))) == []


def test_reddit_asks_once_with_or_and_not(workspace):
    reddit = Channel(workspace=workspace, platform="reddit", config={})
    assert connector_for(reddit).search_queries(TERMS) == ["lumen (lampe OR lamp) NOT recrute"]


def test_phrases_are_quoted_and_quotes_inside_terms_dropped():
    terms = SearchTerms(any_of=('maison "lumen"', "aube"))
    assert or_queries(terms, max_length=100) == ['("maison lumen" OR aube)']


def test_a_single_alternative_needs_no_group():
    assert or_queries(SearchTerms(any_of=("#lumen",)), max_length=100) == ["#lumen"]


@pytest.mark.parametrize("limit", [30, 60, 200])
def test_the_alternatives_are_spread_over_queries_within_the_length(limit):
    terms = SearchTerms(all_of=("lumen",), any_of=tuple(f"t{n:02d}" for n in range(20)))
    queries = or_queries(terms, max_length=limit)
    assert all(len(q) <= limit for q in queries)
    assert sorted(
        t
        for q in queries
        for t in q.replace("(", " ").replace(")", " ").split()
        if t.startswith("t")
    ) == [f"t{n:02d}" for n in range(20)]
    assert all(q.startswith("lumen") for q in queries)
