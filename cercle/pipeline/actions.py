"""Every write of the pipeline: raw events, ingestion batches, channel state, deliveries."""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import httpx
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from cercle.connectors.base import (
    ActionKind,
    BadPayload,
    Connector,
    Delivery,
    Incoming,
    OAuthTokens,
    PostRef,
    RawEventData,
)
from cercle.connectors.choices import Health
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_class, connector_for
from cercle.core import clock
from cercle.core.db_bulk import any_of, insert_values, update_rows
from cercle.inbox.choices import Delivery as DeliveryState
from cercle.inbox.choices import Direction, Enrichment, OutboxState
from cercle.inbox.models import Message, Outbox
from cercle.inbox.receive import (
    ReceiveResult,
    fill_post_details,
    receive_items,
    recount_deleted,
)
from cercle.moderation.actions import do_learn_from_moderation
from cercle.pipeline.choices import RawEventStatus
from cercle.pipeline.models import RawEvent
from cercle.workspaces.actors import Actor, actor_fields, require, system
from cercle.workspaces.choices import Permission, Verb
from cercle.workspaces.models import Activity, Workspace

logger = logging.getLogger(__name__)

# Headers worth keeping with a raw event (signatures, delivery ids, content type).
KEPT_HEADER_PREFIXES = ("content-type", "x-", "user-agent")


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith(KEPT_HEADER_PREFIXES)}


def _log_channel(channel: Channel, verb: str, actor: Actor | None, **data: Any) -> None:
    Activity.objects.create(
        workspace_id=channel.workspace_id,
        channel=channel,
        verb=verb,
        data=data,
        created_at=clock.now(),
        **actor_fields(actor),
    )


