"""The Activity log is append-only, and history is dated through the clock, not rewritten."""

from datetime import UTC, datetime

import pytest

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.inbox.actions import do_add_note, do_receive
from cercle.inbox.models import Conversation
from cercle.workspaces.models import Activity, AppendOnly
from tests.conftest import sim_body, sim_event


@pytest.fixture
def conversation(sim_channel):
    items = connector_for(sim_channel).parse(RawEventData(body=sim_body(sim_event("c1"))))
    do_receive(sim_channel, items)
    return Conversation.objects.get(channel=sim_channel)


def test_an_activity_cannot_be_changed_once_written(conversation, owner):
    do_add_note(owner, conversation, "hello")
    activity = Activity.objects.latest("id")
    activity.data = {"rewritten": True}
    with pytest.raises(AppendOnly):
        activity.save()


def test_activities_cannot_be_bulk_rewritten(conversation, owner):
    do_add_note(owner, conversation, "hello")
    with pytest.raises(AppendOnly):
        Activity.objects.filter(conversation=conversation).update(created_at=None)


def test_work_done_inside_clock_at_is_dated_then(conversation, owner):
    then = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    with clock.at(then):
        note = do_add_note(owner, conversation, "imported")
    activity = Activity.objects.get(message=note)
    assert (activity.created_at, note.sent_at) == (then, then)


def test_a_received_item_is_logged_at_the_platforms_time(conversation):
    message = conversation.messages.get()
    received = Activity.objects.get(message=message, verb="received")
    assert received.created_at == message.sent_at
