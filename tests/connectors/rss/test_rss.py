"""RSS/Atom: parsing real feeds, conditional polling, duplicates, limits, egress guard, XXE."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from django.utils import timezone

from cercle.connectors.base import ActionKind, Capability, OutboundAction, Rejected
from cercle.connectors.choices import Health
from cercle.connectors.http import transport
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for
from cercle.connectors.rss.inbound import parse_feed
from cercle.inbox.models import Conversation, Message
from cercle.pipeline.actions import do_create_channel
from cercle.pipeline.poller import poll_channel
from cercle.workspaces.models import Workspace

FIXTURES = Path(__file__).resolve().parents[3] / "cercle" / "connectors" / "rss" / "fixtures"
FEED = "https://carnet-deco.example/feed.xml"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class FakeSite:
    """Serves one feed with validators; answers 304 when the client's validators match."""

    def __init__(self, body: bytes, etag: str = '"v1"', modified: str = "") -> None:
        self.body, self.etag = body, etag
        self.modified = modified or "Mon, 23 Nov 2026 08:20:00 GMT"
        self.requests: list[httpx.Request] = []
        self.answer: Callable[[httpx.Request], httpx.Response] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answer is not None:
            return self.answer(request)
        if request.headers.get("if-none-match") == self.etag:
            return httpx.Response(304, headers={"ETag": self.etag})
        return httpx.Response(
            200,
            content=self.body,
            headers={
                "Content-Type": "application/rss+xml",
                "ETag": self.etag,
                "Last-Modified": self.modified,
            },
        )


@pytest.fixture
def site() -> Iterator[FakeSite]:
    fake = FakeSite(fixture("lumen_blog.xml"))
    with transport(httpx.MockTransport(fake)):
        yield fake


def rss_channel(workspace: Workspace, url: str = FEED, keywords: str = "Lumen") -> Channel:
    return do_create_channel(
        workspace, "rss", "Carnet déco", config={"feed_url": url, "keywords": keywords}
    )


@pytest.fixture
def channel(workspace: Workspace) -> Channel:
    return rss_channel(workspace)


# --- parsing real feeds ------------------------------------------------------------------


def test_the_atom_example_of_rfc_4287_gives_one_mention_by_its_author() -> None:
    [item] = parse_feed(fixture("atom_rfc4287.xml"), "http://example.org/feed.atom")
    assert (item.external_id, item.kind, item.author and item.author.name, item.sent_at) == (
        "guid:tag:example.org,2003:3.2397",
        "mention",
        "Mark Pilgrim",
        datetime(2003, 12, 13, 12, 29, 29, tzinfo=UTC),
    )


def test_the_rss_2_sample_gives_four_items_html_reduced_to_text() -> None:
    items = parse_feed(fixture("rss2_sample.xml"), "http://liftoff.msfc.nasa.gov/rss.xml")
    assert [i.external_id.rsplit("#", 1)[1] for i in items] == [
        "item573",
        "item572",
        "item571",
        "item570",
    ] and items[0].text.endswith("at Russia's Star City.")


def test_dc_creator_is_the_author_and_html_is_inert_text() -> None:
    [first, *_rest] = parse_feed(fixture("lumen_blog.xml"), FEED, ["lumen"])
    assert first.author is not None and first.author.name == "Chloé Bernard"
    assert "<" not in first.text and "alert" not in first.text and "pixel" not in first.text


def test_external_entities_are_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-42")
    body = f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY leak SYSTEM "file://{secret}">]>
