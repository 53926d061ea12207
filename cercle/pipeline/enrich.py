"""The enrich step: complete items that a platform delivered with ids only.

Instagram's mention webhooks say *that* the brand was @mentioned, not by whom
nor what was written. The connector marks such items `needs_enrichment`; the
upsert stores them "loading" (shown so in the inbox), and this step fetches
them through `Connector.enrich` and applies what it finds through the normal
upsert (`do_store_enriched`). A platform error retries the channel's loading
items later with backoff; a rate limit pauses the channel like any other call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from cercle.connectors.base import (
    ConnectorError,
    PermissionDenied,
    RateLimited,
    TokenRevoked,
)
from cercle.connectors.choices import Health
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for
from cercle.inbox.choices import Enrichment
from cercle.inbox.models import Message
from cercle.pipeline.actions import (
    backoff,
    do_pause_channel,
    do_set_channel_health,
    do_store_enriched,
)

logger = logging.getLogger(__name__)

# Items fetched per run (one platform call each on Instagram): bounded so that a
# burst of mentions spreads over several runs instead of eating the hour's quota.
BATCH = 25
# After this many failed runs in a row, the items are given up as unavailable.
MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class EnrichReport:
    """What one run did; `retry_at` when the channel's items must be tried again later."""

    fetched: int = 0
    unavailable: int = 0
    more: bool = False  # loading items remain beyond this run's batch
    retry_at: datetime | None = None


def loading_ids(channel: Channel, limit: int = BATCH) -> list[str]:
    """External ids of the channel's items still loading, oldest first (message_loading_idx)."""
    return [
        external_id
        for external_id in Message.objects.filter(channel=channel, enrichment=Enrichment.LOADING)
        .order_by("id")
        .values_list("external_id", flat=True)[:limit]
        if external_id
    ]


def enrich_channel(channel_id: int, attempt: int = 1) -> EnrichReport:
    """Fetch one batch of the channel's loading items and store what was found."""
    channel = Channel.objects.filter(pk=channel_id, is_active=True).first()
    if channel is None:
        return EnrichReport()
    now = timezone.now()
    if channel.paused_until and channel.paused_until > now:
        return EnrichReport(retry_at=channel.paused_until)
    ids = loading_ids(channel, BATCH + 1)
    if not ids:
        return EnrichReport()
    more, ids = len(ids) > BATCH, ids[:BATCH]
    connector = connector_for(channel)
    try:
        items = connector.enrich(ids)
    except NotImplementedError:
        logger.error("channel %s delivered items to enrich but cannot enrich", channel.pk)
        return EnrichReport(unavailable=do_store_enriched(channel, [], ids).unavailable)
    except RateLimited as exc:
        retry_at = exc.retry_at or now + timedelta(minutes=15)
        do_pause_channel(channel, retry_at, exc.detail)
        return EnrichReport(retry_at=retry_at)
    except (TokenRevoked, PermissionDenied, ConnectorError) as exc:
        logger.warning("enriching items of channel %s failed: %s", channel.pk, exc)
        if isinstance(exc, TokenRevoked):
            do_set_channel_health(channel, Health.NEEDS_REAUTH, exc.detail)
        elif isinstance(exc, PermissionDenied):
            do_set_channel_health(channel, Health.DEGRADED, exc.detail)
        if attempt >= MAX_ATTEMPTS:
            return EnrichReport(unavailable=do_store_enriched(channel, [], ids).unavailable)
        return EnrichReport(retry_at=now + backoff(attempt))
    finally:
        connector.http.close()
    stored = do_store_enriched(channel, items, ids)
    return EnrichReport(fetched=stored.fetched, unavailable=stored.unavailable, more=more)
