"""@mentions: handles of members and teams, resolution in notes, highlighted and inert on the page."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from cercle.inbox.actions import do_add_note
from cercle.workspaces.actions import do_add_member, do_create_user
from cercle.workspaces.choices import Role, Verb
from cercle.workspaces.mentions import find_mentions, member_handles, own_handles, split_mentions
from cercle.workspaces.models import Activity


def _note_mentions(note_id: int) -> list[dict[str, object]]:
    activity = Activity.objects.get(verb=Verb.NOTE_ADDED, message_id=note_id)
    return list(activity.data.get("mentions", []))


def test_a_member_has_a_name_handle_and_a_username_handle(owner):
    assert member_handles(owner) == ["lea-martin", "lea"]


def test_members_and_teams_are_found_by_their_handles(owner, agent, support):
    found = find_mentions(owner.workspace_id, "Vu avec @Léa-Martin et @sam, puis @support-fr.")
    assert [(m.member_id, m.team_id) for m in found] == [
        (owner.pk, None),
        (agent.pk, None),
        (None, support.pk),
    ]


def test_unknown_handles_and_email_addresses_are_not_mentions(owner, agent):
    assert find_mentions(owner.workspace_id, "@personne écrit à sam@example.com") == []


def test_a_handle_shared_by_two_members_reaches_nobody(workspace, owner):
    other = do_add_member(
        workspace, do_create_user("lm2", "pw", first_name="Léa", last_name="Martin"), Role.AGENT
    )
    assert find_mentions(workspace.pk, "@lea-martin") == []
    # Each keeps the handle that is theirs alone (the username), shown on their profile.
    assert own_handles(owner) == ["lea"] and own_handles(other) == ["lm2"]


def test_members_of_another_workspace_are_not_found(owner):
    from cercle.workspaces.actions import do_create_workspace

    elsewhere = do_create_workspace("Autre", timezone="UTC")
    do_add_member(elsewhere, do_create_user("zoe", "pw", first_name="Zoé"), Role.AGENT)
    assert find_mentions(owner.workspace_id, "@zoe") == []


def test_a_note_stores_the_mentions_in_its_activity(owner, agent, support, conversation):
    note = do_add_note(owner, conversation, "@sam peux-tu voir ? cc @support-fr @inconnu")
    assert _note_mentions(note.pk) == [
        {"handle": "sam", "name": "Sam", "member": agent.pk},
        {"handle": "support-fr", "name": "Support FR", "team": support.pk},
    ]


def test_split_keeps_unresolved_handles_as_text():
    assert split_mentions("a @sam b @x", ["sam"]) == [
        ("a ", False),
        ("@sam", True),
        (" b @x", False),
    ]


def test_the_timeline_highlights_mentions_and_keeps_hostile_text_inert(
    client: Client, owner, agent, conversation
):
    do_add_note(owner, conversation, '@sam <img src=x onerror=alert(1)> "@sam"')
    assert client.login(username="lea", password="correct horse battery")
    page = client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    assert '<mark class="mention">@sam</mark> &lt;img src=x onerror=alert(1)&gt;' in page
    assert "<img src=x" not in page


def test_the_profile_shows_my_handles(client: Client, owner):
    assert client.login(username="lea", password="correct horse battery")
    page = client.get(reverse("workspaces:profile")).content.decode()
    assert "<code>@lea-martin</code>" in page and "<code>@lea</code>" in page
