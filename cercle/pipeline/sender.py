"""The sender: delivers due Outbox rows through their connector, never twice.

A row is claimed (state SENDING) in its own short transaction before the call,
so two workers never send it together. After an ambiguous failure the row is
UNKNOWN: the next attempt asks the connector to `reconcile` (find what the
earlier attempt created) before performing again.

A row left SENDING by a crashed worker becomes UNKNOWN once it has not moved for
`CERCLE_OUTBOX_STALE_SECONDS` (`recover_stale_sending`, run by the worker's
scheduler on every tick, so recovery needs no other reply on the channel): it is
then reconciled, and performed only if the platform has nothing. A worker
re-stamps each claimed row just before its call, and skips a row another worker
has recovered meanwhile, so a slow batch is never sent twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cercle.connectors.base import (
    Connector,
    Delivery,
    OutboundAction,
    PermissionDenied,
    RateLimited,
    Rejected,
    TokenRevoked,
    TransientError,
    UnknownResult,
)
from cercle.connectors.choices import Health
from cercle.connectors.models import Channel
from cercle.core.redact import redact
from cercle.inbox.choices import OutboxState
from cercle.inbox.models import Outbox
from cercle.pipeline.actions import (
    backoff,
    do_pause_channel,
    do_record_delivery,
    do_record_delivery_failure,
    do_set_channel_health,
)
from cercle.pipeline.refresh import fresh_connector

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# Payload flag: an earlier attempt may have taken effect, so reconcile before performing.
MAYBE_SENT = "maybe_sent"


def stale_sending_age() -> timedelta:
    """How long a SENDING row may stay untouched before its worker is presumed dead.

    Far above one attempt's longest duration (a reconcile and a perform, each
    bounded by `CERCLE_HTTP_TIMEOUT`), so a live worker is never overtaken.
    """
    return timedelta(seconds=settings.CERCLE_OUTBOX_STALE_SECONDS)


def recover_stale_sending(now: datetime | None = None) -> int:
    """Rows left SENDING by a crashed worker become UNKNOWN (reconcile before any new post).

    Returns how many were recovered; the next sender run reconciles and sends them.
    """
    now = now or timezone.now()
    recovered = Outbox.objects.filter(
        state=OutboxState.SENDING, updated_at__lt=now - stale_sending_age()
    ).update(state=OutboxState.UNKNOWN, next_attempt_at=None, updated_at=now)
    if recovered:
        logger.warning("recovered %d outbox row(s) left sending by a stopped worker", recovered)
    return recovered


def _claim(limit: int) -> list[Outbox]:
    now = timezone.now()
    with transaction.atomic():
        # A worker that died mid-send leaves SENDING rows: they are ambiguous.
        recover_stale_sending(now)
        rows = list(
            Outbox.objects.select_for_update(skip_locked=True)
            .filter(state__in=[OutboxState.QUEUED, OutboxState.UNKNOWN])
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .exclude(channel__paused_until__gt=now)
            .exclude(channel__health=Health.NEEDS_REAUTH)
            .order_by("next_attempt_at", "id")[:limit]
        )
        for row in rows:
            if row.state == OutboxState.UNKNOWN and not row.payload.get(MAYBE_SENT):
                # Remembered for good: a later rate limit, 5xx or reconnection puts the row
                # back to QUEUED, and it must still look before posting again.
                row.payload = {**row.payload, MAYBE_SENT: True}
            row.state = OutboxState.SENDING
            row.attempts += 1
            row.updated_at = now
        if rows:
            # bulk_update does not touch auto_now: the claim time is set on each row above.
            Outbox.objects.bulk_update(rows, ["state", "attempts", "payload", "updated_at"])
    return rows


def _still_ours(row: Outbox) -> bool:
    """Re-stamp a claimed row just before its call; False if another worker recovered it.

    The rows of a batch are claimed together and sent one after the other: the
    stamp keeps a row that waits behind slow calls from looking abandoned, and
    the compare-and-set proves no other worker has taken it over meanwhile.
    """
    now = timezone.now()
    taken = Outbox.objects.filter(
        pk=row.pk, state=OutboxState.SENDING, updated_at=row.updated_at
    ).update(updated_at=now)
    row.updated_at = now
    return taken == 1


def send_due(limit: int = 50) -> int:
    """Send what is due; returns how many rows were attempted."""
    rows = _claim(limit)
    paused: set[int] = set()
    for row in rows:
        if not _still_ours(row):
            logger.warning("outbox %s was recovered by another worker; not sending it", row.pk)
            continue
        if row.channel_id in paused:
            # Not attempted: an earlier row of this batch paused the channel.
            do_record_delivery_failure(
                row,
                row.last_error,
                final=False,
                retry_at=row.channel.paused_until,
                counts_as_attempt=False,
            )
            continue
        send_one(row, paused)
    return len(rows)


def send_one(row: Outbox, paused: set[int] | None = None) -> None:
    """Attempt one claimed row and record the outcome."""
    channel: Channel = row.channel
    action = OutboundAction.from_payload(row.payload)
    connector = fresh_connector(channel)  # refreshes a due token under the row lock
    try:
        delivery = _deliver(connector, action, maybe_sent=bool(row.payload.get(MAYBE_SENT)))
    except RateLimited as exc:
        _wait_for_rate_limit(row, exc, paused)
    except TokenRevoked as exc:
        do_set_channel_health(channel, Health.NEEDS_REAUTH, exc.detail)
        do_record_delivery_failure(row, exc.detail or "token revoked", final=False, waiting=True)
    except UnknownResult as exc:
        final = row.attempts >= MAX_ATTEMPTS
        do_record_delivery_failure(
            row,
            exc.detail,
            final=final,
            unknown=not final,
            retry_at=timezone.now() + backoff(row.attempts),
        )
    except TransientError as exc:
        final = row.attempts >= MAX_ATTEMPTS
        do_record_delivery_failure(
            row, exc.detail, final=final, retry_at=timezone.now() + backoff(row.attempts)
        )
    except PermissionDenied as exc:
        do_set_channel_health(channel, Health.DEGRADED, exc.detail)
        do_record_delivery_failure(row, exc.detail, final=True)
    except Rejected as exc:
        do_record_delivery_failure(row, exc.detail, final=True)
    except Exception as exc:  # a connector bug must not lose the row or kill the worker
        logger.exception("connector %s failed on outbox %s", channel.platform, row.pk)
        final = row.attempts >= MAX_ATTEMPTS
        do_record_delivery_failure(
            row,
            redact(f"{type(exc).__name__}: {exc}"),
            final=final,
            unknown=not final,
            retry_at=timezone.now() + backoff(row.attempts),
        )
    else:
        do_record_delivery(row, delivery)
        if channel.health == Health.DEGRADED:
            do_set_channel_health(channel, Health.OK, "")
    finally:
        connector.http.close()


def _deliver(connector: Connector, action: OutboundAction, *, maybe_sent: bool) -> Delivery:
    """What an earlier attempt already did (when it may have taken effect), else perform now."""
    delivery = connector.reconcile(action) if maybe_sent else None
    if delivery is None:
        delivery = connector.perform(action)
    return delivery


def _wait_for_rate_limit(row: Outbox, exc: RateLimited, paused: set[int] | None) -> None:
    """Pause the row's channel until the limit resets and put the row back for then."""
    channel: Channel = row.channel
    retry_at = exc.retry_at or timezone.now() + backoff(row.attempts)
    do_pause_channel(channel, retry_at)
    if paused is not None:
        paused.add(channel.pk)
    # Waiting for a reset is not the action's fault: the attempt does not count.
    do_record_delivery_failure(
        row,
        exc.detail or "rate limited",
        final=False,
        retry_at=retry_at,
        counts_as_attempt=False,
    )
