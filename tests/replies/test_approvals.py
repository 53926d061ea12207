"""Approvals (four eyes): a held reply never reaches the outbox before an approver approves it."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from cercle.inbox.actions import ActionRefused
from cercle.inbox.choices import Direction
from cercle.inbox.models import Message, Outbox
from cercle.pipeline.actions import do_create_channel
from cercle.replies.actions import (
    do_approve_reply,
    do_reject_reply,
    do_save_approval_policy,
    do_submit_reply,
    do_withdraw_reply,
)
from cercle.replies.choices import PendingState
from cercle.replies.models import PendingReply
from cercle.workspaces.actions import do_add_member, do_create_user, do_deactivate_member
from cercle.workspaces.choices import Role, Verb
from cercle.workspaces.models import Activity
from tests.conftest import sim_event

from .conftest import login, receive


def outbound(conversation):
    return Message.objects.filter(conversation=conversation, direction=Direction.OUTBOUND)


def outbox(conversation):
    return Outbox.objects.filter(conversation=conversation)


@pytest.fixture
def held_agent(workspace, owner, agent):
    """Sam, an agent whose replies wait for approval (policy by member)."""
    do_save_approval_policy(owner, workspace, members=[agent])
    return agent


@pytest.fixture
def pending(held_agent, conversation):
    held = do_submit_reply(held_agent, conversation, "Bonjour Camille, on regarde.")
    assert isinstance(held, PendingReply)
    return held


def test_a_held_members_reply_writes_no_message_and_no_outbox_row(pending, conversation):
    assert pending.state == PendingState.PENDING
    assert not outbox(conversation).exists() and not outbound(conversation).exists()
    assert Activity.objects.filter(conversation=conversation, verb=Verb.REPLY_SUBMITTED).exists()


def test_approval_sends_it_once_as_its_author(pending, manager, conversation, held_agent):
    message = do_approve_reply(manager, pending)
    assert outbox(conversation).count() == 1
    assert message.author_member == held_agent and message.text == "Bonjour Camille, on regarde."
    approved = Activity.objects.get(conversation=conversation, verb=Verb.REPLY_APPROVED)
    assert approved.actor == manager and approved.data["author_id"] == held_agent.pk
    pending.refresh_from_db()
    assert pending.state == PendingState.APPROVED and pending.message == message


def test_a_reply_is_approved_once(pending, manager, owner, conversation):
    do_approve_reply(manager, pending)
    with pytest.raises(ActionRefused):
        do_approve_reply(owner, pending)
    assert outbox(conversation).count() == 1


def test_edit_then_approve_sends_the_edited_text(pending, manager, conversation):
    do_approve_reply(manager, pending, text="Bonjour Camille, votre colis part demain.")
    assert [o.payload["text"] for o in outbox(conversation)] == [
        "Bonjour Camille, votre colis part demain."
    ]
    approved = Activity.objects.get(conversation=conversation, verb=Verb.REPLY_APPROVED)
    assert approved.data["edited"] is True
    assert approved.data["original_text"] == "Bonjour Camille, on regarde."


def test_rejection_sends_nothing_and_tells_the_author(pending, manager, conversation, held_agent):
    do_reject_reply(manager, pending, "Trop familier, vouvoyez.")
    assert not outbox(conversation).exists() and not outbound(conversation).exists()
    rejected = Activity.objects.get(conversation=conversation, verb=Verb.REPLY_REJECTED)
    assert rejected.actor == manager
    assert rejected.data["notify"] == [held_agent.pk]
    assert rejected.data["comment"] == "Trop familier, vouvoyez."
    with pytest.raises(ActionRefused):
        do_approve_reply(manager, pending)


def test_a_non_approver_cannot_approve_or_reject(pending, workspace, conversation):
    other_agent = do_add_member(
        workspace, do_create_user("tom", "correct horse battery"), Role.AGENT
    )
    with pytest.raises(PermissionDenied):
        do_approve_reply(other_agent, pending)
    with pytest.raises(PermissionDenied):
        do_reject_reply(other_agent, pending, "no")
    with pytest.raises(PermissionDenied):
        do_approve_reply(pending.author, pending)
    assert not outbox(conversation).exists()
    pending.refresh_from_db()
    assert pending.state == PendingState.PENDING


def test_the_author_may_withdraw_it(pending, held_agent, manager, conversation):
    do_withdraw_reply(held_agent, pending)
    with pytest.raises(ActionRefused):
        do_approve_reply(manager, pending)
    assert not outbox(conversation).exists()


def test_an_approvers_own_replies_are_not_held(workspace, owner, manager, conversation):
    do_save_approval_policy(owner, workspace, roles=[Role.AGENT], members=[manager])
    sent = do_submit_reply(manager, conversation, "Bonjour")
    assert isinstance(sent, Message) and outbox(conversation).count() == 1


def test_policy_by_role(workspace, owner, agent, conversation):
    do_save_approval_policy(owner, workspace, roles=[Role.AGENT])
    assert isinstance(do_submit_reply(agent, conversation, "Bonjour"), PendingReply)
    assert not outbox(conversation).exists()


def test_policy_by_channel_holds_that_channel_only(
    workspace, owner, agent, conversation, sim_channel
):
    other_channel = do_create_channel(
        workspace,
        "simulator",
        "Second forum",
        external_id="forum-2",
        config={"api_base": "http://simulator.test/api"},
        credentials={"webhook_secret": "s", "access_token": "t"},
    )
    receive(other_channel, sim_event("o1"))
    elsewhere = other_channel.conversations.get()
    do_save_approval_policy(owner, workspace, channels=[sim_channel])
    assert isinstance(do_submit_reply(agent, conversation, "Bonjour"), PendingReply)
    assert isinstance(do_submit_reply(agent, elsewhere, "Bonjour"), Message)
    assert not outbox(conversation).exists() and outbox(elsewhere).count() == 1


def test_without_a_policy_nothing_is_held(agent, conversation):
    assert isinstance(do_submit_reply(agent, conversation, "Bonjour"), Message)


def test_an_agent_may_not_set_the_policy(workspace, agent):
    with pytest.raises(PermissionDenied):
        do_save_approval_policy(agent, workspace, roles=[Role.AGENT])


def test_a_held_reply_is_checked_like_a_sent_one(held_agent, conversation):
    with pytest.raises(ActionRefused):
        do_submit_reply(held_agent, conversation, "   ")
    assert not PendingReply.objects.exists()


def test_saved_replies_count_when_the_held_reply_is_approved(
    manager, welcome, held_agent, conversation
):
    held = do_submit_reply(held_agent, conversation, "Hello", saved_reply_ids=[welcome.pk])
    welcome.refresh_from_db()
    assert welcome.usage_count == 0
    do_approve_reply(manager, held)
    welcome.refresh_from_db()
    assert welcome.usage_count == 1


# --- through the pages -------------------------------------------------------------------


def test_the_send_button_holds_the_reply_and_shows_it_awaiting(client, held_agent, conversation):
    response = login(client, "sam").post(
        reverse("inbox:send", args=[conversation.pk]),
        {"mode": "reply", "text": "Bonjour <b>Camille</b>"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="conversation",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Awaiting approval" in html and "Bonjour &lt;b&gt;Camille&lt;/b&gt;" in html
    assert not outbox(conversation).exists() and not outbound(conversation).exists()


def test_the_approvals_page_approves_with_an_edit(client, pending, manager, conversation):
    ines = login(client, "ines")
    page = ines.get(reverse("replies:approvals")).content.decode()
    assert "Bonjour Camille, on regarde." in page
    ines.post(reverse("replies:approve", args=[pending.pk]), {"text": "Bonjour, c'est réglé."})
    assert [o.payload["text"] for o in outbox(conversation)] == ["Bonjour, c'est réglé."]


def test_the_approvals_page_rejects_with_a_comment(client, pending, manager, conversation):
    login(client, "ines").post(reverse("replies:reject", args=[pending.pk]), {"comment": "Non"})
    pending.refresh_from_db()
    assert pending.state == PendingState.REJECTED and pending.comment == "Non"
    assert not outbox(conversation).exists()


def test_an_agent_posting_approve_is_refused(client, pending, conversation):
    login(client, "sam").post(reverse("replies:approve", args=[pending.pk]))
    pending.refresh_from_db()
    assert pending.state == PendingState.PENDING and not outbox(conversation).exists()


def test_an_approver_approves_from_the_conversation_pane(client, pending, manager, conversation):
    response = login(client, "ines").post(
        reverse("replies:approve", args=[pending.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="conversation",
    )
    assert response.status_code == 200 and 'id="replybox"' in response.content.decode()
    assert outbox(conversation).count() == 1


def test_the_policy_page_saves_the_policy(client, owner, agent, workspace):
    login(client, "lea").post(
        reverse("replies:approval_settings"), {"roles": [], "members": [agent.pk], "channels": []}
    )
    assert list(workspace.approval_policy.members.all()) == [agent]


def test_an_unchanged_text_sent_back_by_a_browser_is_not_an_edit(held_agent, manager, conversation):
    held = do_submit_reply(held_agent, conversation, "Bonjour,\nà demain.")
    do_approve_reply(manager, held, text="Bonjour,\r\nà demain.")
    approved = Activity.objects.get(conversation=conversation, verb=Verb.REPLY_APPROVED)
    assert approved.data["edited"] is False
    assert outbox(conversation).get().payload["text"] == "Bonjour,\nà demain."


def test_the_author_reads_the_rejection_and_its_comment_in_the_timeline(
    client, pending, manager, conversation
):
    do_reject_reply(manager, pending, "<script>alert(1)</script> vouvoyez")
    html = login(client, "sam").get(reverse("inbox:conversation", args=[conversation.pk]))
    page = html.content.decode()
    assert "Inès Haddad rejected the reply of Sam" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; vouvoyez" in page and "<script>alert" not in page
    assert "Awaiting approval" not in page


def test_an_agent_reads_the_policy_but_cannot_change_it(client, workspace, owner, agent):
    do_save_approval_policy(owner, workspace, roles=[Role.AGENT])
    sam = login(client, "sam")
    assert "Roles: Agent" in sam.get(reverse("replies:approval_settings")).content.decode()
    response = sam.post(reverse("replies:approval_settings"), {"roles": []})
    assert response.status_code == 403
    assert workspace.approval_policy.roles == [Role.AGENT]


def test_a_reply_of_a_deactivated_author_is_sent_by_the_approver(
    pending, owner, manager, held_agent, conversation
):
    do_deactivate_member(owner, held_agent)
    pending.refresh_from_db()
    message = do_approve_reply(manager, pending)
    assert message.author_member == manager and outbox(conversation).count() == 1
    approved = Activity.objects.get(conversation=conversation, verb=Verb.REPLY_APPROVED)
    assert approved.data["author_id"] == held_agent.pk
