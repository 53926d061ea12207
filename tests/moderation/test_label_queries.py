"""A conversation's custom labels are read once per timeline, not once per message."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cercle.core import clock
from cercle.inbox.models import Conversation, Message
from cercle.moderation.actions import do_save_custom_label, do_set_custom_label
from tests.conftest import sim_event
from tests.inbox.test_views import receive


def _add_messages(channel, start: int, count: int) -> None:
    receive(
        channel,
        *[
            sim_event(
                f"lbl{i}", text=f"Où est ma commande {i} ?", author={"id": "u1", "name": "Fan"}
            )
            for i in range(start, start + count)
        ],
    )
    Message.objects.filter(classified_at__isnull=True).update(classified_at=clock.now())


def _timeline_queries(client, conversation: Conversation) -> tuple[int, str]:
    url = reverse("inbox:timeline", args=[conversation.pk])
    client.get(url)  # the session's first request stores the workspace
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    labels = [q["sql"] for q in captured.captured_queries if "moderation_messagelabel" in q["sql"]]
    assert len(labels) == 1, labels
    return len(captured.captured_queries), response.content.decode()


def test_the_timeline_reads_custom_labels_in_one_query_whatever_its_length(
    client, owner, sim_channel
):
    delivery = do_save_custom_label(owner, owner.workspace_id, "Delivery problem")
    do_save_custom_label(owner, owner.workspace_id, "Job application")
    _add_messages(sim_channel, 0, 3)
    conversation = Conversation.objects.get()
    first = Message.objects.filter(conversation=conversation).order_by("id").first()
    do_set_custom_label(owner, first, delivery, True)
    assert client.login(username="lea", password="correct horse battery")

    few, html = _timeline_queries(client, conversation)
    # The chip of the applied label shows, on that message only.
    assert html.count(f'data-label="custom:{delivery.pk}"') == 1
    chip_at = html.index(f'data-label="custom:{delivery.pk}"')
    assert html.rfind('id="message-', 0, chip_at) == html.index(f'id="message-{first.pk}"')

    _add_messages(sim_channel, 3, 12)
    assert conversation.messages.count() == 15
    many, _html = _timeline_queries(client, conversation)
    assert many == few
