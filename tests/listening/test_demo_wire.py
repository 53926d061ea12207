"""The demo's simulated Mastodon answers the listening search; the demo's search finds its mentions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cercle.core import clock
from cercle.listening.actions import due_searches
from cercle.listening.models import Mention
from cercle.listening.tasks import poll_searches, run_search
from cercle.pipeline.actions import do_create_channel
from cercle.simulator.listening_setup import configure_demo_listening
from cercle.simulator.wire.base import SimAuthor, SimEvent
from cercle.simulator.wire.mastodon import MastodonWire
from tests.simulator.wire_routing import routed_to

pytestmark = pytest.mark.django_db

API_BASE = "http://sim.test/mastodon/mastodon"
WHEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
CAMILLE = SimAuthor("u-fr-1", "Camille Durand", "camille.durand", "fr")


def test_the_demo_search_finds_public_statuses_of_the_wire(workspace, owner):
    wire = MastodonWire("mastodon", API_BASE, lambda action: None)
    setup = wire.setup()
    do_create_channel(
        workspace,
        "mastodon",
        "@lumen",
        external_id=setup.external_id,
        config=setup.config,
        credentials=setup.credentials,
    )
    wire.publish(
        [
            SimEvent(
                id="e1",
                type="mention",
                author=CAMILLE,
                text="Ma lampe est superbe",
                created_at=WHEN,
            ),
            SimEvent(
                id="e2", type="mention", author=CAMILLE, text="Lumen recrute ?", created_at=WHEN
            ),
            SimEvent(id="e3", type="message", author=CAMILLE, text="Privé", created_at=WHEN),
        ]
    )
    configure_demo_listening(workspace, owner)
    configure_demo_listening(workspace, owner)  # once only
    search = workspace.listening_searches.get()
    with routed_to(wire) as seen, clock.at(WHEN.replace(hour=12)):
        assert run_search(search) == 1
    assert any(r.url.path.endswith("/api/v2/search") for r in seen)
    (mention,) = Mention.objects.all()
    # Every status of the wire names @lumen; "recrute" is excluded, the private one never comes.
    assert "Ma lampe est superbe" in mention.text
    assert mention.author_handle == "camilledurand"


def test_the_demo_search_brings_new_statuses_every_minute(workspace, owner):
    wire = MastodonWire("mastodon", API_BASE, lambda action: None)
    setup = wire.setup()
    do_create_channel(
        workspace,
        "mastodon",
        "@lumen",
        external_id=setup.external_id,
        config=setup.config,
        credentials=setup.credentials,
    )
    configure_demo_listening(workspace, owner)
    start = WHEN.replace(hour=12)
    with routed_to(wire), clock.at(start):
        assert due_searches() and poll_searches.call() == 0
        assert not due_searches()
    # A status written live, a minute later: the next pass finds it.
    wire.publish(
        [SimEvent(id="e9", type="mention", author=CAMILLE, text="Lampe reçue !", created_at=start)]
    )
    with routed_to(wire), clock.at(start + timedelta(seconds=30)):
        assert not due_searches()
    with routed_to(wire), clock.at(start + timedelta(minutes=1)):
        assert poll_searches.call() == 1
    assert Mention.objects.get().text.endswith("Lampe reçue !")
