"""Polling: platforms without webhooks, and catch-up for missed deliveries."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from cercle.connectors.base import (
    Capability,
    ConnectorError,
    PermissionDenied,
    RateLimited,
    TokenRevoked,
    TransientError,
)
from cercle.connectors.choices import Health
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_class, connector_for
from cercle.pipeline.actions import do_pause_channel, do_set_channel_health, do_store_polled_page

logger = logging.getLogger(__name__)

MAX_PAGES_PER_RUN = 20


def due_channels() -> list[Channel]:
    """Active channels whose connector polls and whose interval has passed."""
    now = timezone.now()
    due = []
    for channel in Channel.objects.filter(is_active=True).exclude(health=Health.NEEDS_REAUTH):
        try:
            cls = connector_class(channel.platform)
        except LookupError:
            continue
        if Capability.POLL not in cls.capabilities:
            continue
        if channel.paused_until and channel.paused_until > now:
            continue
        interval = timedelta(
            seconds=float(channel.config.get("poll_interval", cls.default_poll_seconds))
        )
        if channel.last_polled_at is None or channel.last_polled_at + interval <= now:
            due.append(channel)
    return due


def poll_channel(channel: Channel) -> int:
    """Fetch pages until caught up (bounded); each page is stored with its cursor atomically."""
    connector = connector_for(channel)
    received = 0
    try:
        for _ in range(MAX_PAGES_PER_RUN):
            page = connector.poll(channel.cursor or None)
            do_store_polled_page(channel, page.items, page.cursor, page.raw)
            received += len(page.items)
            if not page.has_more:
                break
    except RateLimited as exc:
        do_pause_channel(channel, exc.retry_at or timezone.now() + timedelta(minutes=15))
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
    return received


def poll_due() -> int:
    return sum(poll_channel(channel) for channel in due_channels())
