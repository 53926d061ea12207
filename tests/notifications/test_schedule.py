"""The worker's scheduler enqueues the notification drains only when they have work."""

from __future__ import annotations

import httpx
from django_tasks_db.models import DBTaskResult

from cercle.connectors.http import transport
from cercle.inbox.actions import do_assign_conversation
from cercle.notifications.actions import do_create_webhook_endpoint
from cercle.notifications.models import Notification, WebhookDelivery
from cercle.notifications.tasks import drain_activity_log, send_webhooks
from cercle.pipeline.worker import _schedule_notifications


def _waiting(task) -> int:
    return DBTaskResult.objects.ready().filter(task_path=task.module_path).count()


def test_new_activities_wake_the_drain_then_the_webhook_sender(
    settings, owner, agent, conversation
):
    settings.CERCLE_EGRESS_ALLOW_HOSTS = ["hooks.example.com"]
    do_create_webhook_endpoint(
        owner, owner.workspace, name="chat", url="https://hooks.example.com/", events=["assigned"]
    )
    drain_activity_log.call()  # the log read so far: no work left
    DBTaskResult.objects.all().delete()
    _schedule_notifications()
    assert _waiting(drain_activity_log) == 0 and _waiting(send_webhooks) == 0
    do_assign_conversation(owner, conversation, agent)
    _schedule_notifications()
    _schedule_notifications()
    assert _waiting(drain_activity_log) == 1  # once, however many ticks
    drain_activity_log.call()
    assert Notification.objects.filter(member=agent).count() == 1
    _schedule_notifications()
    assert _waiting(send_webhooks) == 1
    with transport(httpx.MockTransport(lambda request: httpx.Response(200))):
        assert send_webhooks.call() == 1
    assert WebhookDelivery.objects.get().state == "delivered"
