"""What the list's marks say: arrival time, "late" only where a reply is due, every mark explained."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_change_status, do_receive, do_reply
from cercle.inbox.models import Conversation
from cercle.inbox.queries import InboxFilters, conversation_page
from cercle.inbox.templatetags.inbox_tags import sla_label, sla_state
from tests.conftest import sim_body, sim_event


def receive(channel, *events):
    return do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(*events))))


@pytest.fixture
def lea(client: Client, owner) -> Client:
    assert client.login(username="lea", password="correct horse battery")
    return client


@pytest.fixture
def overdue(sim_channel) -> Conversation:
    """A conversation that arrived on 20 November, its answer due long ago."""
    receive(sim_channel, sim_event("c1", text="Où est ma commande ?"))
    conversation = Conversation.objects.get()
    assert conversation.sla_due_at is not None and conversation.sla_due_at < timezone.now()
    return conversation


def test_an_overdue_conversation_that_needs_a_reply_is_late(overdue):
    assert sla_state(overdue) == "breached"


def test_a_pending_conversation_is_not_marked_late(owner, overdue):
    # Pending: the team waits for the customer, nothing is due from the team.
    pending = do_change_status(owner, overdue, "pending")
    assert (sla_state(pending), sla_label(pending)) == ("", "")


def test_an_answered_conversation_is_not_marked_late(owner, overdue, sim_channel):
    do_reply(owner, overdue, "Nous regardons.")
    overdue.refresh_from_db()
    Conversation.objects.filter(pk=overdue.pk).update(sla_due_at=timezone.now() - timedelta(days=3))
    overdue.refresh_from_db()
    assert sla_label(overdue) == ""


def test_rows_show_when_the_item_arrived(lea, overdue):
    page = lea.get(reverse("inbox:index")).content.decode()
    assert 'class="arrived" datetime="2026-11-20T10:30:00+01:00"' in page


def test_every_mark_of_the_list_is_explained_in_a_legend(lea, overdue):
    page = lea.get(reverse("inbox:index")).content.decode()
    assert 'id="legend"' in page and "Needs a reply and is past its due time" in page


def test_the_new_dot_has_a_tooltip(lea, overdue):
    page = lea.get(reverse("inbox:index")).content.decode()
    assert 'class="dot dot-blue" role="img" title="New: nobody has opened it yet"' in page


def test_the_date_filter_uses_the_arrival_not_the_teams_activity(owner, overdue):
    # The team works on it today; the community wrote on 20 November.
    do_reply(owner, overdue, "Nous regardons.")
    day = timezone.localdate()
    arrived = conversation_page(owner, InboxFilters(view="all", date_to=day - timedelta(days=5)))
    today = conversation_page(owner, InboxFilters(view="all", date_from=day))
    assert ([c.pk for c in arrived.rows], today.rows) == ([overdue.pk], [])
