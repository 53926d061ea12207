"""Merging two conversations, and two contacts with their identities: one person, one history."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import ActionRefused, do_add_note, do_receive, do_tag_conversation
from cercle.inbox.choices import Direction, Status
from cercle.inbox.merge import do_merge_contacts, do_merge_conversations
from cercle.inbox.models import Contact, Conversation, Identity, Message
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role, Verb
from cercle.workspaces.models import Activity
from tests.conftest import sim_body, sim_event


def receive(channel, *events):
    return do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(*events))))


@pytest.fixture
def second_channel(workspace):
    return do_create_channel(
        workspace,
        "simulator",
        "Lumen messages",
        external_id="forum-2",
        config={"api_base": "http://simulator.test/api"},
        credentials={"webhook_secret": "s3cret", "access_token": "tok"},
    )


def camille_on_two_channels(sim_channel, second_channel):
    receive(sim_channel, sim_event("a1", text="Ma lampe clignote"))
    receive(sim_channel, sim_event("a2", text="Toujours rien ?", parent_id="a1"))
    receive(
        second_channel,
        sim_event("b1", text="Je vous écris ici aussi", author={"id": "m9", "name": "Camille D."}),
    )
    first = Conversation.objects.get(channel=sim_channel)
    second = Conversation.objects.get(channel=second_channel)
    return first, second


def test_merging_two_contacts_moves_identities_and_conversations(
    owner, sim_channel, second_channel
):
    first, second = camille_on_two_channels(sim_channel, second_channel)
    do_add_note(owner, second, "Même personne que sur le forum")
    target, source = first.contact, second.contact
    assert target.pk != source.pk

    do_merge_contacts(owner, source, target)

    assert set(Identity.objects.filter(contact=target).values_list("channel_id", flat=True)) == {
        sim_channel.pk,
        second_channel.pk,
    }
    assert not Identity.objects.filter(contact=source).exists()
    # One contact, one history: both conversations (and the note) are the target's.
    assert set(target.conversations.values_list("pk", flat=True)) == {first.pk, second.pk}
    assert (
        Message.objects.filter(conversation__contact=target, direction=Direction.NOTE).count() == 1
    )
    source.refresh_from_db()
    assert source.merged_into_id == target.pk
    logged = Activity.objects.filter(verb=Verb.CONTACTS_MERGED)
    assert {a.conversation_id for a in logged} == {first.pk, second.pk, None}
    # A new message from the merged account lands with the merged contact.
    receive(
        second_channel, sim_event("b2", text="Alors ?", author={"id": "m9", "name": "Camille D."})
    )
    assert Conversation.objects.get(channel=second_channel).contact_id == target.pk


def test_merging_two_conversations_moves_messages_and_counts(owner, sim_channel, second_channel):
    first, second = camille_on_two_channels(sim_channel, second_channel)
    do_tag_conversation(owner, second, "panne")
    assert (first.message_count, second.message_count) == (2, 1)

    do_merge_conversations(owner, second, first)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.messages.count() == 3 and first.message_count == 3
    assert second.messages.count() == 0 and second.message_count == 0
    assert second.status == Status.CLOSED and second.merged_into_id == first.pk
    assert [t.name for t in first.tags.all()] == ["panne"]
    assert Activity.objects.filter(verb=Verb.MERGED, conversation=first).exists()
    assert Activity.objects.filter(verb=Verb.MERGED, conversation=second).exists()
    # The merged thread goes on in the target.
    receive(
        second_channel,
        sim_event("b2", text="Une suite", author={"id": "m9", "name": "Camille D."}),
    )
    first.refresh_from_db()
    assert first.messages.count() == 4 and first.message_count == 4
    assert Conversation.objects.get(pk=second.pk).message_count == 0
    with pytest.raises(ActionRefused):
        do_merge_conversations(owner, second, first)  # already merged
    with pytest.raises(ActionRefused):
        do_merge_conversations(owner, first, first)


def test_merging_refuses_another_workspace_and_a_viewer(owner, workspace, sim_channel):
    receive(sim_channel, sim_event("a1"))
    ours = Conversation.objects.get()
    other = do_create_workspace("Autre")
    channel = do_create_channel(other, "simulator", "Other", external_id="o-1")
    receive(channel, sim_event("z1"))
    theirs = Conversation.objects.get(workspace=other)
    with pytest.raises(PermissionDenied):
        do_merge_conversations(owner, theirs, ours)
    with pytest.raises(PermissionDenied):
        do_merge_contacts(owner, theirs.contact, ours.contact)
    viewer = do_add_member(workspace, do_create_user("vic", "correct horse battery"), Role.VIEWER)
    second = Contact.objects.create(workspace=workspace, display_name="Autre")
    with pytest.raises(PermissionDenied):
        do_merge_contacts(viewer, second, ours.contact)
    assert (
        theirs.messages.count() == 1
        and Contact.objects.filter(merged_into__isnull=False).count() == 0
    )


def test_the_contact_panel_searches_and_merges(client, owner, sim_channel, second_channel):
    first, second = camille_on_two_channels(sim_channel, second_channel)
    assert client.login(username="lea", password="correct horse battery")
    page = client.get(reverse("inbox:conversation", args=[first.pk])).content.decode()
    assert 'id="merge-contact-q"' in page
    found = client.get(reverse("inbox:contact_search", args=[first.pk]), {"q": "camille d"})
    assert "Camille D." in found.content.decode()
    client.post(reverse("inbox:merge_contact", args=[first.pk]), {"source": second.contact_id})
    assert Conversation.objects.get(pk=second.pk).contact_id == first.contact_id
    client.post(reverse("inbox:merge_conversation", args=[first.pk]), {"source": second.pk})
    assert Conversation.objects.get(pk=second.pk).merged_into_id == first.pk


def test_the_panel_does_not_reach_another_workspace(client, owner, sim_channel):
    receive(sim_channel, sim_event("a1"))
    ours = Conversation.objects.get()
    other = do_create_workspace("Autre")
    channel = do_create_channel(other, "simulator", "Other", external_id="o-1")
    receive(channel, sim_event("z1"))
    theirs = Conversation.objects.get(workspace=other)
    assert client.login(username="lea", password="correct horse battery")
    url = reverse("inbox:merge_conversation", args=[ours.pk])
    assert client.post(url, {"source": theirs.pk}).status_code == 404
    url = reverse("inbox:merge_contact", args=[ours.pk])
    assert client.post(url, {"source": theirs.contact_id}).status_code == 404
    assert (
        theirs.contact.merged_into_id is None
        and Conversation.objects.get(pk=theirs.pk).merged_into_id is None
    )


def test_the_timelines_tell_the_merges_with_names_escaped(
    client, owner, sim_channel, second_channel
):
    first, second = camille_on_two_channels(sim_channel, second_channel)
    Contact.objects.filter(pk=second.contact_id).update(display_name="<b>Cam</b>")
    second.contact.refresh_from_db()
    do_merge_contacts(owner, second.contact, first.contact)
    do_merge_conversations(owner, second, first)
    assert client.login(username="lea", password="correct horse battery")
    page = client.get(reverse("inbox:conversation", args=[first.pk])).content.decode()
    assert "merged another conversation into this one" in page
    assert "merged the contact “&lt;b&gt;Cam&lt;/b&gt;”" in page
    page = client.get(reverse("inbox:conversation", args=[second.pk])).content.decode()
    assert "merged this conversation into another one" in page
    assert "This conversation was merged into another one." in page
