"""Polling a real IMAP server (pymap on loopback) through the connector and the poller."""

from __future__ import annotations

import imaplib
import json
import time

import pytest

from cercle.connectors.base import RawEventData
from cercle.connectors.choices import Health
from cercle.connectors.email import connector as email_connector
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for
from cercle.inbox.models import Conversation, Message
from cercle.pipeline.poller import poll_channel
from cercle.simulator.mailserver import LoopbackMail, compose, free_port
from cercle.workspaces.models import Workspace

from .conftest import eml, make_channel

THREAD = (
    "rfc5322_a1_1_hello.eml",
    "rfc5322_a2_reply.eml",
    "rfc5322_a2_reply_to_reply.eml",
)


def deliver(mail: LoopbackMail, mailbox: str, *names: str) -> None:
    for name in names:
        mail.deliver(eml(name), mailbox)


def test_new_mail_arrives_threaded_in_one_private_conversation(
    mail: LoopbackMail, mailbox: str, channel: Channel
) -> None:
    deliver(mail, mailbox, *THREAD)
    poll_channel(channel)
    conversation = Conversation.objects.get(channel=channel)
    assert (conversation.kind, conversation.thread_key, conversation.messages.count()) == (
        "private",
        "private:1234@local.machine.example",
        3,
    )


def test_the_cursor_keeps_uidvalidity_and_the_last_uid(
    mail: LoopbackMail, mailbox: str, channel: Channel
) -> None:
    deliver(mail, mailbox, *THREAD)
    poll_channel(channel)
    channel.refresh_from_db()
    cursor = json.loads(channel.cursor)
    client = mail.imap()
    client.select(f'"{mailbox}"', readonly=True)
    uidvalidity = int(client.response("UIDVALIDITY")[1][0])
    last_uid = max(int(u) for u in client.uid("SEARCH", "ALL")[1][0].split())
    client.logout()
    assert cursor == {"uidvalidity": uidvalidity, "last_uid": last_uid}


def test_polling_again_reads_only_new_mail(
    mail: LoopbackMail, mailbox: str, channel: Channel
) -> None:
    deliver(mail, mailbox, THREAD[0])
    poll_channel(channel)
    deliver(mail, mailbox, THREAD[1])
    received = poll_channel(channel)
    assert (received, Message.objects.filter(channel=channel).count()) == (1, 2)


def test_the_same_message_id_delivered_twice_is_one_message(
    mail: LoopbackMail, mailbox: str, channel: Channel
) -> None:
    deliver(mail, mailbox, THREAD[0], THREAD[0])
    poll_channel(channel)
    assert Message.objects.filter(channel=channel).count() == 1


def test_a_new_uidvalidity_resyncs_the_mailbox_without_duplicates(
    mail: LoopbackMail, mailbox: str, channel: Channel
) -> None:
    deliver(mail, mailbox, *THREAD)
    poll_channel(channel)
    channel.refresh_from_db()
    before = json.loads(channel.cursor)["uidvalidity"]
    # The server rebuilt the mailbox: new UIDVALIDITY, the UIDs start again.
    mail.recreate(mailbox)
    deliver(mail, mailbox, *THREAD, "html_only.eml")
    poll_channel(channel)
    channel.refresh_from_db()
    assert json.loads(channel.cursor)["uidvalidity"] != before
    assert Message.objects.filter(channel=channel).count() == 4


