"""Members: inviting (mail or link), accepting, roles (nobody demotes the last owner), deactivating."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.inbox import actions as inbox_actions
from cercle.inbox.actions import do_assign_conversation, do_change_status, do_receive
from cercle.inbox.models import Conversation
from cercle.workspaces.actions import (
    ActionRefused,
    do_accept_invitation,
    do_add_member,
    do_change_member_role,
    do_create_user,
    do_create_workspace,
    do_deactivate_member,
    do_invite_member,
    do_revoke_invitation,
)
from cercle.workspaces.choices import AutomationKind, Role, Verb
from cercle.workspaces.models import Activity, Invitation, Member
from tests.conftest import sim_body, sim_event

PASSWORD = "correct horse battery"


def login(client: Client, username: str) -> Client:
    assert client.login(username=username, password=PASSWORD)
    return client


def invite(actor, email="nina@example.com", role=Role.AGENT):
    return do_invite_member(
        actor, actor.workspace, email, role, accept_url=lambda t: f"http://testserver/i/{t}/"
    )


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


@pytest.fixture
def admin(workspace):
    user = do_create_user("ada", PASSWORD, first_name="Ada")
    return do_add_member(workspace, user, Role.ADMIN)


# --- inviting ---------------------------------------------------------------------------------


def test_an_invitation_is_mailed_when_a_mail_server_is_configured(owner, client, settings):
    settings.EMAIL_HOST = "smtp.example.com"
    login(client, "lea")
    client.post(reverse("workspaces:members"), {"email": "nina@example.com", "role": "agent"})
    link = re.search(r"http://testserver/invitation/[\w-]+/", mail.outbox[0].body)
    assert mail.outbox[0].to == ["nina@example.com"] and link is not None


def test_without_a_mail_server_the_admin_sees_the_link_once(owner, client, settings):
    settings.EMAIL_HOST = ""
    login(client, "lea")
    response = client.post(
        reverse("workspaces:members"), {"email": "nina@example.com", "role": "agent"}, follow=True
    )
    links = re.findall(r"http://testserver/invitation/[\w-]+/", response.content.decode())
    again = client.get(reverse("workspaces:members")).content.decode()
    assert (len(mail.outbox), len(links), "/invitation/" in again) == (0, 1, False)


def test_only_the_hash_of_the_invitation_token_is_stored(owner):
    sent = invite(owner)
    token = token_of(sent.url)
    assert not Invitation.objects.filter(token_hash__contains=token).exists()


def test_an_agent_cannot_invite(agent):
    with pytest.raises(PermissionDenied):
        invite(agent)


def test_an_admin_cannot_invite_an_owner(admin):
    with pytest.raises(PermissionDenied):
        invite(admin, role=Role.OWNER)


# --- accepting --------------------------------------------------------------------------------


def test_accepting_creates_a_login_and_a_member_with_the_invited_role(owner, client):
    sent = invite(owner, role=Role.MANAGER)
    response = client.post(
        reverse("workspaces:accept", args=[token_of(sent.url)]),
        {"username": "nina", "password": "a long enough secret", "display_name": "Nina"},
    )
    member = Member.objects.get(user__username="nina")
    assert (response.status_code, member.workspace_id, member.role) == (
        302,
        owner.workspace_id,
        Role.MANAGER,
    )


def test_an_invitation_link_works_once(owner):
    token = token_of(invite(owner).url)
    do_accept_invitation(token, username="nina", password="a long enough secret")
    with pytest.raises(ActionRefused):
        do_accept_invitation(token, username="nina2", password="a long enough secret")


def test_an_expired_invitation_is_refused(owner):
    token = token_of(invite(owner).url)
    with clock.at(clock.now() + timedelta(days=8)), pytest.raises(ActionRefused):
        do_accept_invitation(token, username="nina", password="a long enough secret")


def test_a_revoked_invitation_link_no_longer_opens(owner, client):
    sent = invite(owner)
    do_revoke_invitation(owner, sent.invitation)
    response = client.get(reverse("workspaces:accept", args=[token_of(sent.url)]))
    assert response.status_code == 404


def test_a_logged_in_user_joins_with_their_existing_login(owner, client):
    elsewhere = do_create_workspace("Other brand")
    user = do_create_user("otto", PASSWORD)
    do_add_member(elsewhere, user, Role.OWNER)
    token = token_of(invite(owner, email="otto@example.com").url)
    login(client, "otto")
    client.post(reverse("workspaces:accept", args=[token]), {"join": "1"})
    assert Member.objects.filter(user=user, workspace=owner.workspace, role=Role.AGENT).exists()


def test_an_unknown_invitation_link_is_a_404(client, db):
    response = client.get(reverse("workspaces:accept", args=["not-a-token"]))
    assert response.status_code == 404


def test_joining_is_logged_with_the_new_member_as_actor(owner):
    member = do_accept_invitation(
        token_of(invite(owner).url), username="nina", password="a long enough secret"
    )
    assert Activity.objects.filter(verb=Verb.MEMBER_JOINED, actor=member).exists()


# --- roles ------------------------------------------------------------------------------------


def test_an_agent_cannot_change_a_role(agent, owner):
    with pytest.raises(PermissionDenied):
        do_change_member_role(agent, owner, Role.VIEWER)


def test_an_admin_changes_an_agents_role_and_it_is_logged(admin, agent):
    do_change_member_role(admin, agent, Role.MANAGER)
    activity = Activity.objects.get(verb=Verb.MEMBER_ROLE_CHANGED)
    assert (Member.objects.get(pk=agent.pk).role, activity.actor_id, activity.data["new"]) == (
        Role.MANAGER,
        admin.pk,
        Role.MANAGER,
    )


def test_an_admin_cannot_demote_an_owner(admin, owner):
    with pytest.raises(PermissionDenied):
        do_change_member_role(admin, owner, Role.AGENT)


def test_nobody_demotes_the_last_owner(owner):
    with pytest.raises(ActionRefused):
        do_change_member_role(owner, owner, Role.ADMIN)


def test_an_owner_steps_down_once_there_is_another_owner(owner, admin):
    do_change_member_role(owner, admin, Role.OWNER)
    do_change_member_role(owner, owner, Role.ADMIN)
    assert Member.objects.get(pk=owner.pk).role == Role.ADMIN


def test_the_role_page_refuses_an_agent(agent, owner, client):
    login(client, "sam")
    response = client.post(reverse("workspaces:change_role", args=[owner.pk]), {"role": "viewer"})
    assert (response.status_code, Member.objects.get(pk=owner.pk).role) == (403, Role.OWNER)


def test_another_workspaces_member_is_a_404(owner, client):
    other = do_create_workspace("Other brand")
    stranger = do_add_member(other, do_create_user("mallory", PASSWORD), Role.AGENT)
    login(client, "lea")
    urls = [
        reverse("workspaces:change_role", args=[stranger.pk]),
        reverse("workspaces:deactivate", args=[stranger.pk]),
        reverse("workspaces:reactivate", args=[stranger.pk]),
    ]
    codes = [client.post(url, {"role": "viewer"}).status_code for url in urls]
    assert codes == [404, 404, 404] and Member.objects.get(pk=stranger.pk).is_active


# --- deactivating -----------------------------------------------------------------------------


@pytest.fixture
def sams_conversations(sim_channel, owner, agent):
    items = connector_for(sim_channel).parse(
        RawEventData(
            body=sim_body(sim_event("c1"), sim_event("c2", author={"id": "u2", "name": "B"}))
        )
    )
    do_receive(sim_channel, items)
    open_one, closed_one = Conversation.objects.filter(channel=sim_channel).order_by("pk")
    do_assign_conversation(owner, open_one, agent)
    do_assign_conversation(owner, closed_one, agent)
    do_change_status(owner, closed_one, "closed")
    return open_one, closed_one


def test_deactivating_unassigns_open_conversations_by_an_automation(
    owner, agent, sams_conversations
):
    open_one, closed_one = sams_conversations
    do_deactivate_member(owner, agent)
    open_one.refresh_from_db()
    closed_one.refresh_from_db()
    unassigned = Activity.objects.get(conversation=open_one, verb=Verb.UNASSIGNED)
    assert (open_one.assignee_id, closed_one.assignee_id, unassigned.automation) == (
        None,
        agent.pk,
        AutomationKind.ROUTING,
    )


def test_a_deactivated_login_gets_no_access_to_the_workspace(owner, agent, client):
    login(client, "sam")
    do_deactivate_member(owner, agent)
    response = client.get(reverse("inbox:index"))
    assert response.status_code == 403 and b"not a member of any workspace" in response.content


def test_a_deactivated_member_cannot_be_assigned(owner, agent, sams_conversations):
    do_deactivate_member(owner, agent)
    with pytest.raises(inbox_actions.ActionRefused):
        do_assign_conversation(owner, sams_conversations[0], Member.objects.get(pk=agent.pk))


def test_nobody_deactivates_the_last_owner(owner, admin):
    second_owner = do_change_member_role(owner, admin, Role.OWNER)
    do_deactivate_member(second_owner, owner)
    with pytest.raises(ActionRefused):
        do_deactivate_member(second_owner, second_owner)


def test_the_deactivate_button_works_for_an_admin(admin, agent, client):
    login(client, "ada")
    client.post(reverse("workspaces:deactivate", args=[agent.pk]))
    assert not Member.objects.get(pk=agent.pk).is_active
