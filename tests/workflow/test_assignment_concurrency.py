"""Several workers hand out the backlog while conversations arrive: nobody gets one twice, nobody
goes over capacity.

Threads play independent worker processes, each with its own connection: on
PostgreSQL they really overlap (the routing row lock, SKIP LOCKED on the
backlog); on SQLite the writers queue (BEGIN IMMEDIATE) and the outcome must
be the same.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Conversation
from cercle.workflow.actions import do_hand_out, do_save_routing_settings
from cercle.workspaces.actions import (
    do_add_member,
    do_change_profile,
    do_create_user,
)
from cercle.workspaces.choices import Role, Verb
from cercle.workspaces.models import Activity
from tests.conftest import sim_body, sim_event

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TEXT = "Bonjour, ma commande n'est jamais arrivée, pouvez-vous m'aider s'il vous plaît ?"


def _event(n: int) -> dict[str, Any]:
    return sim_event(
        f"c{n}",
        text=TEXT,
        author={"id": f"u{n}", "name": f"Author {n}"},
        created_at=(START + timedelta(minutes=n)).isoformat(),
    )


def _receive(channel: Any, *events: dict[str, Any]) -> None:
    do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(*events))))


def _in_parallel(*jobs: Callable[[], Any]) -> None:
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            job()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]


def _profile(member: Any, availability: str) -> None:
    do_change_profile(
        member,
        display_name="",
        languages=["fr"],
        skills=[],
        availability=availability,
        notifications={},
    )


@pytest.mark.django_db(transaction=True)
def test_parallel_hand_outs_and_arrivals_never_give_a_conversation_twice(
    workspace, owner, sim_channel
):
    _profile(owner, "away")
    do_save_routing_settings(
        owner, workspace, auto_assign=True, default_capacity=5, off_grace_minutes=15, kind_skills={}
    )
    agents = [
        do_add_member(workspace, do_create_user(f"agent{i}", "pw"), Role.AGENT) for i in range(3)
    ]
    for agent in agents:
        _profile(agent, "away")
    _receive(sim_channel, *(_event(n) for n in range(1, 13)))  # 12 in the backlog
    assert not Conversation.objects.filter(assignee__isnull=False).exists()
    for agent in agents:
        _profile(agent, "online")

    def arrivals() -> None:
        for n in range(13, 19):  # 6 more, one batch each, while the backlog goes out
            _receive(sim_channel, _event(n))

    _in_parallel(do_hand_out, do_hand_out, do_hand_out, arrivals)
    do_hand_out()  # what a busy pass skipped

    assigned = Counter(
        Activity.objects.filter(verb=Verb.ASSIGNED).values_list("conversation_id", flat=True)
    )
    assert max(assigned.values()) == 1  # nobody was given one twice
    loads = Counter(
        Conversation.objects.filter(assignee__isnull=False).values_list("assignee_id", flat=True)
    )
    assert sorted(loads.values()) == [5, 5, 5]  # 15 places for 18 conversations
    assert Conversation.objects.filter(assignee__isnull=True).count() == 3
