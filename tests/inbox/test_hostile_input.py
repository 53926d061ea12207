"""Hostile input to the inbox found in review: each gets a clear error, never a 500."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.test import Client
from django.urls import reverse

from cercle.inbox.models import Conversation, Message
from cercle.inbox.queries import InboxFilters
from tests.conftest import sim_event
from tests.inbox.test_views import receive

# Larger than any id the database can hold (a signed 64-bit integer).
HUGE = "9" * 30


@pytest.fixture
def lea(owner) -> Client:
    # Server errors become responses, as a browser would see them.
    client = Client(raise_request_exception=False)
    assert client.login(username="lea", password="correct horse battery")
    return client


@pytest.fixture
def conversation(sim_channel) -> Conversation:
    receive(sim_channel, sim_event("c1"))
    return Conversation.objects.get(channel=sim_channel)


@pytest.fixture
def targets(owner, conversation):
    """A tag, an inbound message and a failed outbox row of `conversation`, by URL."""
    from cercle.inbox.actions import do_reply, do_tag_conversation
    from cercle.inbox.models import Outbox

    tag = do_tag_conversation(owner, conversation, "vip")
    inbound = Message.objects.get(conversation=conversation, direction="inbound")
    reply = do_reply(owner, conversation, "Bonjour !")
    outbox = Outbox.objects.get(message=reply)
    Outbox.objects.filter(pk=outbox.pk).update(state="failed")
    pk = conversation.pk
    return [
        (reverse("inbox:send", args=[pk]), {"mode": "reply", "text": "hi"}),
        (reverse("inbox:assign", args=[pk]), {"assignee": "me"}),
        (reverse("inbox:status", args=[pk]), {"status": "closed"}),
        (reverse("inbox:tag", args=[pk]), {"name": "urgent"}),
        (reverse("inbox:untag", args=[pk, tag.pk]), {}),
        (reverse("inbox:moderate", args=[inbound.pk]), {"action": "hide"}),
        (reverse("inbox:retry", args=[outbox.pk]), {}),
    ]


def _state() -> tuple[int, int, list[tuple[str, int | None]]]:
    from cercle.inbox.models import Outbox
    from cercle.workspaces.models import Activity

    conversations = list(Conversation.objects.order_by("pk").values_list("status", "assignee_id"))
    queued = Outbox.objects.filter(state="queued").count()
    return Activity.objects.count(), queued, conversations


def _member_client(workspace, username: str, role: str) -> Client:
    from cercle.workspaces.actions import do_add_member, do_create_user

    do_add_member(workspace, do_create_user(username, "correct horse battery"), role)
    client = Client(raise_request_exception=False)
    assert client.login(username=username, password="correct horse battery")
    return client


@pytest.mark.parametrize(
    ("url_name", "query"),
    [
        ("inbox:index", f"channel={HUGE}"),
        ("inbox:index", f"page={HUGE}"),
        ("inbox:index", "to=9999-12-31"),
        ("inbox:index", "from=0001-01-01"),
        ("inbox:new_count", f"channel={HUGE}"),
        ("inbox:new_count", "to=9999-12-31"),
        ("inbox:new_count", "from=0001-01-01"),
    ],
)
def test_out_of_range_filters_are_ignored_not_a_server_error(lea, conversation, url_name, query):
    response = lea.get(f"{reverse(url_name)}?{query}")
    assert response.status_code == 200


def test_out_of_range_page_on_a_conversation_page_is_ignored(lea, conversation):
    response = lea.get(f"{reverse('inbox:conversation', args=[conversation.pk])}?page={HUGE}")
    assert response.status_code == 200


@pytest.mark.parametrize("until", ["9999-12-31T23:59:00+00:00", "9999-12-31T23:30:00-10:00"])
def test_snoozing_until_the_last_year_is_refused_not_a_server_error(lea, conversation, until):
    response = lea.post(
        reverse("inbox:status", args=[conversation.pk]),
        {"status": "snoozed", "until": until},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422


def test_switching_to_an_out_of_range_workspace_id_is_a_400(lea):
    response = lea.post(reverse("workspaces:switch"), {"workspace": HUGE})
    assert response.status_code == 400


@pytest.mark.parametrize("name", ["platform", "language"])
def test_nul_characters_are_dropped_from_text_filters(name):
    filters = InboxFilters.from_query(QueryDict(f"{name}=fr%00"))
    assert getattr(filters, name) == "fr"


def test_nul_characters_are_dropped_from_a_note(lea, conversation):
    response = lea.post(
        reverse("inbox:send", args=[conversation.pk]),
        {"mode": "note", "text": "a\x00b"},
        HTTP_HX_REQUEST="true",
    )
    note = Message.objects.filter(conversation=conversation, direction="note").first()
    assert (response.status_code, note and note.text) == (200, "ab")


def test_nul_characters_are_dropped_from_a_reply(lea, conversation):
    response = lea.post(
        reverse("inbox:send", args=[conversation.pk]),
        {"mode": "reply", "text": "a\x00b"},
        HTTP_HX_REQUEST="true",
    )
    reply = Message.objects.filter(conversation=conversation, direction="outbound").first()
    assert (response.status_code, reply and reply.text) == (200, "ab")


def test_nul_characters_are_dropped_from_a_tag_name(lea, conversation):
    response = lea.post(
        reverse("inbox:tag", args=[conversation.pk]),
        {"name": "vip\x00"},
        HTTP_HX_REQUEST="true",
    )
    assert (response.status_code, list(conversation.tags.values_list("name", flat=True))) == (
        200,
        ["vip"],
    )


def test_nul_characters_sent_by_a_platform_are_dropped_on_receipt(sim_channel):
    receive(
        sim_channel,
        sim_event(
            "c1",
            text="a\x00b",
            author={"id": "u1", "name": "Cam\x00ille", "handle": "cam"},
            post={"id": "p1", "text": "lamp\x00", "url": "https://example.com/p1"},
        ),
    )
    message = Message.objects.select_related("author_identity", "conversation__post").get()
    texts = (
        message.text,
        message.author_identity.display_name,
        message.conversation.post.text,
    )
    assert texts == ("ab", "Camille", "lamp")


@pytest.mark.parametrize("index", range(7))
def test_a_viewer_can_press_no_button_of_a_conversation(workspace, targets, index):
    client = _member_client(workspace, "vic", "viewer")
    url, data = targets[index]
    before = _state()
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    assert (response.status_code, _state()) == (403, before)


@pytest.mark.parametrize("index", range(7))
def test_another_workspace_gets_a_404_on_every_button(targets, index):
    from cercle.workspaces.actions import do_create_workspace

    client = _member_client(do_create_workspace("Other brand"), "mallory", "owner")
    url, data = targets[index]
    before = _state()
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    assert (response.status_code, _state()) == (404, before)


@pytest.mark.parametrize("name", ["pipeline:test", "pipeline:disconnect", "pipeline:reconnect"])
def test_an_agent_cannot_manage_channels(workspace, sim_channel, name):
    client = _member_client(workspace, "sam", "agent")
    response = client.post(reverse(name, args=[sim_channel.pk]))
    sim_channel.refresh_from_db()
    assert (response.status_code, sim_channel.is_active) == (403, True)


@pytest.mark.parametrize("button", ["reply", "hide"])
def test_buttons_of_an_uninstalled_platform_are_refused_not_a_server_error(
    lea, conversation, button
):
    from cercle.connectors.models import Channel
    from cercle.inbox.models import Outbox

    Channel.objects.filter(pk=conversation.channel_id).update(platform="myspace")
    if button == "reply":
        url = reverse("inbox:send", args=[conversation.pk])
        data = {"mode": "reply", "text": "Bonjour"}
    else:
        inbound = Message.objects.get(conversation=conversation)
        url, data = reverse("inbox:moderate", args=[inbound.pk]), {"action": "hide"}
    response = lea.post(url, data, HTTP_HX_REQUEST="true")
    assert (response.status_code, Outbox.objects.count()) == (422, 0)
