"""Answering by SMTP (aiosmtpd on loopback) through the outbox sender: threading, failures."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from cercle.connectors.base import ActionKind, OAuthTokens, OutboundAction, Rejected
from cercle.connectors.choices import Health
from cercle.connectors.email.outbound import Answered, build_reply
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_reply
from cercle.inbox.choices import OutboxState
from cercle.inbox.models import Conversation, Message, Outbox
from cercle.pipeline.actions import do_store_credentials
from cercle.pipeline.poller import poll_channel
from cercle.pipeline.sender import send_due
from cercle.simulator.mailserver import LoopbackMail, free_port
from cercle.workspaces.models import Member, Workspace

from .conftest import BRAND, eml, make_channel

THREAD = (
    "rfc5322_a1_1_hello.eml",
    "rfc5322_a2_reply.eml",
    "rfc5322_a2_reply_to_reply.eml",
)
TEXT = "Bonjour John, votre lampe part demain. — L'équipe Lumen"


def received_mail(mail: LoopbackMail) -> EmailMessage:
    [one] = mail.received
    parsed = message_from_bytes(one.data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def answer(owner: Member, channel: Channel, text: str = TEXT) -> Message:
    conversation = Conversation.objects.get(channel=channel)
    return do_reply(owner, conversation, text)


@pytest.fixture
def thread(mail: LoopbackMail, mailbox: str, channel: Channel) -> Channel:
    for name in THREAD:
        mail.deliver(eml(name), mailbox)
    poll_channel(channel)
    return channel


def test_a_reply_is_sent_with_the_threading_headers(
    mail: LoopbackMail, thread: Channel, owner: Member
) -> None:
    answer(owner, thread)
    send_due()
    sent = received_mail(mail)
    assert {
        "To": str(sent["To"]),
        "Subject": str(sent["Subject"]),
        "In-Reply-To": str(sent["In-Reply-To"]),
        "References": str(sent["References"]),
    } == {
        "To": "jdoe@machine.example",
        "Subject": "Re: Saying Hello",
        "In-Reply-To": "<abcd.1234@local.machine.test>",
        "References": "<1234@local.machine.example> <3456@example.net> "
        "<abcd.1234@local.machine.test>",
    }


def test_the_envelope_and_body_are_those_of_the_answer(
    mail: LoopbackMail, thread: Channel, owner: Member
) -> None:
    answer(owner, thread)
    send_due()
    sent = received_mail(mail)
    body = sent.get_content()
    assert (mail.received[0].mail_from, mail.received[0].rcpt_tos, body.strip()) == (
        BRAND,
        ["jdoe@machine.example"],
        TEXT,
    )


def test_the_generated_message_id_is_the_platform_id(
    mail: LoopbackMail, thread: Channel, owner: Member
) -> None:
    message = answer(owner, thread)
    send_due()
    message.refresh_from_db()
    assert f"<{message.external_id}>" == str(received_mail(mail)["Message-ID"])


def test_the_customer_answering_our_reply_stays_in_the_conversation(
    mail: LoopbackMail, mailbox: str, thread: Channel, owner: Member
) -> None:
    message = answer(owner, thread)
    send_due()
    message.refresh_from_db()
    follow_up = (
        "From: John Doe <jdoe@machine.example>\r\n"
        f"To: {BRAND}\r\nSubject: Re: Re: Saying Hello\r\n"
        "Message-ID: <follow-up@local.machine.test>\r\n"
        f"In-Reply-To: <{message.external_id}>\r\n"
        f"References: <1234@local.machine.example> <{message.external_id}>\r\n\r\nMerci !\r\n"
    )
    mail.deliver(follow_up.encode(), mailbox)
    poll_channel(thread)
    assert Conversation.objects.filter(channel=thread).count() == 1


def test_reply_to_is_honoured(
    mail: LoopbackMail, mailbox: str, channel: Channel, owner: Member
) -> None:
    mail.deliver(eml("rfc5322_a2_reply.eml"), mailbox)
    poll_channel(channel)
    answer(owner, channel)
    send_due()
    assert str(received_mail(mail)["To"]) == "smith@home.example"


def test_a_wrong_smtp_password_waits_for_reconnection_then_sends_once(
    workspace: Workspace, mail: LoopbackMail, mailbox: str, owner: Member
) -> None:
    channel = make_channel(workspace, mail, mailbox)
    mail.deliver(eml(THREAD[0]), mailbox)
    poll_channel(channel)
    credentials = channel.credentials
    do_store_credentials(channel, OAuthTokens(credentials={**credentials, "smtp_password": "bad"}))
    answer(owner, channel)
    send_due()
    row = Outbox.objects.get()
    channel.refresh_from_db()
    assert (row.state, channel.health, mail.received) == (
        OutboxState.WAITING,
        Health.NEEDS_REAUTH,
        [],
    )
    do_store_credentials(
        channel, OAuthTokens(credentials={**credentials, "smtp_password": mail.password})
    )
    send_due()
    assert len(mail.received) == 1


def test_a_refused_smtp_connection_is_retried_later(
    workspace: Workspace, mail: LoopbackMail, mailbox: str, owner: Member
) -> None:
    channel = make_channel(workspace, mail, mailbox, smtp_port=str(free_port()))
    mail.deliver(eml(THREAD[0]), mailbox)
    poll_channel(channel)
    answer(owner, channel)
    send_due()
    row = Outbox.objects.get()
    assert (row.state, row.attempts) == (OutboxState.QUEUED, 1)


def test_a_recipient_the_server_refuses_fails_for_good(
    mail: LoopbackMail, mailbox: str, channel: Channel, owner: Member
) -> None:
    raw = b"From: Nobody <ghost@refused.test>\r\nMessage-ID: <g@refused.test>\r\n\r\nhello\r\n"
    mail.deliver(raw, mailbox)
    poll_channel(channel)
    answer(owner, channel)
    send_due()
    assert Outbox.objects.get().state == OutboxState.FAILED


def test_a_timeout_after_data_is_reconciled_from_the_sent_folder_and_not_resent(
    workspace: Workspace, mail: LoopbackMail, mailbox: str, owner: Member
) -> None:
    mail.create(f"{mailbox}-sent")
    channel = make_channel(workspace, mail, mailbox, sent_mailbox=f"{mailbox}-sent", timeout="1")
    mail.deliver(eml(THREAD[0]), mailbox)
    poll_channel(channel)
    message = answer(owner, channel)
    mail.file_into, mail.data_delay = f"{mailbox}-sent", 2.5
    try:
        send_due()
        first = Outbox.objects.get().state
        Outbox.objects.update(next_attempt_at=None)
        mail.data_delay = 0
        send_due()
    finally:
        mail.file_into, mail.data_delay = "", 0
    message.refresh_from_db()
    assert (first, Outbox.objects.get().state, len(mail.received)) == (
        OutboxState.UNKNOWN,
        OutboxState.DONE,
        1,
    ) and message.external_id


def test_a_line_break_in_the_channel_name_cannot_add_headers(
    mail: LoopbackMail, thread: Channel, owner: Member
) -> None:
    Channel.objects.filter(pk=thread.pk).update(name="Lumen\r\nBcc: victim@c.example")
    answer(owner, thread)
    send_due()
    sent = received_mail(mail)
    assert (sent["Bcc"], str(sent["From"])) == (
        None,
        '"Lumen Bcc: victim@c.example" <support@lumen.test>',
    )


def test_a_recipient_refused_for_now_is_retried(
    mail: LoopbackMail, mailbox: str, channel: Channel, owner: Member
) -> None:
    raw = b"From: Busy <busy@later.test>\r\nMessage-ID: <b@later.test>\r\n\r\nhello\r\n"
    mail.deliver(raw, mailbox)
    poll_channel(channel)
    answer(owner, channel)
    send_due()
    assert Outbox.objects.get().state == OutboxState.QUEUED


# --- header injection (pure) ---------------------------------------------------------------


def _action(**fields: str) -> OutboundAction:
    return OutboundAction(
        kind=ActionKind.SEND_PRIVATE, idempotency_key="k1", text="Bonjour", **fields
    )


@pytest.mark.parametrize(
    "answered",
    [
        Answered("a@b.example\r\nBcc: victim@c.example", "Hi", [], "m@b"),
        Answered("a@b.example", "Hi\r\nBcc: victim@c.example", [], "m@b"),
        Answered("a@b.example", "Hi", ["r@b>\nBcc: v@c"], "m@b"),
        Answered("a@b.example, victim@c.example", "Hi", [], "m@b"),
    ],
)
def test_header_injection_is_refused(answered: Answered) -> None:
    with pytest.raises(Rejected):
        build_reply(_action(), answered, from_address=BRAND)


def test_an_injected_address_in_the_action_is_refused_before_any_connection(
    thread: Channel, mail: LoopbackMail
) -> None:
    action = _action(author_external_id="x@y.example\nBcc: v@c.example", thread_ref="t@x")
    with pytest.raises(Rejected):
        connector_for(thread).perform(action)
    assert mail.received == []


def test_the_subject_gets_one_re() -> None:
    message = build_reply(
        _action(), Answered("a@b.example", "RE: Commande", [], "m@b"), from_address=BRAND
    )
    assert str(message["Subject"]) == "RE: Commande"
