"""Refreshing credentials before they expire, so channels never silently stop.

A channel's credentials may carry `expires_at` (and `obtained_at`), written by
`do_store_credentials`. A token is due when it expires within 10 minutes or
within the last 10 % of its lifetime, whichever is earlier. The connector's
`refresh_credentials()` does the platform call; a revoked refresh token puts
the channel in "needs re-auth" so the team sees it and reconnects.

This module is the one place that refreshes: the periodic pass
(`refresh_due_credentials`), the sender and the poller before they use a
connector (`fresh_connector`), and a connector whose token the platform
refused (through `connectors.state.refresh_now`, installed by the pipeline's
apps.py) all go through `refresh_channel`, under the channel's row lock.
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
from cercle.connectors.base import Connector, ConnectorError, TokenRevoked
from cercle.connectors.choices import Health
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.connectors.registry import UnknownPlatform, connector_class, connector_for
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

    Channels another worker is refreshing right now are skipped (SKIP LOCKED):
    that worker does it. Channels that need re-auth are skipped: only a person
    can fix them.
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
        _refresh_locked(channel, force=False, now=now, report=report, skip_locked=True)
    return report


def refresh_channel(channel: Channel, *, force: bool = False, now: datetime | None = None) -> bool:
    """Refresh `channel`'s credentials if they are (still) due; the one place that refreshes.

    Takes the channel's row lock (waiting for a worker already refreshing it),
    re-reads the credentials, and refreshes only if they are still the ones the
    caller had and still due, so a refresh token is never spent twice (X
    rotates them: a second use would revoke the channel). `force`: the platform
    refused the access token (a 401), refresh even if it does not look due,
    unless someone else already replaced it. `channel` is updated in place
    with whatever credentials are current. True when this call refreshed.
    """
    return _refresh_locked(
        channel, force=force, now=now or timezone.now(), report=RefreshReport(), skip_locked=False
    )


def ensure_fresh(channel: Channel, now: datetime | None = None) -> Channel:
    """`channel`, with its credentials refreshed first when they are due (see `refresh_channel`)."""
    now = now or timezone.now()
    if channel.health != Health.NEEDS_REAUTH and _is_due(channel, now):
        refresh_channel(channel, now=now)
    return channel


def fresh_connector(channel: Channel, http: PlatformHttp | None = None) -> Connector:
    """The connector of `channel`, its credentials refreshed first when due: what senders and pollers use."""
    return connector_for(ensure_fresh(channel), http)


def _refresh_locked(
    channel: Channel, *, force: bool, now: datetime, report: RefreshReport, skip_locked: bool
) -> bool:
    seen = channel.credentials_token
    try:
        cls = connector_class(channel.platform)
    except UnknownPlatform:
        return False
    with transaction.atomic():
        locked = (
            Channel.objects.select_for_update(skip_locked=skip_locked)
            .filter(pk=channel.pk, is_active=True)
            .first()
        )
        if locked is None:
            return False  # another worker holds it (skip_locked), or it was disconnected
        # Whatever happens, the caller now works with the current credentials.
        channel.credentials_token = locked.credentials_token
        replaced = locked.credentials_token != seen
        if (force and replaced) or (not force and not _is_due(locked, now)):
            return False  # someone refreshed (or reconnected) meanwhile: nothing to spend
        previous = locked.credentials
        http = PlatformHttp()
        try:
            tokens = cls(oauth.with_current_app(locked), http).refresh_credentials(force=force)
        except TokenRevoked as exc:
            report.revoked += 1
            do_set_channel_health(
                channel, Health.NEEDS_REAUTH, exc.detail or "the platform revoked the credentials"
            )
            return False
        except (ConnectorError, NotImplementedError) as exc:
            # Transient or rate-limited: the next pass tries again before the token expires.
            report.failed += 1
            logger.warning("refreshing channel %s failed: %r", channel.pk, exc)
            return False
        finally:
            http.close()
        if tokens is None:
            return False
        credentials = oauth.merged_credentials(channel.platform, previous, tokens)
        do_store_credentials(channel, dataclasses.replace(tokens, credentials=credentials))
        report.refreshed += 1
        return True
