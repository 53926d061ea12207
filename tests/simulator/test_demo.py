from __future__ import annotations

from cercle.connectors.models import Channel
from cercle.simulator.channels import CHANNELS
from cercle.simulator.demo import setup_workspace
from cercle.simulator.driver import connect_channels
from cercle.simulator.platform import FakePlatform
from cercle.workspaces.models import Member, Workspace


def test_setting_up_twice_keeps_one_workspace_and_its_team(db):
    setup_workspace("a long demo password")
    workspace = setup_workspace("a long demo password")
    assert Workspace.objects.count() == 1
    assert sorted(Member.objects.filter(workspace=workspace).values_list("role", flat=True)) == [
        "agent",
        "agent",
        "manager",
        "owner",
        "viewer",
    ]
    assert workspace.timezone == "Europe/Paris"


def test_a_second_run_repoints_the_same_channels_at_the_new_platform(workspace):
    first, second = FakePlatform(), FakePlatform()
    try:
        connect_channels(workspace, first)
        channels = connect_channels(workspace, second)
    finally:
        first.stop()
        second.stop()
    assert Channel.objects.filter(workspace=workspace).count() == len(channels) == len(CHANNELS)
    forum = Channel.objects.get(pk=channels["forum"].pk)
    assert forum.config["api_base"].startswith(second.base_url)
    assert (
        forum.credentials["webhook_secret"]
        == second.wires["forum"].setup().credentials["webhook_secret"]
    )
