"""E-mail: notifications for members who are away, and the daily digest.

Mail goes through Django's e-mail backend (SMTP in production; the demo sets
the console backend, so mails are printed by the worker). A notification is
mailed when the drain marked it `pending` (the member's preference says "by
e-mail" and the member was away or off when it happened). The digest is sent
once a day per member who asked for it, at `DIGEST_HOUR` in the workspace's
time zone, and tells what waits for them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from cercle.core import clock
from cercle.inbox.choices import ACTIVE_STATUSES
from cercle.inbox.models import Conversation
from cercle.workspaces.choices import NotificationEvent, NotificationMedium
from cercle.workspaces.models import Member

from .actions import mail_possible
from .choices import EmailState
from .models import DigestSent, Notification
from .queries import describe
from .webhooks import base_url

logger = logging.getLogger(__name__)

MAIL_BATCH = 100
# A mail claimed by a worker that died is sent again after this (at least once).
SENDING_STALE = timedelta(minutes=10)
DIGEST_HOUR = 8
DIGEST_ITEMS = 20


def _language(member: Member) -> str:
    return member.workspace.language or settings.LANGUAGE_CODE


def conversation_url(conversation_id: int | None) -> str:
    if conversation_id is None:
        return base_url() + reverse("notifications:list")
    return base_url() + reverse("inbox:conversation", args=[conversation_id])


def _claim_mail(now: datetime) -> list[int]:
    with transaction.atomic():
        Notification.objects.filter(
            email_state=EmailState.SENDING, emailed_at__lt=now - SENDING_STALE
        ).update(email_state=EmailState.PENDING)
        ids = list(
            Notification.objects.filter(email_state=EmailState.PENDING)
            .order_by("id")
            .values_list("pk", flat=True)[:MAIL_BATCH]
        )
        # Only the rows still pending are ours (another worker may have taken some).
        Notification.objects.filter(pk__in=ids, email_state=EmailState.PENDING).update(
            email_state=EmailState.SENDING, emailed_at=now
        )
    return ids


def send_pending_mail(now: datetime | None = None) -> int:
    """Mail the pending notifications; returns how many were sent."""
    now = now or clock.now()
    ids = _claim_mail(now)
    sent = 0
    rows = Notification.objects.filter(
        pk__in=ids, email_state=EmailState.SENDING, emailed_at=now
    ).select_related(
        "member__user", "member__workspace", "activity__actor__user", "activity__conversation"
    )
    for notification in rows:
        member = notification.member
        with translation.override(_language(member)):
            line = describe(notification)
            url = conversation_url(notification.activity.conversation_id)
            # One line: a name with a line break must not become a mail header.
            subject = " ".join(f"[Cercle] {line}".split())
            body = render_to_string(
                "notifications/mail_notification.txt",
                {"member": member, "line": line, "url": url, "workspace": member.workspace},
            )
        try:
            send_mail(subject, body, None, [member.user.email])
        except Exception:
            logger.exception("mailing notification %s failed", notification.pk)
            state = EmailState.FAILED
        else:
            state = EmailState.SENT
            sent += 1
        Notification.objects.filter(pk=notification.pk).update(email_state=state)
    return sent


def has_pending_mail() -> bool:
    return Notification.objects.filter(email_state=EmailState.PENDING).exists()


@dataclass
class Digest:
    """What one member's digest says."""

    member: Member
    unread: list[Notification] = field(default_factory=list)
    unread_count: int = 0
    open_assigned: int = 0
    overdue: int = 0

    @property
    def is_empty(self) -> bool:
        return not (self.unread_count or self.open_assigned)


def build_digest(member: Member, now: datetime) -> Digest:
    """The member's unread notifications of the last day and the open work assigned to them."""
    unread = Notification.objects.filter(
        member=member, in_app=True, read_at__isnull=True, created_at__gte=now - timedelta(days=1)
    )
    assigned = Conversation.objects.filter(
        workspace_id=member.workspace_id, assignee=member, status__in=ACTIVE_STATUSES
    )
    return Digest(
        member=member,
        unread=list(
            unread.select_related("activity__actor__user", "activity__conversation").order_by(
                "-id"
            )[:DIGEST_ITEMS]
        ),
        unread_count=unread.count(),
        open_assigned=assigned.count(),
        overdue=assigned.filter(waiting_since__isnull=False, sla_due_at__lte=now).count(),
    )


def wants_digest(member: Member) -> bool:
    prefs = member.notifications if isinstance(member.notifications, dict) else {}
    media = prefs.get(NotificationEvent.DIGEST)
    return isinstance(media, dict) and bool(media.get(NotificationMedium.EMAIL))


def send_digests(now: datetime | None = None) -> int:
    """Send today's digest to every member who wants one and whose morning has come."""
    now = now or clock.now()
    sent = 0
    if not mail_possible():
        return 0
    members = (
        Member.objects.filter(is_active=True)
        .exclude(user__email="")
        .select_related("user", "workspace")
        .order_by("pk")
    )
    for member in members:
        if not wants_digest(member):
            continue
        local = now.astimezone(ZoneInfo(member.workspace.timezone or "UTC"))
        if local.hour < DIGEST_HOUR:
            continue
        if DigestSent.objects.filter(member=member, day=local.date()).exists():
            continue
        digest = build_digest(member, now)
        try:
            with transaction.atomic():
                # The row first: two workers racing, one wins the unique constraint, one mail.
                DigestSent.objects.create(member=member, day=local.date(), sent_at=now)
        except IntegrityError:
            continue
        if digest.is_empty:
            continue  # nothing to say today: no mail, and none later today either
        with translation.override(_language(member)):
            subject = " ".join(
                (
                    _("[Cercle] Your day in %(workspace)s") % {"workspace": member.workspace.name}
                ).split()
            )
            body = render_to_string(
                "notifications/mail_digest.txt",
                {
                    "digest": digest,
                    "lines": [
                        (describe(n), conversation_url(n.activity.conversation_id))
                        for n in digest.unread
                    ],
                    "workspace": member.workspace,
                    "inbox_url": base_url() + reverse("inbox:index"),
                },
            )
        try:
            send_mail(subject, body, None, [member.user.email])
        except Exception:
            logger.exception("mailing the digest of member %s failed", member.pk)
            continue
        sent += 1
    return sent
