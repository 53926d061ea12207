"""Platforms retry and reorder deliveries: the newest state wins, a re-send changes and logs nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import permutations

import pytest

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Conversation, Message, Tombstone
from cercle.pipeline.actions import do_ingest_pending, do_store_raw_event
from cercle.workspaces.models import Activity
from tests.conftest import sim_body, sim_event

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


# One comment's life on the platform, each change with the platform's time.
DELIVERIES = {
    "add": sim_event("c1", text="Première version", created_at=_at(0)),
    "edit": sim_event("c1", op="edit", text="Version corrigée", created_at=_at(5)),
    "hide": sim_event("c1", op="edit", text="Version corrigée", hidden=True, created_at=_at(10)),
    "remove": sim_event("c1", op="delete", created_at=_at(15)),
}


def _deliver(channel, *names: str) -> None:
    """Each delivery is its own webhook (its own RawEvent), ingested as it arrives."""
    for name in names:
        do_store_raw_event(channel, sim_body(DELIVERIES[name]), {})
        do_ingest_pending()


def _state() -> tuple[str, bool]:
    message = Message.objects.get(external_id="c1")
    return message.text, message.is_hidden


def _verbs() -> Counter[str]:
    return Counter(
        Activity.objects.filter(message__external_id="c1").values_list("verb", flat=True)
    )


@pytest.mark.parametrize("order", list(permutations(["add", "edit", "hide"])), ids="-".join)
def test_deliveries_in_any_order_leave_the_newest_state(sim_channel, order):
    _deliver(sim_channel, *order)
    assert _state() == ("Version corrigée", True)


@pytest.mark.parametrize("order", list(permutations(["add", "edit", "hide"])), ids="-".join)
def test_re_sent_deliveries_change_nothing_and_log_nothing(sim_channel, order):
    _deliver(sim_channel, *order)
    before = (_state(), Activity.objects.count())
    _deliver(sim_channel, "add", "edit", "hide", *order)
    assert (_state(), Activity.objects.count()) == before


@pytest.mark.parametrize("order", list(permutations(["add", "edit", "hide"])), ids="-".join)
def test_deliveries_in_any_order_log_each_verb_at_most_once(sim_channel, order):
    _deliver(sim_channel, *order)
    verbs = _verbs()
    assert (verbs["received"], max(verbs.values())) == (1, 1)


@pytest.mark.parametrize(
    "order", list(permutations(["add", "edit", "hide", "remove"])), ids="-".join
)
def test_a_removal_in_any_order_leaves_the_item_deleted_and_logged_once_at_most(sim_channel, order):
    _deliver(sim_channel, *order)
    _deliver(sim_channel, *order)  # and every delivery re-sent
    visible = Message.objects.filter(external_id="c1", deleted_at__isnull=True).exists()
    verbs = _verbs()
    assert (visible, Tombstone.objects.filter(external_id="c1").exists()) == (False, True)
    assert max(verbs.values(), default=1) == 1


@pytest.mark.parametrize("order", list(permutations(["add", "edit", "hide"])), ids="-".join)
def test_one_batch_holding_every_change_keeps_the_newest(sim_channel, order):
    do_store_raw_event(sim_channel, sim_body(*(DELIVERIES[name] for name in order)), {})
    do_ingest_pending()
    assert _state() == ("Version corrigée", True)


def test_without_platform_times_the_later_arrival_wins(sim_channel):
    """Deliveries handled out of arrival order (two workers, a retried batch) are put back in it."""
    earlier = do_store_raw_event(sim_channel, b"{}", {})
    later = do_store_raw_event(sim_channel, b"{}", {})
    first = sim_event("c1", text="Ancien texte", created_at=None)
    second = sim_event("c1", op="edit", text="Nouveau texte", created_at=None)
    parser = connector_for(sim_channel)
    do_receive(sim_channel, parser.parse(RawEventData(body=sim_body(second))), later.pk)
    do_receive(sim_channel, parser.parse(RawEventData(body=sim_body(first))), earlier.pk)
    assert Message.objects.get(external_id="c1").text == "Nouveau texte"


def test_a_deleted_item_no_longer_counts_in_its_conversation(sim_channel):
    _receive_all(
        sim_channel,
        sim_event("c1", text="Première question", created_at=_at(0)),
        sim_event("c2", text="Deuxième question", created_at=_at(1)),
    )
    _receive_all(sim_channel, sim_event("c2", op="delete", created_at=_at(2)))
    conversation = Conversation.objects.get()
    assert (conversation.message_count, conversation.preview) == (1, "Première question")


def test_the_list_preview_follows_an_edit(sim_channel):
    _receive_all(sim_channel, sim_event("c1", text="Ma commande ?", created_at=_at(0)))
    _receive_all(
        sim_channel, sim_event("c1", op="edit", text="Ma commande 42 ?", created_at=_at(3))
    )
    assert Conversation.objects.get().preview == "Ma commande 42 ?"


def _receive_all(channel, *events) -> None:
    do_store_raw_event(channel, sim_body(*events), {})
    do_ingest_pending()
