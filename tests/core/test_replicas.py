"""Read replicas: insights and exports read from a replica when one is configured.

The replica here is a second alias on the same test database, as a streaming
replica is the same data behind another connection.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cercle.core.replicas import ReplicaRouter, replica_reads
from cercle.inbox.models import Message
from tests.insights.test_views import receive_now

ALIAS = "replica1"
# Declared before the test databases are set up, as Django tests replicas: a mirror of the
# default test database behind a connection of its own.
connections.settings.setdefault(
    ALIAS, {**copy.deepcopy(connections.settings["default"]), "TEST": {"MIRROR": "default"}}
)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", ALIAS])


@pytest.fixture
def replica(settings) -> Iterator[str]:
    settings.CERCLE_REPLICAS = [ALIAS]
    yield ALIAS
    connections[ALIAS].close()


def test_reads_in_a_replica_block_go_to_the_replica_and_writes_to_the_primary(replica, sim_channel):
    receive_now(sim_channel, "r1", "u1")
    with CaptureQueriesContext(connections[replica]) as on_replica, replica_reads():
        count = Message.objects.count()
        receive_now(sim_channel, "r2", "u2")
    assert count == 1 and "COUNT(" in on_replica.captured_queries[0]["sql"].upper()
    assert not any(q["sql"].lstrip().upper().startswith("INSERT") for q in on_replica)
    assert Message.objects.using("default").count() == 2
    assert ReplicaRouter().db_for_write(Message) == "default"


def test_outside_a_replica_block_reads_stay_on_the_primary(replica, sim_channel):
    with CaptureQueriesContext(connections[replica]) as on_replica:
        Message.objects.count()
    assert len(on_replica) == 0


def test_the_insights_page_and_its_export_read_from_the_replica(replica, client, owner):
    assert client.login(username="lea", password="correct horse battery")
    with CaptureQueriesContext(connections[replica]) as on_replica:
        page = client.get(reverse("insights:dashboard"))
        export = client.get(reverse("insights:export", args=["channel"]))
    assert (page.status_code, export.status_code) == (200, 200)
    assert len(on_replica) > 0


def test_without_replicas_everything_reads_the_primary(settings):
    settings.CERCLE_REPLICAS = []
    with replica_reads():
        assert ReplicaRouter().db_for_read(Message) is None
    assert ReplicaRouter().allow_migrate("replica1", "inbox") is False
