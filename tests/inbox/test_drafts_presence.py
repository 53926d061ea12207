"""Server drafts (per member and conversation, until sent or discarded) and live presence
(who is viewing, typing, drafting; expiring; scoped by workspace)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.inbox import queries
from cercle.inbox.actions import (
    ActionRefused,
    do_add_note,
    do_discard_draft,
    do_leave_presence,
    do_receive,
    do_record_presence,
    do_reply,
    do_save_draft,
)
from cercle.inbox.collision import (
    PRESENCE_TTL_SECONDS,
    TYPING_TTL_SECONDS,
    Seen,
    latest_activity_id,
    new_send_key,
)
from cercle.inbox.models import Conversation, Draft, Presence
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from cercle.workspaces.models import Activity
from tests.conftest import sim_body, sim_event

TAB = "tab-0123456789"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "conversation"}


def receive(channel, *events):
    return do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(*events))))


@pytest.fixture
def conversation(sim_channel) -> Conversation:
    receive(sim_channel, sim_event("c1", text="Où est ma commande ?"))
    return Conversation.objects.get(channel=sim_channel)


def _login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password="correct horse battery")
    return client


# --- drafts --------------------------------------------------------------------------


def test_a_draft_is_kept_per_member_and_conversation(owner, agent, conversation):
    do_save_draft(agent, conversation, "Bonjour Camille", "reply")
    do_save_draft(agent, conversation, "Bonjour Camille, nous", "reply")
    do_save_draft(owner, conversation, "Note de Léa", "note")
    drafts = dict(Draft.objects.values_list("member__user__username", "text"))
    assert drafts == {"sam": "Bonjour Camille, nous", "lea": "Note de Léa"}


def test_drafts_are_not_in_the_activity_log(agent, conversation):
    before = Activity.objects.count()
    do_save_draft(agent, conversation, "Bonjour", "reply")
    do_discard_draft(agent, conversation)
    assert Activity.objects.count() == before


def test_an_emptied_box_has_no_draft(agent, conversation):
    do_save_draft(agent, conversation, "Bonjour", "reply")
    do_save_draft(agent, conversation, "   ", "reply")
    assert not Draft.objects.exists()


def test_sending_or_discarding_ends_the_draft_and_only_mine(owner, agent, conversation):
    do_save_draft(agent, conversation, "Bonjour", "reply")
    do_save_draft(owner, conversation, "Ma version", "reply")
    do_reply(agent, conversation, "Bonjour")
    assert list(Draft.objects.values_list("member", flat=True)) == [owner.pk]
    assert do_discard_draft(owner, conversation) is True
    do_save_draft(agent, conversation, "Une note", "note")
    do_add_note(agent, conversation, "Une note")
    assert not Draft.objects.exists()


def test_an_autosave_that_arrives_after_the_send_keeps_nothing(agent, conversation):
    key = new_send_key()
    do_reply(agent, conversation, "Bonjour", seen=Seen(latest_activity_id(conversation.pk), key))
    assert do_save_draft(agent, conversation, "Bonjour", "reply", send_key=key) is None
    assert not Draft.objects.exists()


def test_a_viewer_keeps_a_note_draft_but_no_reply_draft(workspace, conversation):
    viewer = do_add_member(workspace, do_create_user("vic", "correct horse battery"), Role.VIEWER)
    do_save_draft(viewer, conversation, "Une note", "note")
    with pytest.raises(Exception, match="reply"):
        do_save_draft(viewer, conversation, "Une réponse", "reply")
    with pytest.raises(ActionRefused):
        do_save_draft(viewer, conversation, "x", "shout")
    assert list(Draft.objects.values_list("mode", flat=True)) == ["note"]


def test_the_box_autosaves_and_the_draft_comes_back_when_the_conversation_opens(
    agent, conversation
):
    sam = _login("sam")
    response = sam.post(
        reverse("inbox:draft", args=[conversation.pk]),
        {"text": "Bonjour <b>Camille</b>", "mode": "note", "tab": TAB, "typing": "1"},
    )
    assert response.status_code == 204
    html = sam.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    assert ">Bonjour &lt;b&gt;Camille&lt;/b&gt;</textarea>" in html
    assert 'value="note" id="mode-note" checked' in html and 'data-server-draft="1"' in html


def test_discard_from_the_box_empties_it(agent, conversation):
    do_save_draft(agent, conversation, "Brouillon", "reply")
    sam = _login("sam")
    response = sam.post(reverse("inbox:discard_draft", args=[conversation.pk]), **HTMX)
    assert response.status_code == 200 and "></textarea>" in response.content.decode()
    assert 'data-sent-draft-key="' in response.content.decode()
    assert not Draft.objects.exists()


def test_another_workspaces_conversation_cannot_hold_a_draft(conversation):
    other = do_create_workspace("Other brand")
    do_add_member(other, do_create_user("mallory", "correct horse battery"), Role.OWNER)
    mallory = _login("mallory")
    url = reverse("inbox:draft", args=[conversation.pk])
    assert mallory.post(url, {"text": "x", "mode": "note"}).status_code == 404
    assert not Draft.objects.exists()


# --- presence --------------------------------------------------------------------------


def test_who_is_viewing_typing_and_drafting(owner, agent, conversation):
    do_record_presence(owner, TAB, conversation)
    do_record_presence(owner, TAB, conversation, typing=True)
    do_save_draft(owner, conversation, "Bonjour", "reply")
    here = queries.awareness(agent, [conversation.pk])[conversation.pk]
    assert (here.viewing, here.typing, here.drafting) == ([owner], [owner], [owner])
    # The member never sees themselves.
    assert not queries.awareness(owner, [conversation.pk])[conversation.pk]


def test_presence_and_typing_expire(owner, agent, conversation):
    do_record_presence(owner, TAB, conversation, typing=True)
    later = clock.now() + timedelta(seconds=TYPING_TTL_SECONDS + 1)
    here = queries.awareness(agent, [conversation.pk], now=later)[conversation.pk]
    assert here.viewing == [owner] and here.typing == []
    gone = clock.now() + timedelta(seconds=PRESENCE_TTL_SECONDS + 1)
    assert not queries.awareness(agent, [conversation.pk], now=gone)[conversation.pk]


def test_expired_presences_are_swept_at_the_next_beat(owner, agent, conversation):
    with clock.at(clock.now() - timedelta(seconds=PRESENCE_TTL_SECONDS + 5)):
        do_record_presence(owner, TAB, conversation)
    do_record_presence(agent, TAB, None)
    assert list(Presence.objects.values_list("member", flat=True)) == [agent.pk]


def test_moving_to_another_conversation_or_leaving_ends_the_presence(owner, agent, sim_channel):
    receive(sim_channel, sim_event("a1", author={"id": "u1", "name": "A"}))
    receive(sim_channel, sim_event("b1", author={"id": "u2", "name": "B"}, post={"id": "p2"}))
    first, second = Conversation.objects.order_by("pk")
    do_record_presence(owner, TAB, first)
    do_record_presence(owner, TAB, second)
    around = queries.awareness(agent, [first.pk, second.pk])
    assert (around[first.pk].viewing, around[second.pk].viewing) == ([], [owner])
    do_leave_presence(owner, TAB)
    assert not queries.awareness(agent, [second.pk])[second.pk]


def test_two_tabs_of_one_member_are_two_presences(owner, agent, sim_channel):
    receive(sim_channel, sim_event("a1", author={"id": "u1", "name": "A"}))
    receive(sim_channel, sim_event("b1", author={"id": "u2", "name": "B"}, post={"id": "p2"}))
    first, second = Conversation.objects.order_by("pk")
    do_record_presence(owner, "tab-aaaaaaaa", first)
    do_record_presence(owner, "tab-bbbbbbbb", second)
    around = queries.awareness(agent, [first.pk, second.pk])
    assert around[first.pk].viewing == [owner] and around[second.pk].viewing == [owner]


def test_presence_is_scoped_by_workspace(owner, conversation):
    do_record_presence(owner, TAB, conversation)
    do_save_draft(owner, conversation, "Bonjour", "reply")
    other = do_create_workspace("Other brand")
    mallory = do_add_member(other, do_create_user("mallory", "correct horse battery"), Role.OWNER)
    assert not queries.awareness(mallory, [conversation.pk])[conversation.pk]
    with pytest.raises(Exception, match="another workspace"):
        do_record_presence(mallory, TAB, conversation)


def test_the_heartbeat_answers_who_is_here_out_of_band(owner, agent, conversation):
    do_record_presence(owner, TAB, conversation)
    do_save_draft(owner, conversation, "Bonjour", "reply")
    sam = _login("sam")
    response = sam.post(
        reverse("inbox:presence"),
        {
            "tab": "tab-sam-123456",
            "conversation": str(conversation.pk),
            "rows": f"{conversation.pk},x",
        },
    )
    html = response.content.decode()
    assert f'id="conv-presence-{conversation.pk}" hx-swap-oob="innerHTML"' in html
    assert "Léa Martin is viewing, with a draft" in html
    assert f'id="row-presence-{conversation.pk}"' in html
    assert "Léa Martin is viewing it and has a draft" in html
    # Sam's own beat was recorded: Léa sees Sam.
    assert queries.awareness(owner, [conversation.pk])[conversation.pk].viewing == [agent]
    do_record_presence(owner, TAB, conversation, typing=True)
    html = sam.post(
        reverse("inbox:presence"),
        {
            "tab": "tab-sam-123456",
            "conversation": str(conversation.pk),
            "rows": str(conversation.pk),
        },
    ).content.decode()
    assert "Léa Martin is typing…" in html and "Léa Martin is typing a reply" in html


def test_the_heartbeat_of_another_workspace_sees_nothing(owner, conversation):
    do_record_presence(owner, TAB, conversation)
    other = do_create_workspace("Other brand")
    do_add_member(other, do_create_user("mallory", "correct horse battery"), Role.OWNER)
    mallory = _login("mallory")
    url = reverse("inbox:presence")
    assert mallory.post(url, {"tab": TAB, "conversation": str(conversation.pk)}).status_code == 404
    rows = mallory.post(url, {"tab": TAB, "rows": str(conversation.pk)}).content.decode()
    assert "Léa" not in rows


def test_leave_ends_the_tabs_presence(owner, conversation):
    do_record_presence(owner, TAB, conversation)
    lea = _login("lea")
    assert lea.post(reverse("inbox:presence_leave"), {"tab": TAB}).status_code == 204
    assert not Presence.objects.exists()
