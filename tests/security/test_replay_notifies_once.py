"""Attack 3: a validly signed delivery replayed twice at the same time gives one message, one
notification and one outgoing webhook, through the real endpoint, ingest and notifications drain,
each run by two threads (two web processes, two workers) at once."""

from __future__ import annotations

import pytest

from cercle.core import clock
from cercle.inbox.models import Message
from cercle.notifications.actions import do_create_webhook_endpoint, do_drain_activity_log
from cercle.notifications.models import Notification, WebhookDelivery
from cercle.pipeline.actions import do_ingest_pending
from cercle.workflow.actions import do_save_routing_settings
from cercle.workspaces.choices import Verb
from cercle.workspaces.models import Activity, Member
from tests.conftest import database_vendor, sim_body, sim_event
from tests.inbox.test_concurrency import _in_parallel, _store_and_ingest


def _replayed_delivery_notifies_once(sim_channel, owner, agent) -> None:
    Member.objects.filter(pk=owner.pk).update(availability="away")  # the agent takes the work
    do_save_routing_settings(
        owner,
        owner.workspace,
        auto_assign=True,
        default_capacity=10,
        off_grace_minutes=15,
        kind_skills={},
    )
    endpoint, _ = do_create_webhook_endpoint(
        owner,
        owner.workspace,
        name="Team chat",
        url="https://hooks.example.com/x",
        events=[Verb.RECEIVED, Verb.ASSIGNED],
    )
    body = sim_body(sim_event("c1", created_at=clock.now().isoformat()))

    statuses = _in_parallel(
        _store_and_ingest(sim_channel, body), _store_and_ingest(sim_channel, body)
    )
    do_ingest_pending()
    _in_parallel(do_drain_activity_log, do_drain_activity_log)
    do_drain_activity_log()

    message = Message.objects.get(channel=sim_channel)
    assert statuses == [200, 200]
    assert Activity.objects.filter(verb=Verb.RECEIVED, message=message).count() == 1
    assigned = Activity.objects.filter(verb=Verb.ASSIGNED, conversation=message.conversation)
    assert assigned.count() == 1
    assert list(Notification.objects.values_list("member_id", "kind")) == [(agent.pk, "assignment")]
    events = sorted(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("event_type"))
    assert events == [("activity.assigned",), ("activity.received",)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_replay_sent_twice_at_once_notifies_once_on_postgresql(sim_channel, owner, agent):
    _replayed_delivery_notifies_once(sim_channel, owner, agent)


@pytest.mark.skipif(database_vendor() != "sqlite", reason="the SQLite variant of the test above")
@pytest.mark.django_db(transaction=True)
def test_a_replay_sent_twice_at_once_notifies_once_on_sqlite(sim_channel, owner, agent):
    _replayed_delivery_notifies_once(sim_channel, owner, agent)
