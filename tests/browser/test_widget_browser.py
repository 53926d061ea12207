"""The website widget in a real browser, on a page of another origin: no cookies, text stays text.

The shop's page is served by a second server of the test on 127.0.0.1, the
widget by the live server on localhost: two origins, so every call is a real
cross-origin request with its CORS preflight. (Both on loopback: Chromium
refuses a public page's calls to a loopback address.)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from cercle.inbox.actions import do_reply
from cercle.inbox.models import Message
from cercle.pipeline.actions import do_create_channel, do_ingest_pending
from cercle.pipeline.sender import send_due

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

HOSTILE = "<img src=x onerror=alert(1)> Bonjour, ma lampe clignote"
HOSTILE_NAME = "<script>alert('nom')</script>"
ANSWER = "<b onmouseover=alert(2)>Bonjour</b> : changez l’ampoule, voici comment."


class ShopPage(BaseHTTPRequestHandler):
    """The shop's one page, whose HTML the test sets."""

    html = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.html)))
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def shop() -> Iterator[tuple[str, type[ShopPage]]]:
    handler = type("Shop", (ShopPage,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_visitor_writes_from_another_site_and_reads_the_answer(
    page, owner, workspace, live_server, shop
) -> None:
    assert urlsplit(live_server.url).hostname == "localhost"
    shop_url, shop_page = shop
    channel = do_create_channel(
        workspace,
        "website",
        "Site Lumen",
        config={"site_url": shop_url},
        credentials={"webhook_secret": "s"},
    )
    shop_page.html = (
        '<!doctype html><html lang="fr"><head><title>Lampe Aube</title></head><body>'
        "<h1>Lampe Aube</h1>"
        f'<script src="{live_server.url}/w/{channel.uuid}/widget.js" async></script>'
        "</body></html>"
    ).encode()
    page.goto(f"{shop_url}/boutique/aube")

    page.click("button:has-text('Commenter ou nous écrire')")
    page.fill("input[aria-label='Votre nom (facultatif)']", HOSTILE_NAME)
    page.fill("textarea", HOSTILE)
    page.click("button[type=submit]:has-text('Envoyer')")
    page.wait_for_selector("text=Envoyé — nous vous répondrons ici.")

    assert do_ingest_pending().events == 1
    received = Message.objects.get()
    assert (received.text, received.conversation.post.external_id) == (
        HOSTILE,
        f"{shop_url}/boutique/aube",
    )
    do_reply(owner, received.conversation, ANSWER)
    assert send_due() == 1

    # Reopening the panel reads the thread again.
    page.click("button[aria-label='Fermer']")
    page.click("button:has-text('Commenter ou nous écrire')")
    page.wait_for_selector(".m.team")
    texts = page.locator(".m > div:last-child").all_inner_texts()
    widget_markup = page.locator("[data-cercle-widget]").evaluate(
        "host => host.shadowRoot.querySelectorAll('img, b, script').length"
    )
    assert (texts, widget_markup, page.dialogs, page.context.cookies()) == (
        [HOSTILE, ANSWER],
        0,
        [],
        [],
    )
