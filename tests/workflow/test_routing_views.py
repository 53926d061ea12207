"""The routing page and the capacity forms: read by all, changed by managers, scoped by workspace."""

import pytest
from django.urls import reverse

from cercle.pipeline.actions import do_create_channel
from cercle.workflow.models import ChannelRouting, RoutingSettings
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from cercle.workspaces.models import Member

HOSTILE = "<img src=x onerror=alert(1)>"


def login(client, workspace, username, role):
    user = do_create_user(username, "correct horse battery")
    member = do_add_member(workspace, user, role)
    assert client.login(username=username, password="correct horse battery")
    return member


SETTINGS = {
    "auto_assign": "on",
    "default_capacity": "4",
    "off_grace_minutes": "20",
    "skills_review": "reviews, Reviews",
}


def test_a_manager_turns_automatic_assignment_on(client, workspace):
    login(client, workspace, "max", Role.MANAGER)
    page = client.get(reverse("workflow:routing"))
    assert page.status_code == 200
    assert b'name="default_capacity"' in page.content
    response = client.post(reverse("workflow:routing"), SETTINGS)
    assert response.status_code == 302
    routing = RoutingSettings.objects.get(workspace=workspace)
    assert (
        routing.auto_assign,
        routing.default_capacity,
        routing.off_grace_minutes,
        routing.kind_skills,
    ) == (True, 4, 20, {"review": ["reviews"]})


@pytest.mark.parametrize("role", [Role.VIEWER, Role.AGENT])
def test_viewers_and_agents_read_the_page_but_cannot_change_it(client, workspace, role):
    login(client, workspace, "vic", role)
    page = client.get(reverse("workflow:routing"))
    assert page.status_code == 200
    assert b'name="default_capacity"' not in page.content
    assert client.post(reverse("workflow:routing"), SETTINGS).status_code == 403
    assert not RoutingSettings.objects.exists()


def test_a_channel_of_another_workspace_is_a_404(client, workspace):
    login(client, workspace, "max", Role.MANAGER)
    other = do_create_workspace("Other")
    foreign = do_create_channel(
        other,
        "simulator",
        "Their forum",
        external_id="forum-9",
        config={"api_base": "http://simulator.test/api"},
        credentials={"webhook_secret": "s3cret", "access_token": "tok"},
    )
    url = reverse("workflow:channel_routing", args=[foreign.pk])
    assert client.post(url, {f"ch{foreign.pk}-auto_assign": "on"}).status_code == 404
    assert not ChannelRouting.objects.exists()


def test_a_manager_names_who_works_a_channel(client, workspace, sim_channel):
    login(client, workspace, "max", Role.MANAGER)
    ben = do_add_member(workspace, do_create_user("ben", "x"), Role.AGENT)
    prefix = f"ch{sim_channel.pk}"
    response = client.post(
        reverse("workflow:channel_routing", args=[sim_channel.pk]),
        {
            f"{prefix}-auto_assign": "off",
            f"{prefix}-skills": "shipping",
            f"{prefix}-members": [ben.pk],
        },
    )
    assert response.status_code == 302
    rule = ChannelRouting.objects.get(channel=sim_channel)
    assert (rule.auto_assign, rule.skills, [m.pk for m in rule.members.all()]) == (
        False,
        ["shipping"],
        [ben.pk],
    )


def test_hostile_skills_stay_inert_on_the_routing_page(client, workspace):
    member = login(client, workspace, "max", Role.MANAGER)
    Member.objects.filter(pk=member.pk).update(skills=[HOSTILE])
    page = client.get(reverse("workflow:routing"))
    assert HOSTILE.encode() not in page.content
    assert b"&lt;img src=x" in page.content


def test_a_manager_sets_a_members_capacity_on_the_members_page(client, workspace):
    login(client, workspace, "max", Role.MANAGER)
    ben = do_add_member(workspace, do_create_user("ben", "x"), Role.AGENT)
    page = client.get(reverse("workspaces:members"))
    assert f'id="capacity-{ben.pk}"'.encode() in page.content
    client.post(reverse("workspaces:set_capacity", args=[ben.pk]), {"capacity": "3"})
    assert Member.objects.get(pk=ben.pk).capacity == 3


def test_an_agent_cannot_set_someone_elses_capacity(client, workspace):
    login(client, workspace, "sam", Role.AGENT)
    ben = do_add_member(workspace, do_create_user("ben", "x"), Role.AGENT)
    response = client.post(reverse("workspaces:set_capacity", args=[ben.pk]), {"capacity": "3"})
    assert response.status_code == 403
    assert Member.objects.get(pk=ben.pk).capacity is None


def test_a_member_sets_their_own_capacity_on_the_profile(client, workspace):
    sam = login(client, workspace, "sam", Role.AGENT)
    response = client.post(
        reverse("workspaces:profile"),
        {"display_name": "Sam", "languages": "fr, en", "availability": "online", "capacity": "2"},
    )
    assert response.status_code == 302
    assert Member.objects.get(pk=sam.pk).capacity == 2


def test_the_assign_control_offers_teams_and_gives_the_conversation_to_one(
    client, workspace, owner, sim_channel
):
    from cercle.connectors.base import RawEventData
    from cercle.connectors.registry import connector_for
    from cercle.inbox.actions import do_receive
    from cercle.inbox.models import Conversation
    from cercle.workspaces.actions import do_create_team
    from tests.conftest import sim_body, sim_event

    login(client, workspace, "sam", Role.AGENT)
    team = do_create_team(owner, workspace, HOSTILE, [])
    do_receive(
        sim_channel, connector_for(sim_channel).parse(RawEventData(body=sim_body(sim_event("c1"))))
    )
    conversation = Conversation.objects.get()
    page = client.get(reverse("inbox:conversation", args=[conversation.pk]))
    assert f'value="team:{team.pk}"'.encode() in page.content
    assert HOSTILE.encode() not in page.content
    response = client.post(
        reverse("inbox:assign", args=[conversation.pk]), {"assignee": f"team:{team.pk}"}
    )
    assert response.status_code in (200, 302)
    conversation.refresh_from_db()
    assert conversation.team_id == team.pk
    other = do_create_workspace("Other")
    their_owner = do_add_member(other, do_create_user("olga", "x"), Role.OWNER)
    foreign = do_create_team(their_owner, other, "Theirs", [])
    response = client.post(
        reverse("inbox:assign", args=[conversation.pk]), {"assignee": f"team:{foreign.pk}"}
    )
    assert response.status_code == 404
    conversation.refresh_from_db()
    assert conversation.team_id == team.pk
    page = client.get(reverse("inbox:conversation", args=[conversation.pk]))
    assert b'value="team:none"' in page.content
    client.post(reverse("inbox:assign", args=[conversation.pk]), {"assignee": "team:none"})
    conversation.refresh_from_db()
    assert conversation.team_id is None
