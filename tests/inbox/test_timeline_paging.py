"""A long conversation opens on its latest messages; earlier ones come a page at a time."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from cercle.inbox import queries
from cercle.inbox.models import Conversation, Message
from tests.conftest import sim_event
from tests.inbox.test_views import login, receive

AUTHOR = {"id": "u1", "name": "Camille Durand", "handle": "camille"}


@pytest.fixture
def lea(client, owner):
    return login(client, "lea")


@pytest.fixture
def long_conversation(sim_channel, monkeypatch):
    monkeypatch.setattr(queries, "TIMELINE_PAGE_SIZE", 4)
    receive(
        sim_channel,
        *[
            sim_event(f"m{i}", type="message", text=f"texte {i:02d}", author=AUTHOR)
            for i in range(10)
        ],
    )
    conversation = Conversation.objects.get()
    ids = list(
        Message.objects.filter(conversation=conversation)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    assert len(ids) == 10
    return conversation, ids


def shown(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="message-(\d+)"', html)]


def test_the_conversation_opens_on_its_latest_messages(lea, long_conversation):
    conversation, ids = long_conversation
    html = lea.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    assert shown(html) == ids[6:]
    assert "Show 6 earlier messages" in html
    assert f"?before={ids[6]}" in html


def test_the_earlier_link_brings_the_page_before_then_the_rest(lea, long_conversation):
    conversation, ids = long_conversation
    url = reverse("inbox:timeline", args=[conversation.pk])
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "timeline-more"}
    page = lea.get(url, {"before": ids[6]}, **htmx).content.decode()
    assert shown(page) == ids[2:6] and 'id="timeline"' not in page
    assert "Show 2 earlier messages" in page and f"?before={ids[2]}" in page
    last = lea.get(url, {"before": ids[2]}, **htmx).content.decode()
    assert shown(last) == ids[:2] and "earlier message" not in last


def test_without_javascript_the_link_shows_the_whole_conversation(lea, long_conversation):
    conversation, ids = long_conversation
    url = reverse("inbox:conversation", args=[conversation.pk])
    html = lea.get(url, {"full": "1"}).content.decode()
    assert shown(html) == ids and "earlier message" not in html


def test_a_short_conversation_has_no_earlier_link(lea, sim_channel):
    receive(sim_channel, sim_event("s1", type="message", text="court", author=AUTHOR))
    conversation = Conversation.objects.get()
    html = lea.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    assert len(shown(html)) == 1 and "earlier message" not in html


def test_a_live_refresh_keeps_the_earlier_pages_opened(lea, long_conversation, sim_channel):
    conversation, ids = long_conversation
    # The member opened one earlier page (oldest shown: ids[2]); then a message arrives.
    receive(sim_channel, sim_event("m10", type="message", text="texte 10", author=AUTHOR))
    newest = Message.objects.filter(conversation=conversation).order_by("-id").first().pk
    url = reverse("inbox:timeline", args=[conversation.pk])
    refreshed = lea.get(url, {"since": ids[2]}).content.decode()
    assert shown(refreshed) == [*ids[2:], newest]
    assert "Show 2 earlier messages" in refreshed and f"?before={ids[2]}" in refreshed
    whole = lea.get(reverse("inbox:conversation", args=[conversation.pk]), {"since": ids[2]})
    assert shown(whole.content.decode()) == [*ids[2:], newest]
    # A message id of nothing here (another conversation's, or gone): the latest page.
    assert shown(lea.get(url, {"since": 10**9}).content.decode()) == [*ids[7:], newest]
