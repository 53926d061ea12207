"""Saved replies: language pick, usage counts, the settings page and who may change it, the picker."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from cercle.inbox.models import Conversation, Outbox
from cercle.pipeline.actions import do_create_channel
from cercle.replies.actions import do_delete_saved_reply, do_save_saved_reply
from cercle.replies.models import SavedReply
from cercle.replies.queries import fill
from cercle.replies.variables import Version, pick_version
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from cercle.workspaces.models import Workspace
from tests.conftest import sim_event

from .conftest import login, receive

FR, EN = Version("fr", "Bonjour"), Version("en", "Hello")


def _in_language(conversation, language):
    Conversation.objects.filter(pk=conversation.pk).update(language=language)
    return Conversation.objects.select_related("contact", "post", "channel", "workspace").get(
        pk=conversation.pk
    )


def test_the_conversations_language_is_picked(conversation, agent, welcome):
    assert fill(welcome, _in_language(conversation, "en"), agent).text.startswith("Hello Camille")
    assert fill(welcome, _in_language(conversation, "fr"), agent).text.startswith("Bonjour Camille")


def test_a_regional_code_picks_its_language():
    assert pick_version([FR, EN], "en-GB", ["fr"]) == EN


def test_without_that_language_the_workspaces_first_language_is_picked():
    assert pick_version([FR, EN], "de", ["en", "fr"]) == EN
    assert pick_version([FR, EN], "", ["fr", "en"]) == FR


def test_without_either_any_version_is_picked():
    assert pick_version([EN], "de", ["fr"]) == EN
    assert pick_version([], "fr", ["fr"]) is None


def test_sending_a_reply_written_from_saved_replies_counts_one_use(
    client, agent, conversation, welcome
):
    response = login(client, "sam").post(
        reverse("inbox:send", args=[conversation.pk]),
        {"mode": "reply", "text": "Bonjour Camille", "saved_replies": f"{welcome.pk}"},
    )
    assert response.status_code in (200, 302)
    assert Outbox.objects.filter(conversation=conversation).count() == 1
    welcome.refresh_from_db()
    assert welcome.usage_count == 1


def test_a_refused_reply_counts_no_use(client, agent, conversation, welcome):
    login(client, "sam").post(
        reverse("inbox:send", args=[conversation.pk]),
        {"mode": "reply", "text": "   ", "saved_replies": f"{welcome.pk}"},
    )
    welcome.refresh_from_db()
    assert welcome.usage_count == 0


def test_another_workspaces_saved_reply_is_not_counted(client, agent, conversation):
    other = do_create_workspace("Other brand")
    boss = do_add_member(other, do_create_user("zoe", "correct horse battery"), Role.OWNER)
    theirs = do_save_saved_reply(boss, other, title="Theirs", versions={"en": "Hi"})
    login(client, "sam").post(
        reverse("inbox:send", args=[conversation.pk]),
        {"mode": "reply", "text": "Bonjour", "saved_replies": f"{theirs.pk}"},
    )
    theirs.refresh_from_db()
    assert theirs.usage_count == 0


def test_an_agent_may_not_write_saved_replies(workspace, agent):
    with pytest.raises(PermissionDenied):
        do_save_saved_reply(agent, workspace, title="Mine", versions={"fr": "Salut"})


def test_an_agent_may_not_delete_one(agent, welcome):
    with pytest.raises(PermissionDenied):
        do_delete_saved_reply(agent, welcome)
    assert SavedReply.objects.filter(pk=welcome.pk).exists()


def test_a_shortcut_names_one_saved_reply(workspace, owner, welcome):
    with pytest.raises(ValidationError):
        do_save_saved_reply(
            owner, workspace, title="Other", shortcut="welcome", versions={"fr": "x"}
        )


def test_a_saved_reply_needs_a_text(workspace, owner):
    with pytest.raises(ValidationError):
        do_save_saved_reply(owner, workspace, title="Empty", versions={"fr": " ", "en": ""})


def test_the_settings_page_creates_edits_and_deletes(client, owner):
    lea = login(client, "lea")
    lea.post(
        reverse("replies:new"),
        {
            "title": "Delivery",
            "shortcut": "delivery",
            "tags": "orders, delivery",
            "text_fr": "Votre colis arrive, {{ contact.first_name }}.",
            "text_en": "Your parcel is coming.",
        },
    )
    reply = SavedReply.objects.get(title="Delivery")
    assert {v.language for v in reply.versions.all()} == {"fr", "en"}
    assert reply.tags == ["orders", "delivery"]
    lea.post(
        reverse("replies:edit", args=[reply.pk]),
        {"title": "Delivery", "shortcut": "delivery", "text_fr": "Il arrive.", "text_en": ""},
    )
    assert [(v.language, v.text) for v in reply.versions.all()] == [("fr", "Il arrive.")]
    page = lea.get(reverse("replies:settings")).content.decode()
    assert "/delivery" in page and "0 times" in page
    lea.post(reverse("replies:delete", args=[reply.pk]))
    assert not SavedReply.objects.filter(pk=reply.pk).exists()


def test_an_agent_reads_the_list_but_cannot_open_the_form(client, agent, welcome):
    sam = login(client, "sam")
    assert "Welcome" in sam.get(reverse("replies:settings")).content.decode()
    assert sam.get(reverse("replies:new")).status_code == 403


@pytest.fixture
def other_workspace(db) -> Workspace:
    other = do_create_workspace("Other brand")
    boss = do_add_member(other, do_create_user("zoe", "correct horse battery"), Role.OWNER)
    do_save_saved_reply(boss, other, title="Secret of the others", versions={"fr": "Secret"})
    return other


def test_the_picker_lists_this_workspaces_saved_replies_only(
    client, agent, conversation, welcome, other_workspace
):
    html = (
        login(client, "sam").get(reverse("replies:picker", args=[conversation.pk])).content.decode()
    )
    assert "Welcome" in html and "Secret of the others" not in html


def test_the_picker_searches_title_shortcut_and_text(
    client, owner, agent, conversation, welcome, workspace
):
    do_save_saved_reply(
        owner,
        workspace,
        title="Refund",
        shortcut="refund",
        versions={"fr": "Remboursement en cours"},
    )
    sam = login(client, "sam")
    url = reverse("replies:picker", args=[conversation.pk])
    assert "Refund" in sam.get(url, {"q": "rembourse"}).content.decode()
    assert "Refund" in sam.get(url, {"q": "/ref"}).content.decode()
    found = sam.get(url, {"q": "welc"}).content.decode()
    assert "Welcome" in found and "Refund" not in found


def test_the_picker_shows_the_filled_version(client, agent, conversation, welcome):
    _in_language(conversation, "en")
    html = (
        login(client, "sam").get(reverse("replies:picker", args=[conversation.pk])).content.decode()
    )
    assert "Hello Camille, Sam here from Lumen forum." in html


def test_another_workspaces_conversation_or_saved_reply_is_a_404(client, owner, other_workspace):
    boss_channel = do_create_channel(
        other_workspace,
        "simulator",
        "Their forum",
        external_id="forum-9",
        config={"api_base": "http://simulator.test/api"},
        credentials={"webhook_secret": "s", "access_token": "t"},
    )
    receive(boss_channel, sim_event("x1"))
    theirs = Conversation.objects.get(channel=boss_channel)
    lea = login(client, "lea")
    assert lea.get(reverse("replies:picker", args=[theirs.pk])).status_code == 404
    secret = SavedReply.objects.get(workspace=other_workspace)
    assert lea.get(reverse("replies:edit", args=[secret.pk])).status_code == 404
    assert lea.post(reverse("replies:delete", args=[secret.pk])).status_code == 404


def test_the_reply_box_offers_the_picker(client, agent, conversation):
    html = (
        login(client, "sam")
        .get(reverse("inbox:conversation", args=[conversation.pk]))
        .content.decode()
    )
    assert (
        'id="saved-replies-q"' in html and reverse("replies:picker", args=[conversation.pk]) in html
    )


def test_the_picker_query_count_does_not_grow_with_the_saved_replies(
    client, owner, agent, workspace, conversation
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sam = login(client, "sam")
    url = reverse("replies:picker", args=[conversation.pk])

    def queries_for_listing() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert sam.get(url).status_code == 200
        return len(captured)

    do_save_saved_reply(owner, workspace, title="One", versions={"fr": "Un", "en": "One"})
    # The first request of a session stores its workspace; the ones after write nothing.
    queries_for_listing()
    with_one = queries_for_listing()
    for i in range(7):
        do_save_saved_reply(owner, workspace, title=f"More {i}", versions={"fr": "x", "en": "y"})
    assert queries_for_listing() == with_one
