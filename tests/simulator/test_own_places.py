"""The demo's own places: the blog feed, the sample site with the widget, the mailbox."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for
from cercle.inbox.models import Message
from cercle.simulator import mailserver
from cercle.simulator.community import Community
from cercle.simulator.driver import backfill
from cercle.simulator.own_places import (
    BLOG_KEY,
    LIVE_BLOG_SECONDS,
    MAIL_KEY,
    SITE_KEY,
    LiveOwnPlaces,
    OwnPlaces,
    connect_own_places,
    poll,
)
from cercle.simulator.platform import FakePlatform

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
CERCLE = "http://127.0.0.1:8123"


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with FakePlatform() as running:
        yield running


@pytest.fixture
def places(platform: FakePlatform, monkeypatch: pytest.MonkeyPatch) -> Iterator[OwnPlaces]:
    community = Community(42, authors=30)
    # A quiet community on the social channels: these tests are about the own places.
    monkeypatch.setattr(
        community, "events_between", partial(Community.events_between, community, per_day=4)
    )
    own = OwnPlaces(community, cercle_url=CERCLE)
    platform.pages = own.page
    yield own
    own.stop()


def test_the_sample_page_embeds_the_website_channels_widget(workspace, platform, places):
    channels = connect_own_places(workspace, places, platform.base_url)
    status, body, _headers = platform.dispatch("GET", "/site/en/", {}, b"")
    page = body.decode()
    assert status == 200
    assert f'<script src="{CERCLE}/w/{channels[SITE_KEY].uuid}/widget.js" async></script>' in page
    assert page.count("<script") == 1  # the widget's tag and no inline script
    # The page's origin is the channel's site: the widget's CORS lets it call Cercle.
    assert platform.base_url in connector_for(channels[SITE_KEY]).allowed_origins()  # type: ignore[attr-defined]  # WebsiteConnector


def test_the_feed_answers_304_to_its_etag_and_changes_with_a_new_post(workspace, platform, places):
    connect_own_places(workspace, places, platform.base_url)
    places.publish(places.blog_history(NOW - timedelta(days=10), NOW))
    status, body, headers = platform.dispatch("GET", "/blog/feed.xml", {}, b"")
    assert status == 200 and b"Lumen" in body
    etag = headers["ETag"]
    again = platform.dispatch("GET", "/blog/feed.xml", {"if-none-match": etag}, b"")
    assert again[0] == 304
    places.publish([places.blog_post(random.Random(1), NOW, "live-1")])
    changed = platform.dispatch("GET", "/blog/feed.xml", {"if-none-match": etag}, b"")
    assert changed[0] == 200 and changed[2]["ETag"] != etag


def test_connecting_twice_repoints_the_same_channels(workspace, places):
    with FakePlatform() as first, FakePlatform() as second:
        connect_own_places(workspace, places, first.base_url)
        channels = connect_own_places(workspace, places, second.base_url)
    assert Channel.objects.filter(workspace=workspace).count() == 2 == len(channels)
    blog = Channel.objects.get(pk=channels[BLOG_KEY].pk)
    assert blog.config["feed_url"] == f"{second.base_url}/blog/feed.xml"


def test_a_backfill_brings_blog_mentions_through_the_rss_connector(
    settings, workspace, owner, agent, platform, places
):
    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["127.0.0.1"]
    backfill(
        workspace, days=4, now=NOW, platform=platform, community=places.community, places=places
    )
    assert {"rss", "website"} <= set(
        Channel.objects.filter(workspace=workspace).values_list("platform", flat=True)
    )
    mentions = Message.objects.filter(channel=places.channels[BLOG_KEY], kind="mention")
    assert mentions.exists()
    assert all("Lumen" in m.text for m in mentions)  # the off-topic posts stayed out


def test_a_backfill_puts_visitors_messages_in_the_widget_and_answers_some(
    settings, workspace, owner, agent, platform, places
):
    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["127.0.0.1"]
    backfill(
        workspace, days=3, now=NOW, platform=platform, community=places.community, places=places
    )
    site = places.channels[SITE_KEY]
    assert Message.objects.filter(channel=site, direction="inbound", is_private=True).exists()
    assert Message.objects.filter(channel=site, direction="outbound", delivery="sent").exists()


def test_a_backfill_brings_mail_in_over_imap_and_answers_it_over_smtp(
    settings, workspace, owner, agent, platform, places
):
    if not mailserver.available():
        pytest.skip(mailserver.MISSING_MESSAGE)
    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["127.0.0.1"]
    assert places.start_mail()
    backfill(
        workspace, days=3, now=NOW, platform=platform, community=places.community, places=places
    )
    mailbox = places.channels[MAIL_KEY]
    assert mailbox.platform == "email"
    assert Message.objects.filter(channel=mailbox, direction="inbound").exists()
    assert places.mail is not None
    answered = Message.objects.filter(channel=mailbox, direction="outbound", delivery="sent")
    assert answered.count() == len(places.mail.received) > 0


def test_the_live_loop_does_not_thank_again_for_the_backfills_answers(
    settings, workspace, owner, agent, platform, places
):
    # The backfill thanked back for its own answers, in the past; the live loop thanking
    # for them again, all at once at start, made every demo open on a volume crisis.
    if not mailserver.available():
        pytest.skip(mailserver.MISSING_MESSAGE)
    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["127.0.0.1"]
    assert places.start_mail()
    backfill(
        workspace, days=3, now=NOW, platform=platform, community=places.community, places=places
    )
    assert places.mail is not None and places.mail.received
    live = LiveOwnPlaces(places, seed=3)
    live._thanks_for_answers(NOW)
    assert live._later == []


def test_the_live_loop_puts_a_new_post_on_the_blog_now_and_then(workspace, platform, places):
    connect_own_places(workspace, places, platform.base_url)
    live = LiveOwnPlaces(places, seed=3)
    live.step(NOW, 2 * LIVE_BLOG_SECONDS)  # long enough for a post to be certain
    assert live.published == 1 == len(places.posts)


def test_the_live_loop_writes_mail_that_the_connector_picks_up(
    settings, workspace, owner, agent, platform, places
):
    if not mailserver.available():
        pytest.skip(mailserver.MISSING_MESSAGE)
    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["127.0.0.1"]
    assert places.start_mail()
    mailbox = connect_own_places(workspace, places, platform.base_url)[MAIL_KEY]
    LiveOwnPlaces(places, seed=3).step(NOW, 1000)  # long enough for a mail to be certain
    assert poll(mailbox) >= 1
    assert Message.objects.filter(channel=mailbox, direction="inbound").count() >= 1


def test_the_mailbox_starts_with_a_password_that_looks_like_an_option(places):
    # The demo's generated password may start with "-" (token_urlsafe).
    if not mailserver.available():
        pytest.skip(mailserver.MISSING_MESSAGE)
    assert places.start_mail(password="-S9CwdAFkgQT")
    assert places.mail is not None
    client = places.mail.imap()
    assert client.select("INBOX")[0] == "OK"
    client.logout()