def test_a_long_backlog_is_read_in_pages(
    mail: LoopbackMail, mailbox: str, channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(email_connector, "PAGE_SIZE", 2)
    deliver(mail, mailbox, *THREAD, "html_only.eml", "auto_reply.eml")
    poll_channel(channel)
    assert Message.objects.filter(channel=channel).count() == 5


def test_the_first_poll_imports_recent_mail_only(
    mail: LoopbackMail, mailbox: str, channel: Channel
) -> None:
    client = mail.imap()
    old = imaplib.Time2Internaldate(time.time() - 60 * 86400)
    client.append(f'"{mailbox}"', None, old, eml(THREAD[0]).replace(b"\n", b"\r\n"))
    client.logout()
    deliver(mail, mailbox, THREAD[1])
    poll_channel(channel)
    assert list(Message.objects.values_list("external_id", flat=True)) == ["3456@example.net"]


def test_a_french_mail_with_both_parts_reads_as_its_plain_text(
    mail: LoopbackMail, mailbox: str, channel: Channel
) -> None:
    mail.deliver(
        compose(
            sender="camille@client.example",
            sender_name="Camille Durand",
            to="support@lumen.test",
            subject="Où est ma commande ?",
            body="Bonjour, ma lampe n'est jamais arrivée.",
            html="<p>Bonjour, ma lampe <b>n'est jamais arrivée</b>.</p>",
            message_id="fr-1@client.example",
        ),
        mailbox,
    )
    poll_channel(channel)
    message = Message.objects.get(channel=channel)
    assert (message.text, message.author_identity and message.author_identity.display_name) == (
        "Où est ma commande ?\n\nBonjour, ma lampe n'est jamais arrivée.",
        "Camille Durand",
    )


def test_the_stored_page_parses_to_the_same_items(
    mail: LoopbackMail, mailbox: str, channel: Channel
) -> None:
    deliver(mail, mailbox, *THREAD)
    connector = connector_for(channel)
    page = connector.poll(None)
    replayed = connector.parse(RawEventData(body=page.raw, source="poll"))
    assert [i.external_id for i in replayed] == [i.external_id for i in page.items] and len(
        replayed
    ) == 3


def test_machine_mail_is_flagged_for_rules(
    mail: LoopbackMail, mailbox: str, channel: Channel
) -> None:
    deliver(mail, mailbox, "auto_reply.eml", "newsletter_bulk.eml", THREAD[0])
    page = connector_for(channel).poll(None)
    assert [i.auto_submitted for i in page.items] == [True, True, False]


def test_polling_leaves_the_mail_unread(mail: LoopbackMail, mailbox: str, channel: Channel) -> None:
    deliver(mail, mailbox, THREAD[0])
    poll_channel(channel)
    client = mail.imap()
    client.select(f'"{mailbox}"')
    _typ, data = client.uid("SEARCH", "UNSEEN")
    client.logout()
    assert data[0].split()


def test_a_wrong_password_needs_reauth(
    workspace: Workspace, mail: LoopbackMail, mailbox: str
) -> None:
    channel = make_channel(workspace, mail, mailbox, password="wrong")
    poll_channel(channel)
    channel.refresh_from_db()
    assert channel.health == Health.NEEDS_REAUTH


def test_a_refused_connection_degrades_the_channel(
    workspace: Workspace, mail: LoopbackMail, mailbox: str
) -> None:
    channel = make_channel(workspace, mail, mailbox, imap_port=str(free_port()))
    poll_channel(channel)
    channel.refresh_from_db()
    assert channel.health == Health.DEGRADED and "cannot connect" in channel.health_detail


def test_a_missing_mailbox_degrades_the_channel(
    workspace: Workspace, mail: LoopbackMail, mailbox: str
) -> None:
    channel = make_channel(workspace, mail, "Nowhere")
    poll_channel(channel)
    channel.refresh_from_db()
    assert channel.health == Health.DEGRADED and "Nowhere" in channel.health_detail


def test_a_private_mail_host_is_refused_outside_tests(
    workspace: Workspace, mail: LoopbackMail, mailbox: str, settings: object
) -> None:
    settings.CERCLE_EGRESS_ALLOW_HOSTS = []  # type: ignore[attr-defined]
    channel = make_channel(workspace, mail, mailbox)
    poll_channel(channel)
    channel.refresh_from_db()
    assert channel.health == Health.DEGRADED and "refused" in channel.health_detail


def test_the_connection_test_logs_in_to_both_servers(
    mail: LoopbackMail, mailbox: str, channel: Channel
) -> None:
    deliver(mail, mailbox, THREAD[0])
    assert connector_for(channel).test_connection() == (
        f"{mailbox} holds 1 messages; sending as support@lumen.test."
    )