def do_create_channel(
    workspace: Workspace,
    platform: str,
    name: str,
    *,
    external_id: str = "",
    config: dict[str, Any] | None = None,
    credentials: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> Channel:
    """Connect a new channel (the platform must be registered); `actor` defaults to Cercle itself."""
    connector_class(platform)  # raises UnknownPlatform
    actor = actor or system(workspace.pk)
    require(actor, Permission.MANAGE_CHANNELS, workspace.pk)
    with transaction.atomic():
        channel = Channel(
            workspace=workspace,
            platform=platform,
            name=name[:200],
            external_id=external_id,
            config=config or {},
            verify_token=secrets.token_urlsafe(24),
        )
        channel.set_credentials(credentials or {})
        channel.save()
        _log_channel(channel, Verb.CHANNEL_CONNECTED, actor, platform=platform)
    return channel


class AccountMismatch(ValueError):
    """A reconnect signed in with another account than the channel's: nothing was changed."""


@dataclass(frozen=True, slots=True)
class Connection:
    """What `do_connect_channel` did: the channel, and whether it is new."""

    channel: Channel
    created: bool


def do_connect_channel(
    actor: Actor,
    workspace: Workspace,
    platform: str,
    tokens: OAuthTokens,
    *,
    name: str = "",
    config: dict[str, Any] | None = None,
    reconnecting: Channel | None = None,
) -> Connection:
    """Connect an account, or reconnect the channel that already has it, in one transaction.

    The channel is `reconnecting` (a reconnect asked from its row), else the
    workspace's channel of `tokens.account_id` on this platform, else a new one.
    A disconnected channel comes back with its history; its new credentials are
    stored and the deliveries waiting for it are released.
    """
    require(actor, Permission.MANAGE_CHANNELS, workspace.pk)
    connector_class(platform)  # raises UnknownPlatform
    account = tokens.account_id
    with transaction.atomic():
        existing = reconnecting
        if existing is None and account:
            existing = (
                Channel.objects.select_for_update()
                .filter(workspace=workspace, platform=platform, external_id=account)
                .first()
            )
        if existing is not None:
            if existing.workspace_id != workspace.pk:
                raise PermissionDenied("channel of another workspace")
            if account and existing.external_id and account != existing.external_id:
                raise AccountMismatch(existing.name)
            if not existing.is_active:
                do_reactivate_channel(existing, actor)
            do_store_credentials(existing, tokens, actor=actor)
            return Connection(existing, created=False)
        try:
            with transaction.atomic():  # a savepoint: a double submit may have created it
                channel = do_create_channel(
                    workspace,
                    platform,
                    name or tokens.account_name or platform,
                    external_id=account,
                    config=config,
                    actor=actor,
                )
        except IntegrityError:
            channel = Channel.objects.select_for_update().get(
                workspace=workspace, platform=platform, external_id=account
            )
            do_store_credentials(channel, tokens, actor=actor)
            return Connection(channel, created=False)
        do_store_credentials(channel, tokens, actor=actor)
        return Connection(channel, created=True)


def do_store_raw_event(
    channel: Channel,
    body: bytes,
    headers: Mapping[str, str],
    source: str = "webhook",
    *,
    delivery_id: str = "",
) -> RawEvent | None:
    """Keep an inbound payload as received; the ingest task parses it later.

    With a `delivery_id` already stored for the channel (a platform's retry),
    nothing is stored and None is returned.

    The stored row is itself the queue: no task is enqueued per delivery. The
    worker's ingest waker (`cercle.pipeline.worker`) is woken by PostgreSQL's
    NOTIFY from the insert trigger (migration pipeline 0004), or polls for
    pending rows on SQLite, and enqueues one drain for many deliveries; the
    scheduler's tick enqueues it too whenever rows are pending, so a delivery
    stored just before a crash is still ingested.
    """
    try:
        with transaction.atomic():
            return RawEvent.objects.create(
                workspace_id=channel.workspace_id,
                channel=channel,
                body=body,
                headers=kept_headers(headers),
                source=source,
                delivery_id=delivery_id[:200],
            )
    except IntegrityError:
        if not delivery_id:
            raise
        return None


class WebhookDelivery(NamedTuple):
    """A verified, valid webhook delivery for one channel, not stored yet."""

    channel: Channel
    body: bytes
    headers: Mapping[str, str]
    delivery_id: str = ""


def do_store_deliveries(deliveries: Sequence[WebhookDelivery]) -> None:
    """Store webhook deliveries in one transaction: one multi-row INSERT, one commit.

    What `do_store_raw_event` does for each, for many at once (the webhook
    route's group commit, `pipeline.hooks_asgi`): a delivery id already stored
    for its channel (a platform's retry, stored by an earlier batch or by
    another process) or named twice in `deliveries` is stored once. Either
    every row is stored or, when this raises, none is.
    """
    rows: list[dict[str, Any]] = []
    seen: set[tuple[int, str]] = set()
    for delivery in deliveries:
        delivery_id = delivery.delivery_id[:200]
        if delivery_id:
            key = (delivery.channel.pk, delivery_id)
            if key in seen:
                continue
            seen.add(key)
        rows.append(
            {
                "workspace_id": delivery.channel.workspace_id,
                "channel_id": delivery.channel.pk,
                "body": delivery.body,
                "headers": kept_headers(delivery.headers),
                "source": "webhook",
                "delivery_id": delivery_id,
            }
        )
    if not rows:
        return
    with transaction.atomic():
        # The unique (channel, delivery_id) index skips a retry already stored.
        insert_values(RawEvent, rows, ignore_conflicts=True)


def do_store_raw_events(channel: Channel, bodies: list[bytes], source: str = "webhook") -> int:
    """Bulk variant for backfills: store many payloads of one channel at once, queue one drain."""
    from cercle.pipeline.tasks import enqueue_ingest

    rows = [
        {
            "workspace_id": channel.workspace_id,
            "channel_id": channel.pk,
            "body": b,
            "source": source,
        }
        for b in bodies
    ]
    with transaction.atomic():
        insert_values(RawEvent, rows)
        transaction.on_commit(enqueue_ingest)
    return len(bodies)


class _NoHttp(PlatformHttp):
    """The HTTP client of parse-only connectors: `parse` is pure, so none is built.

    Building an httpx client costs milliseconds (it loaded the CA bundle,
    ~0.1 s, before `connectors.http` shared one TLS context); the ingest worker
    must not pay that per event, and parsing must never reach out.
    """

    def __init__(self) -> None:  # deliberately no super().__init__(): no client, no CA bundle
        self.guarded = True
        self.last_response = None

    def request(
        self, method: str, url: str, *, write: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        raise RuntimeError("parse() must not make HTTP requests")

    def close(self) -> None:
        return None


def _parser_for(channel: Channel) -> Connector:
    """A connector for parsing only (no HTTP client)."""
    return connector_for(channel, _NoHttp())


@dataclass
class IngestReport:
    """What one drain did: events claimed, events failed, and what the upsert changed."""

    events: int = 0
    failed: int = 0
    partial: int = 0  # events stored except some of their items
    result: ReceiveResult | None = None


def do_ingest_pending(limit: int | None = None) -> IngestReport:
    """Drain one batch of pending RawEvents: parse, upsert, thread, classify, route, log.

    The batch is claimed with SELECT … FOR UPDATE SKIP LOCKED (PostgreSQL), so
    many workers share the queue; SQLite serialises writers anyway. A unique
    violation from a concurrent worker rolls the batch back and it is retried,
    finding the rows the other worker wrote. A batch that fails for another
    reason (a value the database refuses, a bug in a stage) is done again one
    event at a time, so that only the guilty events are marked failed and the
    queue keeps moving. Operational errors (lock timeout, lost connection)
    propagate: the events stay pending for the next run.
    """
    limit = limit or settings.CERCLE_INGEST_BATCH
    for _attempt in range(3):
        try:
            return _ingest_batch(limit)
        except IntegrityError:
            logger.info("ingest batch raced another worker; retrying")
        except OperationalError:
            raise
        except Exception:
            logger.exception("ingest batch failed; retrying it one event at a time")
            break
    return _ingest_batch(limit, isolate=True)


def _ingest_batch(limit: int, isolate: bool = False) -> IngestReport:
    """One transaction: claim up to `limit` pending events, parse each once, upsert per channel.

    Queries per batch: the claim, the channels, the upsert's fixed set per
    channel (see `inbox.receive`), one UPDATE marking the events done and one
    for the failed ones, whatever the number of events. With `isolate`, each
    event is upserted alone in a savepoint and an event that fails is marked
    failed with the reason (the slow path after a failed batch).
    """
    report = IngestReport(result=ReceiveResult())
    with transaction.atomic():
        # Plain tuples: model instances would cost more than parsing.
        events = list(
            RawEvent.objects.select_for_update(skip_locked=True)
            .filter(status=RawEventStatus.PENDING)
            .order_by("id")
            .values_list("id", "channel_id", "body", "headers", "source")[:limit]
        )
        if not events:
            return report
        channels = {c.pk: c for c in Channel.objects.filter(pk__in={e[1] for e in events})}
        parsers: dict[int, Connector] = {}
        parsed: list[tuple[int, int, list[Incoming]]] = []  # (channel id, event id, items)
        failed: dict[int, str] = {}
        for event_id, channel_id, body, headers, source in events:
            if channel_id not in parsers:
                parsers[channel_id] = _parser_for(channels[channel_id])
            try:
                raw = RawEventData(body=bytes(body), headers=headers or {}, source=source)
                parsed.append((channel_id, event_id, parsers[channel_id].parse(raw)))
            except (
                Exception
            ) as exc:  # parse() is pure: whatever it raises, this event is unreadable
                failed[event_id] = f"{type(exc).__name__}: {exc}"
        # Channels in id order: receive_items locks each one (PostgreSQL), and two
        # workers taking the same channels in different orders would deadlock.
        parsed.sort(key=lambda p: (p[0], p[1]))
        partial: dict[int, list[dict[str, str]]] = {}
        if isolate:
            for channel_id, event_id, items in parsed:
                outcome = _receive_isolated(channels[channel_id], event_id, items)
                report.result.merge(outcome.result)  # type: ignore[union-attr]
                if outcome.error:
                    failed[event_id] = outcome.error
                elif outcome.item_errors:
                    partial[event_id] = outcome.item_errors
        else:
            by_channel: dict[int, list[tuple[Incoming, int | None]]] = defaultdict(list)
            for channel_id, event_id, items in parsed:
                by_channel[channel_id].extend((item, event_id) for item in items)
            for channel_id, entries in by_channel.items():
                report.result.merge(receive_items(channels[channel_id], entries))  # type: ignore[union-attr]
        now = timezone.now()
        done = [e for _, e, _ in parsed if e not in failed and e not in partial]
        RawEvent.objects.filter(any_of(RawEvent, "id", done)).update(
            status=RawEventStatus.DONE, processed_at=now
        )
        update_rows(
            RawEvent,
            [
                RawEvent(id=pk, status=RawEventStatus.FAILED, error=error[:2000], processed_at=now)
                for pk, error in failed.items()
            ],
            ["status", "error", "processed_at"],
        )
        update_rows(
            RawEvent,
            [
                RawEvent(
                    id=pk,
                    status=RawEventStatus.PARTIAL,
                    error=_partial_summary(errors),
                    item_errors=errors,
                    processed_at=now,
                )
                for pk, errors in partial.items()
            ],
            ["status", "error", "item_errors", "processed_at"],
        )
        _enqueue_enrichment(report.result)  # type: ignore[arg-type]
        report.events = len(events)
        report.failed = len(failed)
        report.partial = len(partial)
    return report


@dataclass
class _Isolated:
    """One event upserted alone: what it stored, and why it or some of its items could not be."""

    result: ReceiveResult
    error: str = ""  # the whole event failed
    item_errors: list[dict[str, str]] = field(default_factory=list)


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _receive_isolated(channel: Channel, event_id: int, items: list[Incoming]) -> _Isolated:
    """Upsert one event in a savepoint; when it fails, each of its items in its own.

    The slow path after a failed batch: the good items of an event are stored
    and only the guilty ones are left out, each kept with its reason.
    Operational errors (lock timeout, lost connection) propagate.
    """
    try:
        with transaction.atomic():
            return _Isolated(receive_items(channel, [(i, event_id) for i in items]))
    except OperationalError:
        raise
    except Exception as exc:
        logger.exception("raw event %s cannot be ingested whole", event_id)
        whole = _reason(exc)
    if len(items) < 2:
        return _Isolated(ReceiveResult(), error=whole)
    outcome = _Isolated(ReceiveResult())
    for item in items:
        try:
            with transaction.atomic():
                outcome.result.merge(receive_items(channel, [(item, event_id)]))
        except OperationalError:
            raise
        except Exception as exc:
            logger.exception(
                "item %s of raw event %s cannot be ingested", item.external_id, event_id
            )
            outcome.item_errors.append({"external_id": item.external_id, "error": _reason(exc)})
    if len(outcome.item_errors) == len(items):
        return _Isolated(ReceiveResult(), error=whole)
    return outcome


def _partial_summary(errors: list[dict[str, str]]) -> str:
    first = errors[0]
    return (f"{len(errors)} item(s) not stored; first: {first['external_id']}: {first['error']}")[
        :2000
    ]


def _enqueue_enrichment(result: ReceiveResult) -> None:
    """After commit, start the enrich step for channels that received items with ids only,
    and post enrichment for the posts created bare (`cercle.pipeline.enrich_posts`)."""
    channels = {m.channel_id for m in result.created if m.enrichment == Enrichment.LOADING}
    if result.bare_posts:
        from cercle.pipeline.enrich_posts import enqueue_post_enrichment

        enqueue_post_enrichment(result.bare_posts)
    if not channels:
        return
    from cercle.pipeline.tasks import enrich_items

    def enqueue() -> None:
        for channel_id in sorted(channels):
            enrich_items.enqueue(channel_id)

    transaction.on_commit(enqueue)


@dataclass(frozen=True, slots=True)
class Enriched:
    """What `do_store_enriched` did."""

    fetched: int
    unavailable: int


def do_store_enriched(channel: Channel, items: list[Incoming], asked: list[str]) -> Enriched:
    """Apply what the enrich step fetched for the loading items `asked`, in one transaction.

    The fetched items go through the normal upsert (which completes the loading
    messages); an asked item the platform did not return is marked unavailable,
    so it stops showing "loading" and is not fetched again.
    """
    with transaction.atomic():
        result = receive_items(channel, [(item, None) for item in items])
        found = {item.external_id for item in items}
        missing = [i for i in asked if i not in found]
        unavailable = Message.objects.filter(
            channel=channel, external_id__in=missing, enrichment=Enrichment.LOADING
        ).update(enrichment=Enrichment.UNAVAILABLE)
    return Enriched(fetched=len(result.filled), unavailable=unavailable)


def do_fill_post_details(channel: Channel, refs: list[PostRef]) -> list[int]:
    """Store what the platform tells of the channel's posts: blanks filled, nothing overwritten.

    Only the channel's own posts change (another channel's post of the same id is
    left alone) and no post is created. Returns the ids of the posts changed.
    """
    with transaction.atomic():
        return fill_post_details(channel, refs)


def do_store_polled_page(
    channel: Channel, items: list[Incoming], cursor: str | None, raw: bytes
) -> ReceiveResult:
    """Store a polled page: its items, its raw copy and the new cursor, in one transaction.

    A page that brings nothing and leaves the cursor where it was only records
    the time of the poll: quiet channels do not fill the RawEvent table.
    """
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        if not items and (cursor or "") == locked.cursor:
            locked.last_polled_at = timezone.now()
            locked.save(update_fields=["last_polled_at"])
            return ReceiveResult()
        event = RawEvent.objects.create(
            workspace_id=channel.workspace_id,
            channel=channel,
            body=raw,
            source="poll",
            status=RawEventStatus.DONE,
            processed_at=timezone.now(),
        )
        result = receive_items(locked, [(item, event.pk) for item in items])
        _enqueue_enrichment(result)
        locked.cursor = cursor or ""
        locked.last_polled_at = timezone.now()
        locked.save(update_fields=["cursor", "last_polled_at"])
        channel.cursor = locked.cursor
    return result


# --- channel health ------------------------------------------------------------


def do_set_channel_health(channel: Channel, health: str, detail: str = "") -> None:
    """Record the channel's health; logs an Activity only when it changes."""
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        if locked.health == health and locked.health_detail == detail:
            return
        changed = locked.health != health
        locked.health = health
        locked.health_detail = detail[:2000]
        locked.save(update_fields=["health", "health_detail"])
        channel.health, channel.health_detail = locked.health, locked.health_detail
        if changed:
            _log_channel(channel, Verb.CHANNEL_HEALTH, None, health=health, detail=detail[:300])


def do_pause_channel(channel: Channel, until: datetime, reason: str = "") -> None:
    """No outbound call on this channel before `until` (rate limit or quota).

    Logs an Activity when a pause starts, not on every call that meets or extends it.
    """
    with transaction.atomic():
        now = timezone.now()
        starts = (
            Channel.objects.filter(pk=channel.pk)
            .filter(Q(paused_until__isnull=True) | Q(paused_until__lte=now))
            .exists()
        )
        Channel.objects.filter(pk=channel.pk).update(paused_until=until)
        channel.paused_until = until
        if starts and until > now:
            _log_channel(
                channel, Verb.CHANNEL_PAUSED, None, until=until.isoformat(), reason=reason[:300]
            )


def do_store_credentials(
    channel: Channel, tokens: OAuthTokens, *, actor: Actor | None = None
) -> None:
    """Keep new credentials (encrypted) and release items waiting for a reconnection.

    `actor` is the member who connected, or None for Cercle's own token refresh.
    """
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        credentials = dict(tokens.credentials)
        if tokens.expires_at:
            credentials["expires_at"] = tokens.expires_at.isoformat()
            # With expires_at, gives the token's lifetime (refresh at 10 % of it).
            credentials["obtained_at"] = timezone.now().isoformat()
        locked.set_credentials(credentials)
        update = ["credentials_token"]
        if tokens.account_id and not locked.external_id:
            locked.external_id = tokens.account_id
            update.append("external_id")
        locked.save(update_fields=update)
        channel.credentials_token = locked.credentials_token
        channel.external_id = locked.external_id
        do_set_channel_health(channel, Health.OK, "")
        released = Outbox.objects.filter(channel=channel, state=OutboxState.WAITING)
        Message.objects.filter(outbox__in=released, delivery=DeliveryState.WAITING).update(
            delivery=DeliveryState.PENDING
        )
        released_count = released.update(state=OutboxState.QUEUED, next_attempt_at=None)
        _log_channel(
            channel,
            Verb.CREDENTIALS_STORED,
            actor or system(channel.workspace_id, "token refresh"),
            expires_at=tokens.expires_at.isoformat() if tokens.expires_at else None,
            released=released_count,
        )


def do_deactivate_channel(channel: Channel, actor: Actor) -> int:
    """Disconnect a channel: stop receiving and sending, forget its credentials.

    Outbound items not yet delivered fail with a clear reason (nothing will send
    them); the history stays. Returns how many outbox rows were failed.
    """
    require(actor, Permission.MANAGE_CHANNELS, channel.workspace_id)
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        locked.is_active = False
        locked.set_credentials({})
        locked.save(update_fields=["is_active", "credentials_token"])
        channel.is_active, channel.credentials_token = False, ""
        reason = "the channel was disconnected"
        open_rows = Outbox.objects.filter(
            channel=channel,
            state__in=[OutboxState.QUEUED, OutboxState.UNKNOWN, OutboxState.WAITING],
        )
        Message.objects.filter(outbox__in=open_rows, direction=Direction.OUTBOUND).exclude(
            delivery=DeliveryState.SENT
        ).update(delivery=DeliveryState.FAILED, delivery_error=reason)
        failed = open_rows.update(state=OutboxState.FAILED, last_error=reason, next_attempt_at=None)
        _log_channel(channel, Verb.CHANNEL_DISCONNECTED, actor, failed_outbox=failed)
    return failed


def do_reactivate_channel(channel: Channel, actor: Actor) -> None:
    """Connect again a channel that was disconnected (its credentials are stored next)."""
    require(actor, Permission.MANAGE_CHANNELS, channel.workspace_id)
    with transaction.atomic():
        updated = Channel.objects.filter(pk=channel.pk, is_active=False).update(is_active=True)
        channel.is_active = True
        if updated:
            _log_channel(channel, Verb.CHANNEL_CONNECTED, actor, platform=channel.platform)


# --- deliveries ----------------------------------------------------------------

# Effects of a successful moderation on our copy of the message.
_MODERATION_EFFECTS: dict[str, dict[str, Any]] = {
    ActionKind.HIDE: {"is_hidden": True},
    ActionKind.UNHIDE: {"is_hidden": False},
}


def do_record_delivery(outbox: Outbox, delivery: Delivery) -> None:
    """The platform did it: store its id, mark the message sent, log it."""
    with transaction.atomic():
        outbox.state = OutboxState.DONE
        outbox.platform_id = delivery.platform_id[:200]
        outbox.platform_url = delivery.url[:500]
        outbox.last_error = ""
        outbox.save(
            update_fields=["state", "platform_id", "platform_url", "last_error", "updated_at"]
        )
        message = outbox.message
        if message is None:
            return
        if outbox.action in (ActionKind.REPLY, ActionKind.PRIVATE_REPLY, ActionKind.SEND_PRIVATE):
            if delivery.platform_id:
                # The platform's echo of our reply may have arrived first: it is the same item.
                Message.objects.filter(
                    channel_id=message.channel_id, external_id=delivery.platform_id
                ).exclude(pk=message.pk).delete()
                message.external_id = delivery.platform_id
            message.url = delivery.url[:500]
            message.delivery = DeliveryState.SENT
            message.delivery_error = ""
            message.save(update_fields=["external_id", "url", "delivery", "delivery_error"])
            verb = Verb.DELIVERED
        else:
            effects = _MODERATION_EFFECTS.get(outbox.action, {})
            for name, value in effects.items():
                setattr(message, name, value)
            deleting = outbox.action == ActionKind.DELETE and message.deleted_at is None
            if deleting:
                message.deleted_at = timezone.now()
                effects = {"deleted_at": message.deleted_at}
            if effects:
                message.save(update_fields=list(effects))
            if deleting and message.direction == "inbound":
                recount_deleted(message.channel, [message])
            do_learn_from_moderation(message, outbox.action)
            verb = Verb.MODERATED
        Activity.objects.create(
            workspace_id=outbox.workspace_id,
            conversation_id=outbox.conversation_id,
            message=message,
            channel_id=outbox.channel_id,
            verb=verb,
            data={
                "action": outbox.action,
                "platform_id": delivery.platform_id,
                "url": delivery.url,
            },
        )


def do_record_delivery_failure(
    outbox: Outbox,
    error: str,
    *,
    final: bool,
    waiting: bool = False,
    retry_at: datetime | None = None,
    unknown: bool = False,
    counts_as_attempt: bool = True,
) -> None:
    """An attempt failed: schedule the next one, wait for reconnection, or give up (and say why).

    `counts_as_attempt=False` gives the claimed attempt back (a rate limit is not the action's fault).
    """
    with transaction.atomic():
        if not counts_as_attempt:
            outbox.attempts = max(0, outbox.attempts - 1)
        outbox.last_error = error[:2000]
        if final:
            outbox.state = OutboxState.FAILED
        elif waiting:
            outbox.state = OutboxState.WAITING
        elif unknown:
            outbox.state = OutboxState.UNKNOWN
        else:
            outbox.state = OutboxState.QUEUED
        outbox.next_attempt_at = retry_at
        outbox.save(
            update_fields=["state", "attempts", "last_error", "next_attempt_at", "updated_at"]
        )
        message = outbox.message
        verb: str | None = None
        if message is not None and message.direction == Direction.OUTBOUND:
            new_state = (
                DeliveryState.FAILED
                if final
                else DeliveryState.WAITING
                if waiting
                else DeliveryState.PENDING
            )
            if message.delivery != new_state or message.delivery_error != outbox.last_error:
                message.delivery = new_state
                message.delivery_error = outbox.last_error if (final or waiting) else ""
                message.save(update_fields=["delivery", "delivery_error"])
                verb = Verb.DELIVERY_FAILED if final else Verb.DELIVERY_WAITING if waiting else None
        elif final:
            verb = Verb.DELIVERY_FAILED
        if verb:
            Activity.objects.create(
                workspace_id=outbox.workspace_id,
                conversation_id=outbox.conversation_id,
                message=message,
                channel_id=outbox.channel_id,
                verb=verb,
                data={"action": outbox.action, "error": error[:300]},
            )


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s … capped at one hour."""
    return timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


__all__ = ["BadPayload"]
