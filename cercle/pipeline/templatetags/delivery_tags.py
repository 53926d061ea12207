"""Template filters that say why outbound work waits: a channel paused by a rate limit, a retry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from cercle.connectors.models import Channel
from cercle.connectors.registry import UnknownPlatform, connector_class
from cercle.inbox.choices import OutboxState
from cercle.inbox.models import Message, Outbox

register = template.Library()


@register.filter
def paused_until(channel: Channel) -> datetime | None:
    """When the channel's outbound calls resume, if a rate limit or quota pauses it now."""
    until = channel.paused_until
    return until if until is not None and until > timezone.now() else None


def _platform_label(platform: str) -> str:
    try:
        return str(connector_class(platform).label)
    except UnknownPlatform:
        return platform


@dataclass(frozen=True)
class Wait:
    """Why a queued reply has not gone yet, and when it will be tried."""

    reason: str
    at: datetime


@register.filter
def delivery_wait(message: Message) -> Wait | None:
    """For a reply not sent yet: why it waits and when it goes (None if it goes now).

    One query, made only for replies still pending.
    """
    row = (
        Outbox.objects.filter(message_id=message.pk, state=OutboxState.QUEUED)
        .select_related("channel")
        .order_by("-id")
        .first()
    )
    if row is None:
        return None
    now = timezone.now()
    paused = paused_until(row.channel)
    retry = row.next_attempt_at if row.next_attempt_at and row.next_attempt_at > now else None
    if paused is not None:
        reason = _("%(platform)s rate limit") % {"platform": _platform_label(row.channel.platform)}
        return Wait(reason, max(paused, retry or paused))
    if retry is not None:
        reason = _("retrying after an error")
        if row.last_error:
            reason = f"{reason} ({row.last_error[:120]})"
        return Wait(reason, retry)
    return None
