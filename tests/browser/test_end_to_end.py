"""The whole loop in a real browser: the community writes through Facebook's wire
format, the inbox fills live, a member replies, and the reply reaches the
(fake) platform through the real Facebook connector and the outbox sender."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cercle.inbox.models import Message
from cercle.pipeline.actions import do_create_channel, do_ingest_pending
from cercle.pipeline.sender import send_due
from cercle.simulator.platform import FakePlatform
from cercle.simulator.wire.base import SimAuthor, SimEvent, SimPost
from cercle.simulator.wire.facebook import FacebookWire
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture
def platform(settings):
    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["127.0.0.1"]
    fake = FakePlatform(react_probability=0.0).start()
    yield fake
    fake.stop()


def _events(now: datetime) -> list[SimEvent]:
    post = SimPost(
        "1010_2020",
        "Notre nouvelle lampe Halo est là !",
        "https://facebook.test/1010_2020",
        now - timedelta(days=1),
    )
    return [
        SimEvent(
            id="1010_2020_3001",
            type="comment",
            author=SimAuthor("9001", "Camille Durand", "camille", "fr"),
            text="Bonjour, ma commande n'est jamais arrivée, que faire ?",
            created_at=now - timedelta(minutes=5),
            post=post,
        ),
        SimEvent(
            id="1010_2020_3002",
            type="comment",
            author=SimAuthor("9002", "Oliver Smith", "oliver", "en"),
            text="Does the Halo lamp work with Google Home?",
            created_at=now - timedelta(minutes=3),
            post=post,
        ),
    ]


def test_inbox_fills_live_and_a_reply_reaches_the_platform(
    page, owner, workspace, platform, live_server
):
    wire = platform.add_wire("facebook-like", FacebookWire)
    setup = wire.setup()
    channel = do_create_channel(
        workspace,
        "facebook",
        "Lumen on Facebook",
        external_id=setup.external_id,
        config=setup.config,
        credentials=setup.credentials,
    )
    login(page, "lea")
    assert page.locator(".conv-row").count() == 0

    # The platform delivers its webhooks over real HTTP; the worker drains them.
    events = _events(datetime.now(tz=UTC))
    platform.remember("facebook-like", events)
    for delivery in wire.webhooks(events):
        response = httpx.post(
            f"{live_server.url}/hooks/{channel.uuid}",
            content=delivery.body,
            headers=delivery.headers,
        )
        assert response.status_code == 200
    assert do_ingest_pending().events >= 1

    # The list learns about them live, without a reload.
    page.wait_for_selector("#new-banner:not([hidden])")
    page.click("#new-banner")
    page.wait_for_selector(".conv-row:has-text('Camille Durand')")
    assert page.locator(".conv-row").count() == 2

    page.click(".conv-row:has-text('Camille Durand') a")
    page.wait_for_selector("#timeline .item-inbound")
    page.fill("#reply-text", "Bonjour Camille, nous regardons votre commande tout de suite.")
    page.click("#replybox button[type=submit]")
    page.wait_for_selector("#timeline .item-outbound")

    assert send_due() == 1  # what the worker does next
    replies = [a for a in platform.actions if a.kind == "reply"]
    assert [(a.target_id, a.text) for a in replies] == [
        ("1010_2020_3001", "Bonjour Camille, nous regardons votre commande tout de suite.")
    ]
    sent = Message.objects.get(direction="outbound")
    assert sent.delivery == "sent" and sent.external_id == replies[0].created_id
    # The delivery state reaches the open conversation live.
    page.wait_for_selector("#timeline .item-outbound .delivery-sent")
