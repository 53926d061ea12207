"""The connectors' public search: the request sent and the items read from the answers."""

from datetime import UTC, datetime

from cercle.connectors.base import Capability
from cercle.connectors.registry import connector_for

from .conftest import mastodon_channel, reddit_channel, rss_channel


def test_mastodon_searches_statuses_and_keeps_public_ones(workspace, platforms):
    connector = connector_for(mastodon_channel(workspace))
    assert connector.can(Capability.SEARCH)
    items = connector.search("lumen")
    (request,) = platforms.requests
    assert request.url.path == "/api/v2/search"
    assert request.url.params["q"] == "lumen"
    assert request.url.params["type"] == "statuses"
    assert request.url.params["resolve"] == "false"
    assert request.headers["authorization"] == "Bearer tok"
    # The direct status of the answer is never a public mention.
    assert [i.external_id for i in items] == ["115400000000000002", "115400000000000001"]
    assert all(i.kind == "mention" for i in items)
    assert "#Lumen" in items[1].text and "<a" not in items[1].text
    assert items[1].url == "http://localhost:3000/@mastodonpy_test_2/115400000000000001"
    assert items[1].author is not None and items[1].author.handle == "mastodonpy_test_2"


def test_mastodon_search_drops_what_is_older_than_since(workspace, platforms):
    connector = connector_for(mastodon_channel(workspace))
    since = datetime(2026, 10, 14, 19, 22, tzinfo=UTC)
    assert [i.external_id for i in connector.search("lumen", since)] == ["115400000000000002"]


def test_reddit_searches_newest_posts(workspace, platforms):
    connector = connector_for(reddit_channel(workspace))
    assert connector.can(Capability.SEARCH)
    items = connector.search("lumen lamp")
    (request,) = platforms.requests
    assert request.url.host == "oauth.reddit.com"
    assert request.url.path == "/search"
    assert request.url.params["q"] == "lumen lamp"
    assert request.url.params["sort"] == "new"
    # The post of a deleted account is left out.
    (item,) = items
    assert item.external_id == "t3_1abcd2"
    assert item.text.startswith("Lumen lamp review after a month\n\nThe #lumen desk lamp")
    assert (
        item.url
        == "https://www.reddit.com/r/lighting/comments/1abcd2/lumen_lamp_review_after_a_month/"
    )
    assert item.sent_at == datetime.fromtimestamp(1792006000, tz=UTC)


def test_a_feed_gives_every_item_not_only_the_channels_keywords(workspace, platforms):
    connector = connector_for(rss_channel(workspace))
    assert connector.can(Capability.SEARCH)
    items = connector.search("lumen")
    titles = [i.text.split("\n")[0] for i in items]
    # The channel keeps "salon" items for its inbox; the search sees the whole feed.
    assert "Ma nouvelle lampe Maison Lumen" in titles
    assert "Cinq idées pour un salon chaleureux" in titles
    assert all(i.kind == "mention" for i in items)
    assert all(i.url.startswith("https://carnet-deco.example/") for i in items if i.url)
    since = datetime(2026, 11, 22, tzinfo=UTC)
    assert "Cinq idées pour un salon chaleureux" not in [
        i.text.split("\n")[0] for i in connector.search("lumen", since)
    ]