<rss version="2.0"><channel><title>t</title>
<item><title>Lumen &leak;</title><guid>x1</guid><description>&leak;</description></item>
</channel></rss>""".encode()
    items = parse_feed(body, FEED)
    assert items and all("TOPSECRET" not in i.text for i in items)


def test_nul_and_lone_surrogates_are_taken_out() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
        b"<title>Lumen&#xD800; ok\x00</title><guid>n1</guid></item></channel></rss>"
    )
    [item] = parse_feed(body, FEED)
    assert "\x00" not in item.text and "\ud800" not in item.text and "Lumen" in item.text


def test_a_document_that_is_no_feed_is_a_bad_payload(channel: Channel, site: FakeSite) -> None:
    site.body = b"<html><body>Not found</body></html>"
    poll_channel(channel)
    channel.refresh_from_db()
    assert channel.health == Health.DEGRADED and not Message.objects.exists()


# --- polling -----------------------------------------------------------------------------


def test_polling_stores_matching_items_as_mentions_each_its_own_conversation(
    channel: Channel, site: FakeSite
) -> None:
    poll_channel(channel)
    kinds = list(Conversation.objects.filter(channel=channel).values_list("kind", flat=True))
    # The republished copy (same link) and the item without "Lumen" are left out.
    assert kinds == ["mention", "mention"]


def test_the_second_poll_is_conditional_and_a_304_adds_nothing(
    channel: Channel, site: FakeSite
) -> None:
    poll_channel(channel)
    poll_channel(channel)
    second = site.requests[1]
    assert (
        second.headers["if-none-match"],
        second.headers["if-modified-since"],
        Message.objects.count(),
    ) == ('"v1"', "Mon, 23 Nov 2026 08:20:00 GMT", 2)


def test_the_same_feed_served_again_without_validators_gives_no_duplicate(
    channel: Channel, site: FakeSite
) -> None:
    site.etag = ""
    site.answer = lambda request: httpx.Response(200, content=site.body)
    poll_channel(channel)
    poll_channel(channel)
    assert Message.objects.count() == 2


def test_an_item_republished_under_a_new_guid_is_not_shown_again(
    channel: Channel, site: FakeSite
) -> None:
    poll_channel(channel)
    site.etag = '"v2"'
    site.body = site.body.replace(b"carnet-deco-1042</guid>", b"carnet-deco-9999</guid>")
    poll_channel(channel)
    assert Message.objects.count() == 2


def test_an_edited_item_updates_its_message(channel: Channel, site: FakeSite) -> None:
    poll_channel(channel)
    site.etag = '"v2"'
    site.body = site.body.replace(b"mais la livraison a pris 9 jours", b"livraison rapide")
    poll_channel(channel)
    message = Message.objects.get(external_id="guid:carnet-deco-1042")
    assert "livraison rapide" in message.text and Message.objects.count() == 2


def test_without_keywords_every_item_is_kept(workspace: Workspace, site: FakeSite) -> None:
    poll_channel(rss_channel(workspace, keywords=""))
    assert Message.objects.count() == 3  # four items, one a republished copy


def test_a_429_with_retry_after_pauses_the_channel(channel: Channel, site: FakeSite) -> None:
    site.answer = lambda request: httpx.Response(429, headers={"Retry-After": "600"})
    poll_channel(channel)
    channel.refresh_from_db()
    assert channel.paused_until is not None and channel.paused_until > timezone.now() + timedelta(
        seconds=590
    )


def test_a_503_without_retry_after_degrades_the_channel(channel: Channel, site: FakeSite) -> None:
    site.answer = lambda request: httpx.Response(503)
    poll_channel(channel)
    channel.refresh_from_db()
    assert channel.health == Health.DEGRADED and channel.paused_until is None


def test_a_private_feed_that_refuses_access_needs_reauth(channel: Channel, site: FakeSite) -> None:
    site.answer = lambda request: httpx.Response(401)
    poll_channel(channel)
    channel.refresh_from_db()
    assert channel.health == Health.NEEDS_REAUTH


def test_redirects_are_followed_and_the_new_address_read(channel: Channel, site: FakeSite) -> None:
    def moved(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/feed.xml":
            return httpx.Response(301, headers={"Location": "/nouveau-flux.xml"})
        return httpx.Response(200, content=fixture("lumen_blog.xml"))

    site.answer = moved
    poll_channel(channel)
    assert [r.url.path for r in site.requests] == ["/feed.xml", "/nouveau-flux.xml"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/feed.xml",
        "http://10.1.2.3/feed.xml",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_internal_feed_addresses_are_refused_outside_tests(workspace: Workspace, url: str) -> None:
    # No test transport here: the real client, with its egress guard, is used.
    channel = rss_channel(workspace, url=url)
    poll_channel(channel)
    channel.refresh_from_db()
    assert channel.health == Health.DEGRADED and "refused" in channel.health_detail


def test_a_feed_cannot_be_answered(channel: Channel) -> None:
    connector = connector_for(channel)
    with pytest.raises(Rejected):
        connector.perform(OutboundAction(kind=ActionKind.REPLY, idempotency_key="k"))
    assert connector.capabilities == frozenset({Capability.POLL, Capability.SEARCH})


def test_connection_test_counts_items(channel: Channel, site: FakeSite) -> None:
    assert connector_for(channel).test_connection().startswith("4 items in the feed, 2 kept")


def test_the_demo_blog_feed_reads_back_through_the_connector() -> None:
    from cercle.simulator.blogfeed import BlogPost, render_feed

    post = BlogPost(
        guid="blog-1",
        title="Test de la lampe Maison Lumen",
        link="https://blog.example/lampe",
        author="Chloé <Bernard> & co",
        published=datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
        html="<p>Une belle lampe, <b>livrée</b> en retard.</p>",
    )
    body = render_feed("Blog", "https://blog.example/", "Déco", [post])
    [item] = parse_feed(body, "https://blog.example/feed.xml", ["lumen"])
    assert (item.external_id, item.author and item.author.name, item.text) == (
        "guid:blog-1",
        "Chloé <Bernard> & co",
        "Test de la lampe Maison Lumen\n\nUne belle lampe, livrée en retard.",
    )


def test_a_feed_is_polled_every_fifteen_minutes_by_default(channel: Channel) -> None:
    from cercle.pipeline.poller import due_channels

    Channel.objects.filter(pk=channel.pk).update(
        last_polled_at=timezone.now() - timedelta(minutes=5)
    )
    early = channel in due_channels()
    Channel.objects.filter(pk=channel.pk).update(
        last_polled_at=timezone.now() - timedelta(minutes=16)
    )
    assert (early, channel in due_channels()) == (False, True)
