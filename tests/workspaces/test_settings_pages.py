"""Workspace settings, profile, teams and the audit page: roles enforced in actions, scoped, inert."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.inbox.actions import do_assign_conversation, do_receive
from cercle.inbox.models import Conversation
from cercle.workspaces.actions import (
    ActionRefused,
    do_add_member,
    do_change_member_role,
    do_change_profile,
    do_change_team,
    do_change_workspace,
    do_create_team,
    do_create_user,
    do_create_workspace,
    do_deactivate_member,
)
from cercle.workspaces.choices import Role, Verb
from cercle.workspaces.models import Activity, Member, Team, Workspace
from cercle.workspaces.queries import AUDIT_PAGE_SIZE
from tests.conftest import sim_body, sim_event

PASSWORD = "correct horse battery"
HOSTILE = '<img src=x onerror=alert(1)>"><script>alert(2)</script>'


def login(client: Client, username: str) -> Client:
    assert client.login(username=username, password=PASSWORD)
    return client


# --- workspace settings -----------------------------------------------------------------------


def test_an_owner_changes_name_time_zone_and_languages(owner, workspace):
    do_change_workspace(
        owner, workspace, name="Lumen", timezone="America/Montreal", languages=["en", "FR"]
    )
    workspace.refresh_from_db()
    activity = Activity.objects.get(verb=Verb.WORKSPACE_CHANGED)
    assert (workspace.name, workspace.timezone, workspace.languages, activity.actor_id) == (
        "Lumen",
        "America/Montreal",
        ["en", "fr"],
        owner.pk,
    )


def test_a_time_zone_outside_zoneinfo_is_refused(owner, workspace):
    with pytest.raises(ActionRefused):
        do_change_workspace(owner, workspace, name="x", timezone="Mars/Olympus", languages=["fr"])


def test_an_unknown_language_code_is_refused(owner, workspace):
    with pytest.raises(ActionRefused):
        do_change_workspace(owner, workspace, name="x", timezone="Europe/Paris", languages=["xx"])


def test_an_agent_cannot_change_the_settings(agent, workspace):
    with pytest.raises(PermissionDenied):
        do_change_workspace(
            agent, workspace, name="Mine now", timezone="Europe/Paris", languages=["fr"]
        )


def test_the_settings_page_saves_for_an_owner(owner, workspace, client):
    login(client, "lea")
    client.post(
        reverse("workspaces:settings"),
        {"name": "Lumen", "timezone": "Asia/Tokyo", "languages": "ja, en"},
    )
    assert Workspace.objects.get(pk=workspace.pk).timezone == "Asia/Tokyo"


def test_the_settings_page_says_who_may_change_it_and_refuses_an_agent(agent, workspace, client):
    login(client, "sam")
    page = client.get(reverse("workspaces:settings")).content.decode()
    client.post(
        reverse("workspaces:settings"),
        {"name": "Mine", "timezone": "Asia/Tokyo", "languages": "en"},
    )
    assert "Who may change this page: Owner." in page
    assert Workspace.objects.get(pk=workspace.pk).name == "Maison Lumen"


# --- profile ----------------------------------------------------------------------------------


def test_the_profile_page_stores_languages_skills_availability_and_notifications(agent, client):
    login(client, "sam")
    client.post(
        reverse("workspaces:profile"),
        {
            "display_name": "Sam D.",
            "languages": "fr, en, fr",
            "skills": "billing, Billing, delivery",
            "availability": "away",
            "notify_mention_email": "on",
        },
    )
    member = Member.objects.get(pk=agent.pk)
    assert (
        member.display_name,
        member.languages,
        member.skills,
        member.availability,
        member.notifications["mention"],
        member.notifications["assignment"],
    ) == (
        "Sam D.",
        ["fr", "en"],
        ["billing", "delivery"],
        "away",
        {"in_app": False, "email": True},
        {"in_app": False, "email": False},
    )


def test_a_profile_change_is_logged_by_the_member(agent):
    do_change_profile(
        agent, display_name="", languages=[], skills=[], availability="off", notifications={}
    )
    assert Activity.objects.get(verb=Verb.PROFILE_CHANGED).actor_id == agent.pk


# --- teams ------------------------------------------------------------------------------------


def test_an_agent_cannot_create_a_team(agent, workspace):
    with pytest.raises(PermissionDenied):
        do_create_team(agent, workspace, "Support", [agent.pk])


def test_a_team_cannot_hold_a_member_of_another_workspace(owner, workspace):
    other = do_create_workspace("Other brand")
    stranger = do_add_member(other, do_create_user("mallory", PASSWORD), Role.AGENT)
    with pytest.raises(PermissionDenied):
        do_create_team(owner, workspace, "Support", [owner.pk, stranger.pk])


def test_the_teams_page_creates_and_changes_a_team(owner, agent, workspace, client):
    login(client, "lea")
    client.post(reverse("workspaces:teams"), {"name": "Support", "members": [agent.pk]})
    team = Team.objects.get(workspace=workspace)
    client.post(
        reverse("workspaces:change_team", args=[team.pk]),
        {f"team{team.pk}-name": "Care", f"team{team.pk}-members": [owner.pk]},
    )
    team.refresh_from_db()
    assert (team.name, list(team.members.values_list("pk", flat=True))) == ("Care", [owner.pk])


def test_another_workspaces_team_is_a_404(owner, client):
    other = do_create_workspace("Other brand")
    other_owner = do_add_member(other, do_create_user("mallory", PASSWORD), Role.OWNER)
    team = do_create_team(other_owner, other, "Theirs")
    login(client, "lea")
    response = client.post(reverse("workspaces:change_team", args=[team.pk]), {"delete": "1"})
    assert response.status_code == 404 and Team.objects.filter(pk=team.pk).exists()


def test_a_team_change_is_logged_with_who_was_added(owner, agent, workspace):
    team = do_create_team(owner, workspace, "Support", [owner.pk])
    do_change_team(owner, team, "Support", [owner.pk, agent.pk])
    assert Activity.objects.get(verb=Verb.TEAM_CHANGED).data["added"] == [agent.pk]


# --- audit page -------------------------------------------------------------------------------


def test_the_audit_page_filters_by_actor_verb_and_date(owner, agent, workspace, client):
    with clock.at(datetime(2026, 11, 1, 10, tzinfo=UTC)):
        do_change_member_role(owner, agent, Role.MANAGER)
    with clock.at(datetime(2026, 11, 20, 10, tzinfo=UTC)):
        do_change_member_role(owner, agent, Role.AGENT)
        do_change_profile(
            owner,
            display_name="Léa",
            languages=[],
            skills=[],
            availability="away",
            notifications={},
        )
    login(client, "lea")
    response = client.get(
        reverse("workspaces:audit"),
        {
            "actor": f"m{owner.pk}",
            "verb": Verb.MEMBER_ROLE_CHANGED,
            "since": "2026-11-15",
            "until": "2026-11-30",
        },
    )
    shown = [activity for activity, _details in response.context["rows"]]
    assert [(a.verb, a.data["new"]) for a in shown] == [(Verb.MEMBER_ROLE_CHANGED, Role.AGENT)]


def test_the_audit_page_filters_automations(owner, agent, workspace, client, sim_channel):
    do_receive(
        sim_channel, connector_for(sim_channel).parse(RawEventData(body=sim_body(sim_event("c1"))))
    )
    do_assign_conversation(owner, Conversation.objects.get(), agent)
    do_deactivate_member(owner, agent)
    login(client, "lea")
    response = client.get(reverse("workspaces:audit"), {"actor": "a:routing"})
    verbs = [activity.verb for activity, _details in response.context["rows"]]
    assert verbs == [Verb.UNASSIGNED]


def test_the_audit_page_is_paginated_by_id(owner, agent, workspace, client):
    for i in range(AUDIT_PAGE_SIZE + 3):
        do_change_member_role(owner, agent, Role.MANAGER if i % 2 == 0 else Role.AGENT)
    login(client, "lea")
    first = client.get(reverse("workspaces:audit"), {"verb": Verb.MEMBER_ROLE_CHANGED})
    before = first.context["page"].next_before
    second = client.get(
        reverse("workspaces:audit"), {"verb": Verb.MEMBER_ROLE_CHANGED, "before": before}
    )
    first_ids = [a.pk for a, _d in first.context["rows"]]
    second_ids = [a.pk for a, _d in second.context["rows"]]
    assert (len(first_ids), len(second_ids), max(second_ids) < min(first_ids)) == (
        AUDIT_PAGE_SIZE,
        3,
        True,
    )


def test_the_audit_page_shows_only_this_workspaces_log(owner, client):
    other = do_create_workspace("Other brand")
    other_owner = do_add_member(other, do_create_user("mallory", PASSWORD), Role.OWNER)
    do_create_team(other_owner, other, "Secret team")
    login(client, "lea")
    response = client.get(reverse("workspaces:audit"))
    assert "Secret team" not in response.content.decode()


def test_the_audit_page_is_for_those_who_manage_members(agent, client):
    login(client, "sam")
    assert client.get(reverse("workspaces:audit")).status_code == 403


# --- hostile text -----------------------------------------------------------------------------


def test_hostile_names_are_inert_on_every_page(owner, agent, workspace, client):
    do_change_profile(
        agent,
        display_name=HOSTILE,
        languages=[],
        skills=[HOSTILE],
        availability="online",
        notifications={},
    )
    do_create_team(owner, workspace, HOSTILE, [agent.pk])
    do_change_workspace(owner, workspace, name=HOSTILE, timezone="Europe/Paris", languages=["fr"])
    login(client, "lea")
    pages = ["members", "teams", "settings", "audit", "profile"]
    bodies = [client.get(reverse(f"workspaces:{page}")).content.decode() for page in pages]
    assert all("<img src=x" not in body and "<script>alert" not in body for body in bodies)
    assert all("&lt;img src=x" in body for body in bodies[:4])
