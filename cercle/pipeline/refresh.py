"""Refreshing credentials before they expire, so channels never silently stop.

A channel's credentials may carry `expires_at` (and `obtained_at`), written by
`do_store_credentials`. A token is due when it expires within 10 minutes or
within the last 10 % of its lifetime, whichever is earlier. The connector's
`refresh_credentials()` does the platform call; a revoked refresh token puts
the channel in "needs re-auth" so the team sees it and reconnects.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cercle.connectors import oauth
from cercle.connectors.base import ConnectorError, TokenRevoked
from cercle.connectors.choices import Health
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.connectors.registry import UnknownPlatform, connector_class
from cercle.core.crypto import SecretUnreadable
from cercle.pipeline.actions import do_set_channel_health, do_store_credentials

logger = logging.getLogger(__name__)

MIN_MARGIN = timedelta(minutes=10)
LIFETIME_FRACTION = 0.1


@dataclass
class RefreshReport:
    """What one pass did, for the task's result and the logs."""

    checked: int = 0
    due: int = 0
    refreshed: int = 0
    revoked: int = 0
    failed: int = 0


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed


def refresh_due_at(credentials: dict[str, Any]) -> datetime | None:
    """When these credentials should be refreshed, or None when they do not expire."""
    expires_at = _time(credentials.get("expires_at"))
    if expires_at is None:
        return None
    margin = MIN_MARGIN
    obtained_at = _time(credentials.get("obtained_at"))
    if obtained_at is not None and expires_at > obtained_at:
        margin = max(margin, (expires_at - obtained_at) * LIFETIME_FRACTION)
    return expires_at - margin


def _is_due(channel: Channel, now: datetime) -> bool:
    try:
        due_at = refresh_due_at(channel.credentials)
    except SecretUnreadable:
        logger.warning("credentials of channel %s cannot be decrypted; not refreshing", channel.pk)
        return False
    return due_at is not None and due_at <= now


def refresh_due_credentials(now: datetime | None = None) -> RefreshReport:
    """Refresh every active channel's credentials that are due; returns what happened.

    Each channel is refreshed in its own transaction holding its row lock, and
    re-checked under the lock, so two workers never refresh the same token (a
    rotating refresh token used twice would revoke the channel). Channels that
    need re-auth are skipped: only a person can fix them.
    """
    now = now or timezone.now()
    report = RefreshReport()
    candidates = (
        Channel.objects.filter(is_active=True)
        .exclude(health=Health.NEEDS_REAUTH)
        .exclude(credentials_token="")
    )
    for channel in candidates.iterator():
        report.checked += 1
        if not _is_due(channel, now):
            continue
        report.due += 1
        try:
            cls = connector_class(channel.platform)
        except UnknownPlatform:
            continue
        _refresh_one(cls, channel.pk, now, report)
    return report


def _refresh_one(cls: Any, channel_id: int, now: datetime, report: RefreshReport) -> None:
    with transaction.atomic():
        channel = (
            Channel.objects.select_for_update(skip_locked=True)
            .filter(pk=channel_id, is_active=True)
            .first()
        )
        if channel is None or not _is_due(channel, now):
            return  # another worker holds it, or just refreshed it
        previous = channel.credentials
        http = PlatformHttp()
        try:
            tokens = cls(oauth.with_current_app(channel), http).refresh_credentials()
        except TokenRevoked as exc:
            report.revoked += 1
            do_set_channel_health(
                channel, Health.NEEDS_REAUTH, exc.detail or "the platform revoked the credentials"
            )
            return
        except (ConnectorError, NotImplementedError) as exc:
            # Transient or rate-limited: the next pass tries again before the token expires.
            report.failed += 1
            logger.warning("refreshing channel %s failed: %r", channel.pk, exc)
            return
        finally:
            http.close()
        if tokens is None:
            return
        credentials = oauth.merged_credentials(channel.platform, previous, tokens)
        do_store_credentials(channel, dataclasses.replace(tokens, credentials=credentials))
        report.refreshed += 1
