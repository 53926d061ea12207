"""E-mail: notifications mailed only while away, and the daily digest in the workspace's morning."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core import mail

from cercle.core import clock
from cercle.inbox.actions import do_add_note, do_assign_conversation
from cercle.notifications.actions import do_drain_activity_log
from cercle.notifications.choices import EmailState
from cercle.notifications.mail import send_digests, send_pending_mail
from cercle.notifications.models import Notification
from cercle.workspaces.choices import Availability
from cercle.workspaces.models import Member


def _away(member: Member) -> None:
    Member.objects.filter(pk=member.pk).update(availability=Availability.AWAY)


def test_a_mention_is_mailed_when_the_member_is_away(settings, owner, nora, conversation):
    settings.CERCLE_BASE_URL = "https://cercle.example.org"
    _away(nora)
    do_add_note(owner, conversation, "@nora-benali tu peux rappeler ?")
    do_drain_activity_log()
    assert send_pending_mail() == 1
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["nora@example.com"]
    # The workspace speaks French: so does the mail.
    assert "Léa Martin vous a mentionné" in sent.subject
    assert f"https://cercle.example.org/c/{conversation.pk}/" in sent.body
    assert Notification.objects.get(member=nora).email_state == EmailState.SENT
    assert send_pending_mail() == 0 and len(mail.outbox) == 1


def test_nothing_is_mailed_while_the_member_is_online(owner, nora, conversation):
    do_assign_conversation(owner, conversation, nora)
    do_drain_activity_log()
    assert send_pending_mail() == 0 and mail.outbox == []
    assert Notification.objects.get(member=nora).in_app


def test_a_member_who_wants_no_mail_gets_none_even_when_away(owner, nora, conversation):
    prefs = dict(nora.notifications)
    prefs["assignment"] = {"in_app": True, "email": False}
    Member.objects.filter(pk=nora.pk).update(notifications=prefs)
    _away(nora)
    do_assign_conversation(owner, conversation, nora)
    do_drain_activity_log()
    assert send_pending_mail() == 0 and mail.outbox == []


def _wants_digest(member: Member) -> None:
    prefs = dict(member.notifications)
    prefs["digest"] = {"in_app": False, "email": True}
    Member.objects.filter(pk=member.pk).update(notifications=prefs)


def test_the_digest_tells_the_open_work_and_unread_notifications_once_a_day(
    owner, nora, conversation
):
    _wants_digest(nora)
    morning = datetime(2026, 11, 30, 7, 30, tzinfo=UTC)  # 08:30 in Paris
    with clock.at(morning):
        do_assign_conversation(owner, conversation, nora)
        do_drain_activity_log()
        assert send_digests(datetime(2026, 11, 30, 6, 30, tzinfo=UTC)) == 0  # 07:30: too early
        assert send_digests() == 1
        assert send_digests() == 0  # once a day
    body = mail.outbox[0].body
    assert "1 conversation ouverte vous est confiée" in body
    assert "Léa Martin vous a confié une conversation" in body
    with clock.at(datetime(2026, 12, 1, 7, 30, tzinfo=UTC)):
        assert send_digests() == 1  # the next morning


def test_no_digest_for_members_who_did_not_ask(owner, nora, conversation):
    with clock.at(datetime(2026, 11, 30, 9, 0, tzinfo=UTC)):
        do_assign_conversation(owner, conversation, nora)
        do_drain_activity_log()
        assert send_digests() == 0


def test_without_a_mail_server_nothing_is_asked_to_be_mailed(settings, owner, nora, conversation):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = ""
    _away(nora)
    do_assign_conversation(owner, conversation, nora)
    do_drain_activity_log()
    assert Notification.objects.get(member=nora).email_state == EmailState.NONE
