"""X recent search as a listening source: the query, paging, since_id, rate limits, a plan without it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cercle.connectors.base import Capability, NotAvailable, RateLimited, SearchTerms
from cercle.connectors.models import QuotaWindow
from cercle.connectors.registry import connector_for
from cercle.connectors.x.client import SEARCH_RECENT
from cercle.connectors.x.connector import snowflake_at
from cercle.core import clock

from .conftest import answer

pytestmark = pytest.mark.django_db

RATE = {
    "x-rate-limit-limit": "450",
    "x-rate-limit-remaining": "448",
    "x-rate-limit-reset": "1665183229",
}
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def test_the_recorded_answer_becomes_mentions(x_channel, fake_x):
    """Tweepy's recorded search answer (no expansions asked then): ids, texts, links."""
    fake_x.on(
        "GET",
        SEARCH_RECENT,
        answer("recorded_search_recent.json", headers=RATE),
        answer("v2_search_recent_empty.json", headers=RATE),
    )
    connector = connector_for(x_channel)
    assert connector.can(Capability.SEARCH)
    items = connector.search("Tweepy")
    assert len(items) == 10
    assert (items[0].external_id, items[0].text, items[0].kind) == (
        "1578516068309794817",
        "2022-10-07 22:42:12.637103 tweepy",
        "mention",
    )
    assert items[0].url == "https://x.com/i/web/status/1578516068309794817"
    # The recorded answer names a next page: it is asked for with its token.
    _first, second = fake_x.calls("GET", SEARCH_RECENT)
    assert second.url.params["next_token"] == "b26v89c19zqg8o3fpzbn1e0ffhxjiofzw6po136rvbnul"


def test_pages_are_followed_with_next_token_and_authors_read(x_channel, fake_x):
    fake_x.on(
        "GET",
        SEARCH_RECENT,
        answer("v2_search_recent_page1.json", headers=RATE),
        answer("v2_search_recent_page2.json", headers=RATE),
    )
    items = connector_for(x_channel).search("lumen (aube OR lampe) -is:retweet")
    first, second = fake_x.calls("GET", SEARCH_RECENT)
    assert first.url.params["query"] == "lumen (aube OR lampe) -is:retweet"
    assert first.url.params["max_results"] == "100"
    assert first.url.params["expansions"] == "author_id"
    assert "next_token" not in first.url.params
    assert second.url.params["next_token"] == "b26v89c19zqg8o3fosbt0qagk1mmn0b7e1bq0d1m5tcql"
    assert [(i.external_id, i.author.handle if i.author else "") for i in items] == [
        ("1861000000000000003", "camille_durand"),
        ("1861000000000000002", "MaisonLumen"),
        ("1861000000000000001", "sam_oneil"),
    ]
    # The brand's own post is an echo listening skips; X's escaping is undone.
    assert [i.from_brand for i in items] == [False, True, False]
    assert items[1].text == "New lamp from @MaisonLumen is out, the Aube & its dimmer look great"
    assert items[0].url == "https://x.com/camille_durand/status/1861000000000000003"
    assert items[0].sent_at == datetime(2026, 11, 26, 18, 2, 11, tzinfo=UTC)


def test_since_becomes_a_since_id_and_older_posts_are_dropped(x_channel, fake_x):
    fake_x.on("GET", SEARCH_RECENT, answer("v2_search_recent_page2.json", headers=RATE))
    since = datetime(2026, 11, 26, 12, tzinfo=UTC)
    with clock.at(NOW):
        items = connector_for(x_channel).search("lumen", since)
    (request,) = fake_x.calls("GET", SEARCH_RECENT)
    since_id = int(request.url.params["since_id"])
    # A Snowflake: the milliseconds since X's epoch in the high bits.
    assert since_id == int(snowflake_at(since))
    assert ((since_id + 1) >> 22) + 1288834974657 == int(since.timestamp() * 1000)
    assert items == []  # the only post is from 09:15, before `since`


def test_a_first_search_reaches_back_at_most_the_seven_days_of_recent_search(x_channel, fake_x):
    fake_x.on("GET", SEARCH_RECENT, answer("v2_search_recent_empty.json", headers=RATE))
    with clock.at(NOW):
        assert connector_for(x_channel).search("lumen", NOW - timedelta(days=30)) == []
    (request,) = fake_x.calls("GET", SEARCH_RECENT)
    assert int(request.url.params["since_id"]) >= int(snowflake_at(NOW - timedelta(days=7)))


def test_the_rate_limit_headers_are_kept_and_a_spent_window_is_not_called(x_channel, fake_x):
    reset = str(int((datetime.now(UTC) + timedelta(minutes=10)).timestamp()))
    spent = {"x-rate-limit-limit": "60", "x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}
    fake_x.on("GET", SEARCH_RECENT, answer("v2_search_recent_empty.json", headers=spent))
    connector = connector_for(x_channel)
    connector.search("lumen")
    window = QuotaWindow.objects.get(channel=x_channel, name=f"GET {SEARCH_RECENT}")
    assert (window.limit, window.used) == (60, 60)
    with pytest.raises(RateLimited):
        connector.search("lumen")
    assert len(fake_x.calls("GET", SEARCH_RECENT)) == 1


def test_a_429_is_a_rate_limit(x_channel, fake_x):
    fake_x.on("GET", SEARCH_RECENT, answer("error_429.json", status=429))
    with pytest.raises(RateLimited):
        connector_for(x_channel).search("lumen")


def test_a_plan_without_search_is_not_available_rather_than_an_error(x_channel, fake_x):
    fake_x.on("GET", SEARCH_RECENT, answer("error_403_client_forbidden.json", status=403))
    with pytest.raises(NotAvailable, match="not available on this X plan"):
        connector_for(x_channel).search("lumen")


def test_a_search_is_one_query_with_or_exclusions_and_languages(x_channel):
    terms = SearchTerms(
        all_of=("lumen",),
        any_of=("aube", "lampe de bureau", "#lumen"),
        none_of=("recrute",),
        languages=("fr", "en"),
    )
    assert connector_for(x_channel).search_queries(terms) == [
        'lumen (aube OR "lampe de bureau" OR #lumen) -recrute (lang:fr OR lang:en) -is:retweet'
    ]


def test_a_query_past_512_characters_is_split(x_channel):
    many = tuple(f"produit{n:03d}" for n in range(60))
    queries = connector_for(x_channel).search_queries(SearchTerms(all_of=("lumen",), any_of=many))
    assert len(queries) == 2 and all(len(q) <= 512 for q in queries)
    assert sum(q.count("produit") for q in queries) == 60
