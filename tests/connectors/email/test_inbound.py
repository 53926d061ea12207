"""Parsing mail (pure): identity, threading, robots, HTML, hostile text."""

from __future__ import annotations

from cercle.connectors.email.inbound import parse_message

from .conftest import BRAND, eml


def test_a_new_mail_opens_its_own_thread_with_its_subject() -> None:
    item = parse_message(eml("rfc5322_a1_1_hello.eml"), mailbox="INBOX", uidvalidity=42, uid=7)
    assert (item.external_id, item.thread_ref, item.kind, item.is_private, item.text) == (
        "1234@local.machine.example",
        "1234@local.machine.example",
        "message",
        True,
        'Saying Hello\n\nThis is a message just to say hello.\nSo, "Hello".',
    )


def test_a_reply_to_a_reply_threads_under_the_first_references_id() -> None:
    item = parse_message(
        eml("rfc5322_a2_reply_to_reply.eml"), mailbox="INBOX", uidvalidity=42, uid=9
    )
    assert (item.thread_ref, item.parent_external_id, item.text) == (
        "1234@local.machine.example",
        "3456@example.net",
        "This is a reply to your reply.",
    )


def test_the_sender_is_the_author() -> None:
    item = parse_message(eml("rfc5322_a2_reply.eml"), mailbox="INBOX", uidvalidity=42, uid=8)
    assert item.author is not None
    assert (item.author.external_id, item.author.name) == ("mary@example.net", "Mary Smith")


def test_a_mail_without_message_id_is_named_by_mailbox_uidvalidity_and_uid() -> None:
    raw = b"From: a@b.example\r\nSubject: x\r\n\r\nhello\r\n"
    item = parse_message(raw, mailbox="Support", uidvalidity=42, uid=9)
    assert item.external_id == "uid:Support:42:9"


def test_auto_replies_and_bulk_mail_are_marked_as_sent_by_machines() -> None:
    flags = [
        parse_message(eml(name), mailbox="INBOX", uidvalidity=1, uid=1).auto_submitted
        for name in ("auto_reply.eml", "newsletter_bulk.eml", "rfc5322_a1_1_hello.eml")
    ]
    assert flags == [True, True, False]


def test_auto_submitted_no_is_a_person() -> None:
    raw = b"From: a@b.example\r\nAuto-Submitted: no\r\nMessage-ID: <p@b>\r\n\r\nhi\r\n"
    assert not parse_message(raw, mailbox="INBOX", uidvalidity=1, uid=1).auto_submitted


def test_html_mail_is_sanitised_to_text_without_remote_images_or_scripts() -> None:
    item = parse_message(eml("html_only.eml"), mailbox="INBOX", uidvalidity=1, uid=1)
    assert item.text == (
        "Commande n° 4521 abîmée\n\nBonjour,\n\nMa lampe est arrivée cassée.\n\n"
        "Merci de me rappeler."
    )
    assert "tracker" not in item.text and "evil" not in item.text


def test_nul_and_lone_surrogates_are_taken_out() -> None:
    raw = "From: a@b.example\r\nMessage-ID: <n@b>\r\nSubject: ok\x00\r\n\r\nbad \udcff char\x00\r\n"
    item = parse_message(
        raw.encode("utf-8", "surrogateescape"), mailbox="INBOX", uidvalidity=1, uid=1
    )
    assert "\x00" not in item.text and not any(0xD800 <= ord(c) <= 0xDFFF for c in item.text)


def test_our_own_address_is_an_echo_of_the_brand() -> None:
    raw = f"From: Lumen <{BRAND}>\r\nMessage-ID: <e@lumen.test>\r\n\r\nhi\r\n".encode()
    item = parse_message(raw, mailbox="INBOX", uidvalidity=1, uid=1, brand_address=BRAND)
    assert item.from_brand


def test_the_history_quoted_below_an_answer_is_left_out() -> None:
    raw = (
        "From: a@b.example\r\nMessage-ID: <q@b>\r\nIn-Reply-To: <p@b>\r\n\r\n"
        "Merci, c'est reçu.\r\n\r\nLe lun. 23 nov. 2026 à 10:00, Support Lumen\r\n"
        "<support@lumen.test> a écrit :\r\n> Votre lampe part demain.\r\n>\r\n> L'équipe\r\n"
    ).encode()
    assert parse_message(raw, mailbox="INBOX", uidvalidity=1, uid=1).text == "Merci, c'est reçu."


def test_answers_written_between_quotes_are_kept() -> None:
    raw = (
        b"From: a@b.example\r\nMessage-ID: <q2@b>\r\nIn-Reply-To: <p@b>\r\n\r\n"
        b"> Quelle couleur ?\r\nBleu.\r\n> Quelle taille ?\r\nGrande.\r\n"
    )
    assert parse_message(raw, mailbox="INBOX", uidvalidity=1, uid=1).text == (
        "> Quelle couleur ?\nBleu.\n> Quelle taille ?\nGrande."
    )


def test_an_outlook_history_is_left_out() -> None:
    raw = (
        b"From: a@b.example\r\nMessage-ID: <q3@b>\r\n\r\nD'accord.\r\n\r\n"
        b"-----Original Message-----\r\nFrom: Support\r\nSent: Monday\r\n\r\nBonjour\r\n"
    )
    assert parse_message(raw, mailbox="INBOX", uidvalidity=1, uid=1).text == "D'accord."
