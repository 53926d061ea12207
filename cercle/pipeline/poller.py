"""Polling: platforms without webhooks, and catch-up for missed deliveries."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from cercle.connectors.base import (
    Capability,
    Connector,
    ConnectorError,
    Page,
    PermissionDenied,
    RateLimited,
    TokenRevoked,
    TransientError,
)
from cercle.connectors.choices import Health
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_class
from cercle.pipeline.actions import do_pause_channel, do_set_channel_health, do_store_polled_page
from cercle.pipeline.refresh import fresh_connector

logger = logging.getLogger(__name__)

MAX_PAGES_PER_RUN = 20


def due_channels(now: datetime | None = None) -> list[Channel]:
    """Active channels whose connector polls and whose `next_poll_at` has come.

    A channel without a `next_poll_at` (never polled since the schedule became
    a field) is due once its connector's interval has passed since `last_polled_at`.
    """
    now = now or timezone.now()
    due = []
    candidates = (
        Channel.objects.filter(is_active=True)
        .exclude(health=Health.NEEDS_REAUTH)
        .exclude(paused_until__gt=now)
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
        .order_by("next_poll_at", "pk")
    )
    for channel in candidates:
        try:
            cls = connector_class(channel.platform)
        except LookupError:
            continue
        if Capability.POLL not in cls.capabilities:
            continue
        if channel.next_poll_at is None and channel.last_polled_at is not None:
            connector = cls(channel, PlatformHttp())
            try:
                if channel.last_polled_at + connector.poll_interval() > now:
                    continue
            finally:
                connector.http.close()
        due.append(channel)
    return due


def _schedule(
    channel: Channel, connector: Connector, last: Page | None, retry_at: datetime | None
) -> None:
    """Keep when to poll next: the time the platform or the quota named, else after the interval."""
    now = timezone.now()
    if retry_at is not None:
        next_at = retry_at
    elif last is not None and last.has_more:
        next_at = now  # stopped at the page cap of one run: go on at the next pass
    elif last is not None and last.next_poll_at is not None:
        next_at = last.next_poll_at
    else:
        next_at = now + connector.poll_interval()
    Channel.objects.filter(pk=channel.pk).update(next_poll_at=next_at)
    channel.next_poll_at = next_at


def poll_channel(channel: Channel) -> int:
    """Poll now: fetch pages until caught up (bounded), each stored with its cursor atomically.

    Returns how many items changed the inbox (new, edited or deleted); items
    seen before do not count, so "poll until nothing new" loops end. Keeps the
    channel's `next_poll_at`, which `due_channels` (the scheduled pass) obeys.
    """
    connector = fresh_connector(channel)
    received = 0
    last: Page | None = None
    retry_at: datetime | None = None
    try:
        for _ in range(MAX_PAGES_PER_RUN):
            last = connector.poll(channel.cursor or None)
            result = do_store_polled_page(channel, last.items, last.cursor, last.raw)
            received += len(result.created) + len(result.edited) + len(result.deleted)
            if not last.has_more:
                break
    except RateLimited as exc:
        retry_at = exc.retry_at or timezone.now() + timedelta(minutes=15)
        do_pause_channel(channel, retry_at)
    except TokenRevoked as exc:
        do_set_channel_health(channel, Health.NEEDS_REAUTH, exc.detail)
    except PermissionDenied as exc:
        do_set_channel_health(channel, Health.DEGRADED, exc.detail)
    except (TransientError, ConnectorError) as exc:
        logger.warning("polling %s failed: %s", channel.pk, exc)
        do_set_channel_health(channel, Health.DEGRADED, exc.detail)
    else:
        if channel.health == Health.DEGRADED:
            do_set_channel_health(channel, Health.OK, "")
    finally:
        connector.http.close()
        _schedule(channel, connector, last, retry_at)
    return received


def poll_due() -> int:
    return sum(poll_channel(channel) for channel in due_channels())
