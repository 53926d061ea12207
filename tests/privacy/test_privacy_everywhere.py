"""GDPR export, erasure and retention reach what was added beside the inbox: listening's mentions,
notifications and webhook payloads, drafts and presence, replies awaiting approval, and replies
still queued in the Outbox (cancelled, not sent as written)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cercle.connectors.base import Author, Incoming
from cercle.core import clock
from cercle.inbox.actions import (
    do_assign_conversation,
    do_record_presence,
    do_reply,
    do_retry_delivery,
    do_save_draft,
)
from cercle.inbox.choices import Delivery, OutboxState
from cercle.inbox.models import Conversation, Draft, Message, Outbox, Presence, Tombstone
from cercle.listening.actions import SearchFields, do_create_search, do_store_mentions
from cercle.listening.models import Mention
from cercle.notifications.actions import do_create_webhook_endpoint, do_drain_activity_log
from cercle.notifications.choices import DeliveryState
from cercle.notifications.models import Notification, WebhookDelivery
from cercle.pipeline.sender import send_due
from cercle.privacy.actions import (
    CANCELLED_BY_ERASURE,
    do_erase_contact,
    do_export_contact,
    do_purge_expired_messages,
    do_set_retention,
)
from cercle.replies.actions import do_save_approval_policy, do_submit_reply
from cercle.replies.choices import PendingState
from cercle.replies.models import PendingReply
from cercle.workspaces.choices import Role, Verb
from cercle.workspaces.models import Activity
from tests.privacy.test_privacy import CAMILLE, camille, deliver, forum2  # noqa: F401

SECRET_TEXT = "Ma commande 4411 n'est pas arrivée"
REPLY_TEXT = "Camille, votre commande 4411 part du 12 rue des Lilas"


def mention(search, channel, external_id: str, author: dict[str, str], text: str, when=None):
    item = Incoming(
        external_id=external_id,
        kind="mention",
        author=Author(external_id=author["id"], name=author["name"], handle=author["handle"]),
        text=text,
        url=f"https://social.example/@{author['handle']}/{external_id}",
        sent_at=when,
    )
    return do_store_mentions(search.workspace.members.get(role=Role.OWNER), search, channel, [item])


@pytest.fixture
def search(owner):
    return do_create_search(owner, owner.workspace_id, SearchFields(name="Lumen", any_of="lumen"))


@pytest.fixture
def first(camille):  # noqa: F811
    return Conversation.objects.filter(contact=camille).order_by("id").first()


# --- listening's mentions ------------------------------------------------------------------------


def test_mentions_by_the_person_are_exported_erased_and_never_stored_again(
    owner,
    camille,  # noqa: F811
    search,
    sim_channel,
):
    mention(search, sim_channel, "m-1", CAMILLE, "La lampe lumen de Camille est cassée")
    bob = {"id": "u-bob", "name": "Bob Martin", "handle": "bob"}
    mention(search, sim_channel, "m-2", bob, "J'adore lumen")

    export = do_export_contact(owner, camille)
    assert [m["text"] for m in export["mentions"]] == ["La lampe lumen de Camille est cassée"]

    erasure = do_erase_contact(owner, camille)
    assert erasure.elsewhere["mentions"] == 1
    assert list(Mention.objects.values_list("external_id", flat=True)) == ["m-2"]
    assert Tombstone.objects.filter(channel=sim_channel, external_id="m-1").exists()
    # The next search run finds the same post again: it is not stored again.
    assert mention(search, sim_channel, "m-1", CAMILLE, "La lampe lumen de Camille") == []
    assert not Mention.objects.filter(external_id="m-1").exists()
    audit = Activity.objects.get(verb=Verb.CONTACT_ERASED)
    assert audit.data["mentions"] == 1 and "Camille" not in str(audit.data)


def test_retention_deletes_old_mentions_and_keeps_recent_ones(owner, search, sim_channel):
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    with clock.at(now):
        author = {"id": "u-x", "name": "X", "handle": "x"}
        mention(search, sim_channel, "old", author, "lumen old", when=now - timedelta(days=40))
        mention(search, sim_channel, "new", author, "lumen new", when=now - timedelta(days=2))
        do_set_retention(owner, owner.workspace, 30)
        while do_purge_expired_messages(owner.workspace_id):
            pass
        assert list(Mention.objects.values_list("external_id", flat=True)) == ["new"]
        assert mention(search, sim_channel, "old", author, "lumen old again") == []
        purge = Activity.objects.get(verb=Verb.MESSAGES_PURGED)
        assert purge.data["mentions"] == 1


# --- notifications and outgoing webhooks ---------------------------------------------------------


def test_webhook_payloads_lose_the_person_s_words_and_notifications_are_exported(
    owner,
    agent,
    sim_channel,
):
    endpoint, _ = do_create_webhook_endpoint(
        owner, owner.workspace, name="Team chat", url="https://hooks.example.com/x", events=[]
    )
    deliver(sim_channel, camille_event())
    conversation = Conversation.objects.get(messages__external_id="c1")
    do_assign_conversation(owner, conversation, agent)
    do_reply(owner, conversation, REPLY_TEXT)  # its Activity's payload quotes the reply
    do_drain_activity_log()
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert any(REPLY_TEXT in str(d.payload) for d in deliveries)
    WebhookDelivery.objects.filter(pk=deliveries.order_by("id").first().pk).update(
        state=DeliveryState.DELIVERED
    )
    assert Notification.objects.filter(member=agent).exists()

    export = do_export_contact(owner, conversation.contact)
    kinds = {n["type"] for n in export["notifications"]}
    assert kinds == {"notification", "webhook"}
    assert any(REPLY_TEXT in str(n.get("payload")) for n in export["notifications"])

    do_erase_contact(owner, conversation.contact)
    about = WebhookDelivery.objects.filter(endpoint=endpoint, activity__conversation=conversation)
    assert about.count() == 2
    for delivery in about:
        assert REPLY_TEXT not in str(delivery.payload)
        assert "Camille" not in str(delivery.payload)
        if delivery.state == DeliveryState.PENDING:  # still sent, without the person's data
            assert delivery.payload["type"].startswith("activity.")
        else:
            assert delivery.payload == {}


def test_retention_deletes_old_notifications_and_finished_webhook_deliveries(
    owner, agent, sim_channel
):
    endpoint, _ = do_create_webhook_endpoint(
        owner, owner.workspace, name="Team chat", url="https://hooks.example.com/x", events=[]
    )
    start = datetime(2026, 9, 1, 9, tzinfo=UTC)
    with clock.at(start):
        deliver(sim_channel, camille_event())
        conversation = Conversation.objects.get(messages__external_id="c1")
        do_assign_conversation(owner, conversation, agent)
        do_drain_activity_log()
    WebhookDelivery.objects.update(state=DeliveryState.DELIVERED, created_at=start)
    assert Notification.objects.exists() and WebhookDelivery.objects.filter(endpoint=endpoint)
    with clock.at(start + timedelta(days=60)):
        do_set_retention(owner, owner.workspace, 30)
        while do_purge_expired_messages(owner.workspace_id):
            pass
    assert not Notification.objects.exists()
    assert not WebhookDelivery.objects.filter(endpoint=endpoint, created_at__lte=start).exists()


# --- drafts and presence -------------------------------------------------------------------------


def test_drafts_are_exported_and_erased_and_presence_forgets_the_conversation(
    owner,
    agent,
    camille,  # noqa: F811
    first,
):
    do_save_draft(agent, first, "Camille, votre colis 4411 part demain", "reply")
    do_record_presence(agent, "tab-1", first, typing=True)
    export = do_export_contact(owner, camille)
    assert [d["text"] for d in export["drafts"]] == ["Camille, votre colis 4411 part demain"]

    do_erase_contact(owner, camille)
    assert not Draft.objects.filter(conversation=first).exists()
    presence = Presence.objects.get(member=agent)
    assert presence.conversation_id is None and presence.typing_at is None


def test_retention_deletes_drafts_left_longer_than_the_retention(owner, agent, sim_channel):
    from tests.conftest import sim_event

    start = datetime(2026, 9, 1, 9, tzinfo=UTC)
    with clock.at(start):
        deliver(sim_channel, camille_event())
        conversation = Conversation.objects.get(messages__external_id="c1")
        do_save_draft(agent, conversation, "old draft", "reply")
    with clock.at(start + timedelta(days=60)):
        deliver(sim_channel, sim_event("c9", text="Toujours là ?", author=CAMILLE))
        assert Conversation.objects.get(messages__external_id="c9") == conversation
        do_save_draft(owner, conversation, "fresh draft", "note")
        do_set_retention(owner, owner.workspace, 30)
        while do_purge_expired_messages(owner.workspace_id):
            pass
    assert list(Draft.objects.values_list("text", flat=True)) == ["fresh draft"]
    assert Activity.objects.get(verb=Verb.MESSAGES_PURGED).data["drafts"] == 1


# --- replies awaiting approval -------------------------------------------------------------------


def test_replies_awaiting_approval_are_exported_then_withdrawn_without_their_text(
    owner,
    agent,
    camille,  # noqa: F811
    first,
):
    do_save_approval_policy(owner, owner.workspace, roles=[Role.AGENT])
    held = do_submit_reply(agent, first, "Camille, je vous rembourse la commande 4411")
    assert isinstance(held, PendingReply)
    export = do_export_contact(owner, camille)
    assert [p["text"] for p in export["pending_replies"]] == [
        "Camille, je vous rembourse la commande 4411"
    ]

    erasure = do_erase_contact(owner, camille)
    held.refresh_from_db()
    assert (held.state, held.text, erasure.pending_replies_withdrawn) == (
        PendingState.WITHDRAWN,
        "",
        1,
    )
    assert not any("rembourse" in str(o.payload) for o in Outbox.objects.all())


# --- a reply still queued in the Outbox ----------------------------------------------------------


def test_a_reply_still_queued_when_its_person_is_erased_is_cancelled_not_sent(
    owner,
    camille,  # noqa: F811
    first,
):
    message = do_reply(owner, first, "Camille, votre adresse 12 rue des Lilas est notée")
    outbox = Outbox.objects.get(message=message)
    assert outbox.state == OutboxState.QUEUED
    export = do_export_contact(owner, camille)
    assert "Camille, votre adresse 12 rue des Lilas est notée" in [
        q["text"] for q in export["queued_replies"]
    ]

    erasure = do_erase_contact(owner, camille)
    outbox.refresh_from_db()
    message.refresh_from_db()
    assert erasure.replies_cancelled == 2  # this one and the fixture's first reply
    assert (outbox.state, outbox.payload, outbox.last_error) == (
        OutboxState.FAILED,
        {},
        CANCELLED_BY_ERASURE,
    )
    assert (message.delivery, message.delivery_error, message.text) == (
        Delivery.FAILED,
        CANCELLED_BY_ERASURE,
        "",
    )
    cancelled = Activity.objects.get(verb=Verb.DELIVERY_FAILED, message=message)
    assert cancelled.data["erased"] is True
    # The sender finds nothing to send, and nobody can send it again.
    assert send_due() == 0
    assert do_retry_delivery(owner, outbox) is False
    outbox.refresh_from_db()
    assert outbox.state == OutboxState.FAILED


def test_a_moderation_still_queued_goes_on(owner, camille, first):  # noqa: F811
    """Hiding the person's comment protects the community: the erasure does not cancel it."""
    from cercle.connectors.base import ActionKind
    from cercle.inbox.actions import do_moderate_message

    inbound = Message.objects.filter(conversation=first, direction="inbound").first()
    outbox = do_moderate_message(owner, inbound, ActionKind.HIDE)
    do_erase_contact(owner, camille)
    outbox.refresh_from_db()
    assert outbox.state == OutboxState.QUEUED


def camille_event():
    from tests.conftest import sim_event

    return sim_event("c1", text=SECRET_TEXT, author=CAMILLE)
