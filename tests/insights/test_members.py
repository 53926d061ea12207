"""Members of the community: most active, first-time or returning, advocates and critics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.test import Client
from django.urls import reverse

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Message
from cercle.insights.members import build_members
from cercle.insights.queries import Period
from tests.conftest import sim_body, sim_event

START = datetime(2026, 11, 2, tzinfo=UTC)
PERIOD = Period(START, START + timedelta(days=7))
HOSTILE = "<img src=x onerror=alert(1)>"


def write(channel, key: str, who: str, when: datetime, sentiment: str) -> None:
    event = sim_event(
        key,
        text=f"message {key}",
        created_at=when.isoformat(),
        author={"id": who, "name": who.title()},
    )
    do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(event))))
    Message.objects.filter(external_id=key).update(sentiment=sentiment)


def test_members_by_hand(workspace, sim_channel):
    day = timedelta(days=1)
    # Ana wrote before the period (returning) and three times in it, all happy.
    write(sim_channel, "a0", "ana", START - 3 * day, "positive")
    for n in range(3):
        write(sim_channel, f"a{n + 1}", "ana", START + n * day, "positive")
    # Bob, first-time, twice unhappy then once neutral; Cy once, happy (too few to rank).
    write(sim_channel, "b1", "bob", START + day, "negative")
    write(sim_channel, "b2", "bob", START + 2 * day, "negative")
    write(sim_channel, "b3", "bob", START + 3 * day, "neutral")
    write(sim_channel, "c1", "cy", START + 4 * day, "positive")
    result = build_members(workspace, PERIOD)
    assert (result.active, result.first_time, result.returning) == (3, 2, 1)
    assert [(m.name, m.messages) for m in result.most_active] == [("Ana", 3), ("Bob", 3), ("Cy", 1)]
    assert [(m.name, m.balance, m.returning) for m in result.advocates] == [("Ana", 3, True)]
    assert [(m.name, m.balance, m.returning) for m in result.critics] == [("Bob", -2, False)]
    # Sentiment message after message, oldest first, within the period.
    assert result.critics[0].dots == ["negative", "negative", "neutral"]


def test_the_page_shows_names_as_text(owner, workspace, sim_channel):
    write(sim_channel, "h1", "x", START + timedelta(days=1), "negative")
    Message.objects.filter(external_id="h1").first().conversation.contact.__class__.objects.update(
        display_name=HOSTILE
    )
    client = Client()
    client.login(username="lea", password="correct horse battery")
    with clock.at(PERIOD.end):
        html = client.get(reverse("insights:members"), {"days": 7}).content.decode()
    assert "Most active" in html and HOSTILE not in html and "&lt;img" in html
