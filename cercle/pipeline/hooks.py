"""The webhook endpoint: verify, validate, route, store the RawEvent, acknowledge. Nothing else.

Parsing into domain rows happens later in the ingest task; here we only prove
the payload is genuine and understandable, so a bad request stores nothing.

Routing: some platforms serve many accounts from one app and address each part
of a delivery to an account (Meta's `entry.id`). For those the connector's
`accounts(raw)` names the accounts, and the delivery is stored once for each
active channel of the platform that owns one of them and accepts the same
signature, wherever the delivery arrived; an account no channel owns is
counted on the receiving channel and nothing is stored for it.
"""

from __future__ import annotations

import copy
import logging
import threading
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from cercle.connectors.base import (
    BadPayload,
    BadSignature,
    Capability,
    Connector,
    RawEventData,
)
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.connectors.registry import UnknownPlatform, connector_class
from cercle.connectors.state import count_unknown_accounts
from cercle.pipeline.actions import WebhookDelivery, do_store_deliveries
from cercle.pipeline.unavailable import database_unavailable_is_503

logger = logging.getLogger(__name__)

# What a payload that cannot be understood raises in `parse` or `accounts`.
# RecursionError: JSON nested deeper than Python's stack (a few kB of "[").
MALFORMED = (BadPayload, ValueError, KeyError, TypeError, RecursionError)


class _NoNetwork(PlatformHttp):
    """The HTTP client of a webhook's connector: verify, accounts and parse never call out.

    Built once per channel and process (the connector is cached), so building its
    httpx client (about 3 ms) is not paid per delivery; any request raises.
    """

    def request(self, method: str, url: str, *, write: bool | None = None, **kwargs: Any) -> Any:
        raise RuntimeError("a webhook's verify, accounts and parse must not make HTTP requests")


# One connector per channel and process, kept while the channel's row says the same thing
# (platform, workspace, secrets, verify token, account, settings); any change builds a new one.
_connectors: dict[int, tuple[tuple[object, ...], Connector]] = {}
_connectors_lock = threading.Lock()


def _fingerprint(channel: Channel) -> tuple[object, ...]:
    """What a webhook's connector reads from its channel (compared by value, not serialised)."""
    return (
        channel.platform,
        channel.workspace_id,
        channel.credentials_token,
        channel.verify_token,
        channel.external_id,
        channel.config,
    )


def webhook_connector(channel: Channel) -> Connector:
    """The channel's connector for verifying and validating deliveries, cached per process.

    Keyed by the channel's id and checked against the row just read, so a changed
    secret or setting is picked up on the next delivery. The connector handed out
    is a shallow copy bound to `channel`, the row just read: a cached connector
    never acts on a stale Channel, and concurrent deliveries share no mutable
    binding. Raises UnknownPlatform.
    """
    key = _fingerprint(channel)
    with _connectors_lock:
        cached = _connectors.get(channel.pk)
    if cached is None or cached[0] != key:
        built = connector_class(channel.platform)(channel, _NoNetwork())
        # The key keeps its own copy of the settings: nothing can change it in place.
        stored_key = (*key[:-1], copy.deepcopy(channel.config))
        with _connectors_lock:
            _connectors[channel.pk] = (stored_key, built)
        return built
    connector = copy.copy(cached[1])
    connector.channel = channel
    return connector


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


class Malformed(Exception):
    """The delivery cannot be understood: 400, nothing stored."""


def _check_size(request: HttpRequest) -> JsonResponse | None:
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return _error(400, "bad Content-Length")
    if length > settings.CERCLE_MAX_WEBHOOK_BYTES:
        return _error(413, "payload too large")
    try:
        body = request.body
    except Exception:  # RequestDataTooBig and friends
        return _error(413, "payload too large")
    if len(body) > settings.CERCLE_MAX_WEBHOOK_BYTES:
        return _error(413, "payload too large")
    return None


def _validate(connector: Connector, raw: RawEventData) -> None:
    try:
        connector.parse(raw)
    except MALFORMED as exc:
        raise Malformed(f"malformed payload: {exc}"[:300]) from exc


