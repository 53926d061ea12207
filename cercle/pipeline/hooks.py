"""The webhook endpoint: verify, validate, store the RawEvent, acknowledge. Nothing else.

Parsing into domain rows happens later in the ingest task; here we only prove
the payload is genuine and understandable, so a bad request stores nothing.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from cercle.connectors.base import BadPayload, BadSignature, Capability, RawEventData
from cercle.connectors.models import Channel
from cercle.connectors.registry import UnknownPlatform, connector_for
from cercle.pipeline.actions import do_store_raw_event
from cercle.pipeline.unavailable import database_unavailable_is_503

logger = logging.getLogger(__name__)


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
@database_unavailable_is_503
def webhook(request: HttpRequest, channel_uuid: uuid.UUID) -> HttpResponse:
    if request.method not in {"GET", "POST"}:
        return _error(405, "method not allowed")
    channel = Channel.objects.filter(uuid=channel_uuid, is_active=True).first()
    if channel is None:
        return _error(404, "unknown channel")
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return _error(400, "bad Content-Length")
    if length > settings.CERCLE_MAX_WEBHOOK_BYTES:
        return _error(413, "payload too large")
    try:
        connector = connector_for(channel)
    except UnknownPlatform:
        return _error(404, "unknown platform")
    if Capability.WEBHOOK not in connector.capabilities:
        return _error(404, "this channel does not receive webhooks")
    try:
        body = request.body
    except Exception:  # RequestDataTooBig and friends
        return _error(413, "payload too large")
    if len(body) > settings.CERCLE_MAX_WEBHOOK_BYTES:
        return _error(413, "payload too large")
    try:
        handshake = connector.verify(request)
    except BadSignature as exc:
        logger.info("bad signature on channel %s: %s", channel.pk, exc.detail)
        return _error(403, "bad signature")
    finally:
        connector.http.close()
    if handshake is not None:
        return handshake
    if request.method != "POST":
        return _error(405, "method not allowed")
    headers = {k.lower(): v for k, v in request.headers.items()}
    raw = RawEventData(body=body, headers=headers)
    try:
        connector.parse(raw)
    # RecursionError: JSON nested deeper than Python's stack (a few kB of "[").
    except (BadPayload, ValueError, KeyError, TypeError, RecursionError) as exc:
        return _error(400, f"malformed payload: {exc}"[:300])
    # A retry of a delivery already stored is acknowledged, not stored twice.
    do_store_raw_event(channel, body, headers, delivery_id=connector.delivery_id(raw))
    return HttpResponse(status=200)
