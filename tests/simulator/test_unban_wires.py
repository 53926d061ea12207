"""Unban reaches the wires that serve it: the simulator platform, Facebook, Mastodon, Reddit."""

from __future__ import annotations

import pytest

from cercle.connectors.base import ActionKind
from cercle.inbox.actions import do_moderate_message
from cercle.inbox.models import Message
from cercle.pipeline.poller import poll_channel
from cercle.pipeline.sender import send_due
from cercle.simulator.wire.base import SimAuthor, SimEvent
from cercle.simulator.wire.simulator import SimulatorWire
from tests.simulator import test_wire_facebook as facebook
from tests.simulator import test_wire_mastodon as mastodon
from tests.simulator import test_wire_reddit as reddit
from tests.simulator.wire_routing import deliver_all, routed_to, wire_channel

BAN_THEN_UNBAN = (ActionKind.BAN, ActionKind.UNBAN)


@pytest.mark.parametrize("platform", ["simulator", "facebook", "mastodon", "reddit"])
def test_a_ban_then_an_unban_reach_the_wire_for_the_same_author(
    client, workspace, owner, actions, platform
):
    if platform == "simulator":
        wire = SimulatorWire("forum", "http://sim.test/simulator/forum", actions.append, salt="t")
        channel = wire_channel(workspace, wire, "simulator", "Forum")
        event = SimEvent(
            id="c1",
            type="comment",
            author=SimAuthor("u-1", "Camille", "camille", "fr"),
            text="Bonjour",
            created_at=facebook.WHEN,
            post=facebook.POST,
        )
        expected = [("ban", "c1"), ("unban", "c1")]
    elif platform == "facebook":
        wire = facebook.FacebookWire("facebook-like", facebook.API_BASE, actions.append, salt="t")
        channel = wire_channel(workspace, wire, "facebook", "Lumen on Facebook")
        event = facebook.event("c1")
        expected = [("ban", facebook.CAMILLE.id), ("unban", facebook.CAMILLE.id)]
    elif platform == "reddit":
        wire = reddit.RedditWire("subreddit", reddit.API_BASE, actions.append)
        channel = wire_channel(workspace, wire, "reddit", "r/maisonlumen")
        event = reddit.event("c1")
        expected = [("ban", reddit.CAMILLE.id), ("unban", reddit.CAMILLE.id)]
    else:
        wire = mastodon.MastodonWire("mastodon", mastodon.API_BASE, actions.append)
        channel = wire_channel(workspace, wire, "mastodon", "@lumen")
        event = mastodon.event("m1", type="mention")
        expected = [("ban", mastodon.CAMILLE.id), ("unban", mastodon.CAMILLE.id)]
    with routed_to(wire):
        if platform in ("mastodon", "reddit"):
            wire.publish([event])
            poll_channel(channel)
        else:
            deliver_all(client, channel, wire, event)
        message = Message.objects.get(channel=channel)
        for kind in BAN_THEN_UNBAN:
            do_moderate_message(owner, message, kind)
            send_due()
    assert [(a.kind, a.target_id) for a in actions] == expected
    if platform == "mastodon":
        assert wire.blocked == set()