def _accepts(owner: Channel, request: HttpRequest) -> Connector | None:
    """The owner's connector when the delivery is genuine for it too (its own app secret)."""
    try:
        connector = webhook_connector(owner)
    except UnknownPlatform:
        return None
    try:
        connector.verify(request)
    except BadSignature:
        logger.info("delivery for channel %s is not signed with its secret", owner.pk)
        return None
    return connector


def route(
    channel: Channel, connector: Connector, raw: RawEventData, request: HttpRequest
) -> list[Channel]:
    """The channels a verified delivery is for (see the module's docstring); raises Malformed."""
    try:
        accounts = connector.accounts(raw)
    except MALFORMED as exc:
        raise Malformed(f"malformed payload: {exc}"[:300]) from exc
    if accounts is None:
        _validate(connector, raw)
        return [channel]
    owners: list[Channel] = []
    owned: set[str] = set()
    candidates = Channel.objects.filter(
        platform=channel.platform, is_active=True, external_id__in=accounts
    ).order_by("pk")
    for candidate in candidates:
        owner_connector = connector if candidate.pk == channel.pk else _accepts(candidate, request)
        if owner_connector is None:
            continue
        _validate(owner_connector, raw)
        owners.append(candidate)
        owned.add(candidate.external_id)
    unknown = accounts - owned
    if unknown:
        logger.info("delivery to channel %s names unknown accounts %s", channel.pk, sorted(unknown))
        count_unknown_accounts(channel, unknown)
    return owners


class Accepted(HttpResponse):
    """A genuine, valid delivery, not stored yet: its 200 once `deliveries` are committed.

    What `accept` answers when the delivery is to be stored; it goes back through
    the middleware as any answer (security headers), then the caller stores the
    deliveries (`do_store_deliveries`) and sends it, or a 503 if the store failed.
    """

    def __init__(self, deliveries: list[WebhookDelivery]) -> None:
        super().__init__(status=200)
        self.deliveries = deliveries


def accept(request: HttpRequest, channel: Channel | None) -> HttpResponse:
    """Every check of a delivery to `channel` (the active channel of its URL, or None).

    An error (405, 404, 413, 400, 403), a platform's handshake, or `Accepted`
    with the deliveries to store (one per owning channel, see the module's
    docstring). Stores nothing itself.
    """
    if request.method not in {"GET", "POST"}:
        return _error(405, "method not allowed")
    if channel is None:
        return _error(404, "unknown channel")
    too_big = _check_size(request)
    if too_big is not None:
        return too_big
    try:
        connector = webhook_connector(channel)
    except UnknownPlatform:
        return _error(404, "unknown platform")
    if Capability.WEBHOOK not in connector.capabilities:
        return _error(404, "this channel does not receive webhooks")
    try:
        handshake = connector.verify(request)
    except BadSignature as exc:
        logger.info("bad signature on channel %s: %s", channel.pk, exc.detail)
        return _error(403, "bad signature")
    if handshake is not None:
        return handshake
    if request.method != "POST":
        return _error(405, "method not allowed")
    headers = {k.lower(): v for k, v in request.headers.items()}
    raw = RawEventData(body=request.body, headers=headers)
    try:
        owners = route(channel, connector, raw, request)
    except Malformed as exc:
        return _error(400, str(exc))
    # A retry of a delivery already stored is acknowledged, not stored twice.
    delivery_id = connector.delivery_id(raw)
    return Accepted([WebhookDelivery(owner, raw.body, headers, delivery_id) for owner in owners])


def active_channels(uuids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Channel]:
    """The active channels of these webhook URLs, read in one query."""
    return {c.uuid: c for c in Channel.objects.filter(uuid__in=list(uuids), is_active=True)}


@csrf_exempt
@database_unavailable_is_503
def webhook(request: HttpRequest, channel_uuid: uuid.UUID) -> HttpResponse:
    """One delivery, stored in its own transaction (the lean ASGI route groups them instead)."""
    channel = Channel.objects.filter(uuid=channel_uuid, is_active=True).first()
    answer = accept(request, channel)
    if isinstance(answer, Accepted):
        do_store_deliveries(answer.deliveries)
        return HttpResponse(status=200)
    return answer
