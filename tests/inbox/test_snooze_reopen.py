"""Snooze until the contact answers, and the workspace's "a new message reopens" setting."""

from __future__ import annotations

from datetime import timedelta

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.inbox.actions import do_change_status, do_receive, do_wake_snoozed
from cercle.inbox.choices import Status
from cercle.inbox.models import Conversation, InboxSettings
from cercle.workspaces.choices import Verb
from cercle.workspaces.models import Activity
from tests.conftest import sim_body, sim_event


def receive(channel, *events):
    return do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(*events))))


def test_snoozed_until_the_contact_answers_wakes_on_their_next_message(owner, sim_channel):
    receive(sim_channel, sim_event("a1"))
    conversation = Conversation.objects.get()
    do_change_status(owner, conversation, Status.SNOOZED, until_reply=True)
    conversation.refresh_from_db()
    assert conversation.status == Status.SNOOZED and conversation.snooze_until_reply
    assert conversation.snoozed_until is None
    # No time: the scheduled wake leaves it alone, however late it is.
    assert do_wake_snoozed(clock.now() + timedelta(days=365)) == 0

    receive(sim_channel, sim_event("a2", text="Voilà ma réponse", parent_id="a1"))
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN and not conversation.snooze_until_reply
    assert Activity.objects.filter(
        verb=Verb.STATUS_CHANGED, data__reason="new_message", conversation=conversation
    ).exists()


def test_snooze_until_answer_from_the_pane(client, owner, sim_channel):
    from django.urls import reverse

    receive(sim_channel, sim_event("a1"))
    conversation = Conversation.objects.get()
    assert client.login(username="lea", password="correct horse battery")
    client.post(
        reverse("inbox:status", args=[conversation.pk]), {"status": "snoozed", "snooze": "reply"}
    )
    conversation.refresh_from_db()
    assert conversation.status == Status.SNOOZED and conversation.snooze_until_reply
    page = client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    assert "until the contact answers" in page


def test_a_new_message_reopens_a_closed_conversation_by_default(owner, sim_channel):
    receive(sim_channel, sim_event("a1"))
    conversation = Conversation.objects.get()
    do_change_status(owner, conversation, Status.CLOSED)
    receive(sim_channel, sim_event("a2", text="Encore moi", parent_id="a1"))
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN and conversation.waiting_since is not None


def test_with_the_setting_off_a_closed_conversation_stays_closed(owner, workspace, sim_channel):
    InboxSettings.objects.create(workspace=workspace, reopen_on_inbound=False)
    receive(sim_channel, sim_event("a1"))
    conversation = Conversation.objects.get()
    do_change_status(owner, conversation, Status.CLOSED)
    receive(sim_channel, sim_event("a2", text="Merci, bonne journée", parent_id="a1"))
    conversation.refresh_from_db()
    assert conversation.status == Status.CLOSED
    assert conversation.message_count == 2 and conversation.sla_due_at is None
    # A snoozed one still wakes: the setting is about closed conversations.
    do_change_status(owner, conversation, Status.SNOOZED, until_reply=True)
    receive(sim_channel, sim_event("a3", text="Une autre question", parent_id="a1"))
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN


def test_the_settings_page_turns_reopening_off_for_owners_only(client, owner, agent, sim_channel):
    from django.urls import reverse

    url = reverse("inbox:settings")
    assert client.login(username="sam", password="correct horse battery")  # an agent
    client.post(url, {})
    assert not InboxSettings.objects.exists()
    assert client.login(username="lea", password="correct horse battery")
    assert 'id="reopen-on-inbound" checked' in client.get(url).content.decode()
    client.post(url, {})  # unticked
    assert InboxSettings.objects.get().reopen_on_inbound is False
    assert Activity.objects.filter(
        verb=Verb.WORKSPACE_CHANGED, data__reopen_on_inbound=False
    ).exists()
    receive(sim_channel, sim_event("a1"))
    conversation = Conversation.objects.get()
    do_change_status(owner, conversation, Status.CLOSED)
    receive(sim_channel, sim_event("a2", text="Merci", parent_id="a1"))
    assert Conversation.objects.get().status == Status.CLOSED
