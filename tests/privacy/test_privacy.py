"""GDPR: export everything held about a contact, erase a contact across every channel (and keep
the erased items from coming back), retention of messages per workspace. Owners and admins only."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from cercle.core import clock
from cercle.inbox.actions import do_add_note, do_reply, do_tag_conversation
from cercle.inbox.models import Contact, Conversation, Identity, Message, Tombstone
from cercle.pipeline.actions import do_create_channel, do_ingest_pending, do_store_raw_event
from cercle.pipeline.models import RawEvent
from cercle.privacy.actions import (
    ERASED_NAME,
    do_erase_contact,
    do_export_contact,
    do_purge_expired_messages,
    do_set_retention,
)
from cercle.privacy.tasks import purge_expired_messages
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role, Verb
from cercle.workspaces.models import Activity
from tests.conftest import sim_body, sim_event

CAMILLE = {"id": "u-camille", "name": "Camille Durand", "handle": "camille"}
BOB = {"id": "u-bob", "name": "Bob Martin", "handle": "bob"}


def deliver(channel, *events):
    """Through the real pipeline: stored as a RawEvent, then ingested."""
    do_store_raw_event(channel, sim_body(*events), {})
    do_ingest_pending()


@pytest.fixture
def forum2(workspace):
    return do_create_channel(
        workspace,
        "simulator",
        "Second forum",
        external_id="forum-2",
        config={"api_base": "http://simulator.test/api"},
        credentials={"webhook_secret": "s3cret", "access_token": "tok"},
    )


@pytest.fixture
def camille(owner, sim_channel, forum2):
    """Camille writes on two channels (merged into one contact); Bob writes too."""
    deliver(sim_channel, sim_event("c1", text="Ma commande 4411 n'est pas arrivée", author=CAMILLE))
    deliver(forum2, sim_event("c2", text="Toujours rien, camille@example.com", author=CAMILLE))
    deliver(sim_channel, sim_event("b1", text="Super lampe", author=BOB))
    first = Conversation.objects.get(messages__external_id="c1")
    second = Conversation.objects.get(messages__external_id="c2")
    Contact.objects.filter(pk=second.contact_id).update(merged_into=first.contact_id)
    do_reply(owner, first, "Bonjour Camille, nous regardons")
    do_add_note(owner, first, "Camille a déjà écrit la semaine dernière")
    do_tag_conversation(owner, first, "livraison")
    return first.contact


def test_the_export_holds_everything_about_the_person(owner, camille):
    export = do_export_contact(owner, camille)
    texts = {m["text"] for m in export["messages"]}
    assert {c["name"] for c in export["contacts"]} == {"Camille Durand"}
    assert len(export["contacts"]) == 2 and len(export["identities"]) == 2
    assert {i["handle"] for i in export["identities"]} == {"camille"}
    assert len(export["conversations"]) == 2
    assert "Ma commande 4411 n'est pas arrivée" in texts
    assert "Toujours rien, camille@example.com" in texts
    assert "Bonjour Camille, nous regardons" in texts
    assert [n["text"] for n in export["notes"]] == ["Camille a déjà écrit la semaine dernière"]
    assert "tagged" in {a["verb"] for a in export["moderation"]}
    assert "Super lampe" not in json.dumps(export)


def test_the_export_is_a_download_and_is_logged(owner, camille):
    client = Client()
    client.force_login(owner.user)
    response = client.get(reverse("privacy:export", args=[camille.pk]))
    assert response["Content-Disposition"] == f'attachment; filename="contact-{camille.pk}.json"'
    assert json.loads(response.content)["contacts"][0]["name"] == "Camille Durand"
    assert Activity.objects.get(verb=Verb.CONTACT_EXPORTED).actor_id == owner.pk


def test_an_agent_can_neither_export_nor_erase(agent, camille):
    client = Client()
    client.force_login(agent.user)
    assert client.get(reverse("privacy:export", args=[camille.pk])).status_code == 403
    assert client.post(reverse("privacy:erase", args=[camille.pk])).status_code == 403
    with pytest.raises(PermissionDenied):
        do_export_contact(agent, camille)
    with pytest.raises(PermissionDenied):
        do_erase_contact(agent, camille)
    assert Identity.objects.filter(handle="camille").count() == 2


def test_another_workspace_s_contact_is_a_404(camille):
    other = do_create_workspace("Other")
    stranger = do_add_member(other, do_create_user("eve", "pw-eve-123456"), Role.OWNER)
    client = Client()
    client.force_login(stranger.user)
    assert client.get(reverse("privacy:export", args=[camille.pk])).status_code == 404
    assert client.post(reverse("privacy:erase", args=[camille.pk])).status_code == 404
    with pytest.raises(PermissionDenied):
        do_erase_contact(stranger, camille)


def test_erasure_removes_text_and_author_data_across_channels(owner, camille):
    client = Client()
    client.force_login(owner.user)
    client.post(reverse("privacy:erase", args=[camille.pk]))

    held = json.dumps(
        list(Message.objects.exclude(text="Super lampe").values("text", "url", "author_identity"))
    )
    assert "Camille" not in held and "4411" not in held and "camille@" not in held
    assert not Identity.objects.filter(handle="camille").exists()
    assert set(
        Contact.objects.exclude(identities__handle="bob").values_list("display_name", flat=True)
    ) == {ERASED_NAME}
    assert set(Conversation.objects.filter(contact=camille).values_list("preview", flat=True)) == {
        ""
    }
    # Bob is untouched.
    assert Message.objects.get(external_id="b1").text == "Super lampe"


def test_erasure_deletes_the_raw_payloads_and_is_audited_without_the_data(owner, camille):
    do_erase_contact(owner, camille)
    payloads = b" ".join(bytes(r.body) for r in RawEvent.objects.all())
    assert b"Camille" not in payloads and b"Super lampe" in payloads
    erased = Activity.objects.get(verb=Verb.CONTACT_ERASED)
    assert erased.actor_id == owner.pk and erased.data["messages"] == 4
    assert "Camille" not in json.dumps(erased.data)


def test_an_erased_item_redelivered_or_edited_does_not_come_back(
    owner, camille, sim_channel, forum2
):
    do_erase_contact(owner, camille)
    deliver(sim_channel, sim_event("c1", text="Ma commande 4411 n'est pas arrivée", author=CAMILLE))
    deliver(forum2, sim_event("c2", op="update", text="Toujours rien (édité)", author=CAMILLE))
    assert not Message.objects.filter(text__contains="4411").exists()
    assert not Message.objects.filter(text__contains="Toujours").exists()
    assert Tombstone.objects.filter(external_id__in=["c1", "c2"]).count() == 2


# --- retention --------------------------------------------------------------------------------

NOV_20 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
JAN_1 = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture
def history(owner, sim_channel):
    """Two old messages from Camille (20 Nov), one recent one from Bob (20 Dec)."""
    deliver(
        sim_channel,
        sim_event("old1", author=CAMILLE),
        sim_event("old2", type="reply", author=CAMILLE, parent_id="old1"),
    )
    deliver(sim_channel, sim_event("new1", author=BOB, created_at="2026-12-20T10:00:00+00:00"))
    return sim_channel


def test_retention_deletes_old_messages_in_batches_and_keeps_recent_ones(owner, history):
    do_set_retention(owner, owner.workspace, 30)
    with clock.at(JAN_1):
        first = do_purge_expired_messages(owner.workspace_id, batch=1)
        rest = purge_expired_messages.call()
    assert (first, rest) == (1, 1)
    assert list(Message.objects.values_list("external_id", flat=True)) == ["new1"]
    # Camille's conversation is left empty: it goes too; Bob's stays.
    assert list(Conversation.objects.values_list("contact__display_name", flat=True)) == [
        "Bob Martin"
    ]
    purged = Activity.objects.filter(verb=Verb.MESSAGES_PURGED)
    assert sum(a.data["messages"] for a in purged) == 2


def test_a_purged_message_is_not_brought_back_by_the_platform(owner, history):
    do_set_retention(owner, owner.workspace, 30)
    with clock.at(JAN_1):
        purge_expired_messages.call()
    deliver(history, sim_event("old1", author=CAMILLE))
    assert not Message.objects.filter(external_id="old1").exists()


def test_without_a_policy_nothing_is_deleted(owner, history):
    with clock.at(JAN_1):
        assert purge_expired_messages.call() == 0
    assert Message.objects.count() == 3


def test_the_retention_is_set_by_owners_and_admins_only(owner, agent):
    client = Client()
    client.force_login(agent.user)
    client.post(reverse("privacy:settings"), {"message_days": "7"})
    with pytest.raises(PermissionDenied):
        do_set_retention(agent, agent.workspace, 7)
    client.force_login(owner.user)
    client.post(reverse("privacy:settings"), {"message_days": "90"})
    change = Activity.objects.get(verb=Verb.RETENTION_CHANGED)
    assert (change.data, change.actor_id) == ({"old": None, "new": 90}, owner.pk)
