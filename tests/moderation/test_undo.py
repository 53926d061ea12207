"""Undoing a rule's action from the conversation's timeline: who may, once, in its workspace only."""

from __future__ import annotations

import httpx
import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from cercle.connectors.http import transport
from cercle.inbox.actions import ActionRefused, do_moderate_message
from cercle.inbox.models import Conversation, Outbox
from cercle.moderation.actions import do_save_rule, do_undo_activity
from cercle.moderation.choices import RuleMode
from cercle.pipeline.sender import send_due
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from cercle.workspaces.models import Activity
from tests.moderation.test_rules import SPAM, receive
from tests.pipeline.test_outbox import FakeSimulatorPlatform

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def fired(owner, workspace, sim_channel):
    """A live rule hid, banned and tagged a spam comment."""
    do_save_rule(
        owner,
        workspace,
        name="Spam links",
        mode=RuleMode.LIVE,
        conditions=[{"field": "text_contains", "value": ["promo.example"]}],
        actions=[{"type": "hide"}, {"type": "ban"}, {"type": "tag", "value": "spam"}],
    )
    return receive(sim_channel, "s1", SPAM)


def rule_activity(action: str) -> Activity:
    return Activity.objects.get(verb="moderation_requested", automation="rule", data__action=action)


def login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password="correct horse battery")
    return client


def test_undoing_a_rules_ban_unbans_the_author_on_the_platform(owner, fired):
    undone = do_undo_activity(owner, rule_activity("ban"))
    platform = FakeSimulatorPlatform()
    with transport(httpx.MockTransport(platform)):
        send_due()
    assert sorted(p["kind"] for p in platform.posts) == ["ban", "hide", "unban"]
    assert (undone.verb, undone.data["undoes"], undone.actor_id) == (
        "undone",
        rule_activity("ban").pk,
        owner.pk,
    )


def test_undoing_twice_is_refused_clearly(owner, fired):
    hide = rule_activity("hide")
    do_undo_activity(owner, hide)
    with pytest.raises(ActionRefused, match="already undone"):
        do_undo_activity(owner, hide)
    assert list(Outbox.objects.filter(action="unhide").values_list("action", flat=True)) == [
        "unhide"
    ]


def test_a_persons_own_action_is_not_undone_here(owner, sim_channel):
    message = receive(sim_channel, "c1", "Bonjour")
    do_moderate_message(owner, message, "hide")
    with pytest.raises(ActionRefused):
        do_undo_activity(owner, Activity.objects.get(verb="moderation_requested"))


def test_a_viewer_cannot_undo(workspace, fired):
    viewer = do_add_member(workspace, do_create_user("vic", "correct horse battery"), Role.VIEWER)
    with pytest.raises(PermissionDenied):
        do_undo_activity(viewer, rule_activity("hide"))


def test_an_agent_undoes_from_the_timeline_and_the_button_becomes_undone(agent, fired):
    sam = login("sam")
    conversation = Conversation.objects.get()
    page = sam.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    hide = rule_activity("hide")
    undo_url = reverse("moderation:undo", args=[hide.pk])
    # Grey line by the rule, with its Undo button (a POST form with the CSRF token).
    assert "Spam links asked the platform: hide" in page
    assert f'hx-post="{undo_url}"' in page and "csrfmiddlewaretoken" in page
    response = sam.post(undo_url, **HTMX)
    content = response.content.decode()
    assert response.status_code == 200
    assert "Sam undid what “Spam links” did" in content
    assert f'hx-post="{undo_url}"' not in content and "undone" in content
    assert Outbox.objects.filter(action="unhide").count() == 1


def test_undoing_twice_from_the_page_says_so(agent, fired):
    sam = login("sam")
    url = reverse("moderation:undo", args=[rule_activity("hide").pk])
    sam.post(url, **HTMX)
    again = sam.post(url, **HTMX)
    assert again.status_code == 422 and "This was already undone." in again.content.decode()
    assert Outbox.objects.filter(action="unhide").count() == 1
    follow = sam.post(url, follow=True)
    assert "This was already undone." in follow.content.decode()


def test_an_automated_tag_is_undone_from_the_page(agent, fired):
    conversation = Conversation.objects.get()
    tagged = Activity.objects.get(verb="tagged", automation="rule")
    login("sam").post(reverse("moderation:undo", args=[tagged.pk]), **HTMX)
    assert not conversation.tags.exists()


def test_another_workspaces_activity_is_not_found(fired):
    other = do_create_workspace("Autre")
    do_add_member(other, do_create_user("eve", "correct horse battery"), Role.OWNER)
    response = login("eve").post(reverse("moderation:undo", args=[rule_activity("hide").pk]))
    assert response.status_code == 404
    assert not Outbox.objects.filter(action="unhide").exists()


def test_a_viewer_is_refused_by_the_page(workspace, fired):
    do_add_member(workspace, do_create_user("vic", "correct horse battery"), Role.VIEWER)
    response = login("vic").post(reverse("moderation:undo", args=[rule_activity("hide").pk]))
    assert response.status_code == 403
    assert not Outbox.objects.filter(action="unhide").exists()


def test_an_unbanned_author_is_no_longer_shown_banned(owner, fired):
    from cercle.inbox.queries import _moderation_state

    platform = FakeSimulatorPlatform()
    with transport(httpx.MockTransport(platform)):
        send_due()
    conversation = fired.conversation
    assert _moderation_state(conversation, [fired])[2] == {fired.author_identity_id}
    do_undo_activity(owner, rule_activity("ban"))
    with transport(httpx.MockTransport(platform)):
        send_due()
    assert _moderation_state(conversation, [fired])[2] == set()
