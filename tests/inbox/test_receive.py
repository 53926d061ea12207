from __future__ import annotations

from cercle.connectors.actions import do_ingest_pending, do_store_raw_event
from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Activity, Conversation, Message
from tests.conftest import sim_body, sim_event


def _receive(channel, *events):
    items = connector_for(channel).parse(RawEventData(body=sim_body(*events)))
    return do_receive(channel, items)


def test_same_item_twice_gives_one_message(sim_channel):
    _receive(sim_channel, sim_event("c1"))
    _receive(sim_channel, sim_event("c1"))
    assert Message.objects.filter(channel=sim_channel, external_id="c1").count() == 1


def test_comments_of_one_author_under_one_post_share_a_conversation(sim_channel):
    _receive(sim_channel, sim_event("c1"), sim_event("c2", text="Toujours rien ?"))
    _receive(sim_channel, sim_event("c3", author={"id": "u2", "name": "Other"}))
    assert Conversation.objects.filter(channel=sim_channel).count() == 2
    assert Conversation.objects.get(thread_key="post:p1:author:u1").message_count == 2


def test_language_is_detected(sim_channel):
    _receive(sim_channel, sim_event("c1"), sim_event("c2", author={"id": "u2"}, text="My order never arrived, where is it?"))
    assert Message.objects.get(external_id="c1").language == "fr"
    assert Message.objects.get(external_id="c2").language == "en"


def test_edit_updates_and_delete_tombstones_and_late_add_does_not_resurrect(sim_channel):
    _receive(sim_channel, sim_event("c1"))
    _receive(sim_channel, sim_event("c1", op="edit", text="Edited text"))
    assert Message.objects.get(external_id="c1").text == "Edited text"
    _receive(sim_channel, sim_event("c1", op="delete"))
    assert Message.objects.get(external_id="c1").deleted_at is not None
    _receive(sim_channel, sim_event("c9", op="delete"))
    _receive(sim_channel, sim_event("c9"))
    assert not Message.objects.filter(external_id="c9").exists()


def test_raw_event_ingest_writes_activity(sim_channel):
    do_store_raw_event(sim_channel, sim_body(sim_event("c1"), sim_event("c2")), {})
    report = do_ingest_pending()
    assert report.events == 1
    assert Activity.objects.filter(verb="received").count() == 2
