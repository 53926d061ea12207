"""The website widget's endpoints: its script, a visitor's submissions, a visitor's thread.

They sit in the pipeline layer beside the hooks view: they store raw events and
read the inbox, which the website connector (an adapter) may not do. They are called from pages of another site, without cookies:
* CORS is granted to the channel's allowed origins only, and only here;
* no cookie is read or set, so no CSRF token is needed: a visitor is known by
  a random token its browser keeps in localStorage and sends in the
  `X-Cercle-Visitor` header (never in the URL, which logs keep); we only keep
  its SHA-256;
* submissions are rate-limited per visitor and per address, and size-limited;
* a submission is stored as a RawEvent like a webhook delivery and goes
  through the same ingest flow (parse → do_receive); nothing is written here.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from django.core.cache import cache as django_cache
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from cercle.connectors.base import BadPayload, RawEventData
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.connectors.text import clean
from cercle.connectors.website.connector import WIDGET_SOURCE, WebsiteConnector, origin_of
from cercle.connectors.website.inbound import MAX_TEXT, visitor_thread
from cercle.inbox.choices import Delivery, Direction
from cercle.inbox.models import Message
from cercle.pipeline.actions import do_store_raw_event

VISITOR_HEADER = "X-Cercle-Visitor"
MAX_BODY = 16 * 1024
MAX_WIDGET_TEXT = 5000
MAX_NAME = 100
THREAD_LIMIT = 100
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
# (requests, seconds): per visitor and per address.
SUBMIT_LIMITS = {"visitor": (5, 60), "visitor-hour": (30, 3600), "ip": (20, 600)}
READ_LIMITS = {"visitor": (60, 60), "ip": (600, 600)}
WIDGET_JS = Path(__file__).with_name("widget.js")

assert MAX_WIDGET_TEXT <= MAX_TEXT


@cache
def _script() -> bytes:
    return WIDGET_JS.read_bytes()


def _error(status: int, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _channel(channel_uuid: uuid.UUID) -> Channel | None:
    return Channel.objects.filter(uuid=channel_uuid, platform="website", is_active=True).first()


def _cors(response: HttpResponse, origin: str) -> HttpResponse:
    """Grant the calling page (an allowed origin) access; never with credentials."""
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = f"Content-Type, {VISITOR_HEADER}"
    response["Access-Control-Max-Age"] = "600"
    response["Vary"] = "Origin"
    response["Cache-Control"] = "no-store"
    return response


def _allowed_origin(request: HttpRequest, connector: WebsiteConnector) -> str:
    origin = origin_of(request.headers.get("Origin", ""))
    return origin if origin and origin in connector.allowed_origins() else ""


def visitor_key(token: str) -> str:
    """What we keep of a visitor's token: the first 32 hex characters of its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def _visitor(request: HttpRequest, body: dict[str, Any] | None = None) -> str:
    token = request.headers.get(VISITOR_HEADER, "")
    if not token and body is not None and isinstance(body.get("token"), str):
        token = body["token"]
    return visitor_key(token) if _TOKEN.match(token or "") else ""


def _within_limits(
    channel: Channel, limits: dict[str, tuple[int, int]], who: dict[str, str]
) -> int:
    """0 when allowed, else the seconds to wait. Counters live in Django's cache."""
    for name, (limit, window) in limits.items():
        subject = who["ip"] if name.startswith("ip") else who["visitor"]
        key = f"cercle:widget:{channel.pk}:{name}:{subject}"
        django_cache.add(key, 0, timeout=window)
        try:
            count = django_cache.incr(key)
        except ValueError:  # expired between add and incr
            django_cache.set(key, 1, timeout=window)
            count = 1
        if count > limit:
            return window
    return 0


def _preflight_or_origin(
    request: HttpRequest, channel_uuid: uuid.UUID, methods: set[str]
) -> tuple[Channel, WebsiteConnector, str] | HttpResponse:
    channel = _channel(channel_uuid)
    if channel is None:
        return _error(404, "unknown widget")
    connector = WebsiteConnector(channel, PlatformHttp())
    origin = _allowed_origin(request, connector)
    if not origin:
        return _error(403, "this site may not use this widget")
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), origin)
    if request.method not in methods:
        return _cors(_error(405, "method not allowed"), origin)
    return channel, connector, origin


def widget_js(request: HttpRequest, channel_uuid: uuid.UUID) -> HttpResponse:
    """The embeddable script (one per channel URL; it finds its endpoints from its own src)."""
    if request.method not in {"GET", "HEAD"}:
        return _error(405, "method not allowed")
    if _channel(channel_uuid) is None:
        return _error(404, "unknown widget")
    response = HttpResponse(_script(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@csrf_exempt
def submit(request: HttpRequest, channel_uuid: uuid.UUID) -> HttpResponse:
    """A visitor's comment or contact message → a stored RawEvent (ingested like any delivery)."""
    found = _preflight_or_origin(request, channel_uuid, {"POST"})
    if isinstance(found, HttpResponse):
        return found
    channel, connector, origin = found
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return _cors(_error(400, "bad Content-Length"), origin)
    if length > MAX_BODY or len(request.body) > MAX_BODY:
        return _cors(_error(413, "message too large"), origin)
    try:
        data = json.loads(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _cors(_error(400, "the body must be JSON"), origin)
    if not isinstance(data, dict):
        return _cors(_error(400, "the body must be a JSON object"), origin)
    visitor = _visitor(request, data)
    if not visitor:
        return _cors(_error(400, "missing or malformed visitor token"), origin)
    ip = request.META.get("REMOTE_ADDR", "") or "unknown"
    wait = _within_limits(channel, SUBMIT_LIMITS, {"visitor": visitor, "ip": ip})
    if wait:
        return _cors(
            _error(429, "too many messages; try again later", Retry_After=str(wait)), origin
        )
    text, name = data.get("text"), data.get("name", "")
    if not isinstance(text, str) or not isinstance(name, str):
        return _cors(_error(400, "text and name must be strings"), origin)
    text, name = clean(text).strip(), clean(name).strip()
    if len(text) > MAX_WIDGET_TEXT:
        return _cors(_error(413, f"at most {MAX_WIDGET_TEXT} characters"), origin)
    if not text:
        return _cors(_error(400, "the message is empty"), origin)
    if len(name) > MAX_NAME:
        return _cors(_error(400, f"a name has at most {MAX_NAME} characters"), origin)
    page: dict[str, str] = {}
    page_url = data.get("page_url")
    # Only pages of the site itself become the content a comment hangs under.
    if isinstance(page_url, str) and len(page_url) <= 500 and origin_of(page_url) == origin:
        title = data.get("page_title")
        page = {"url": page_url, "title": clean(title)[:300] if isinstance(title, str) else ""}
    item_id = uuid.uuid4().hex
    body = json.dumps(
        {
            "widget": {
                "id": item_id,
                "visitor": visitor,
                "type": data.get("kind")
                if data.get("kind") in ("comment", "contact")
                else "contact",
                "text": text,
                "name": name,
                "page": page,
                "created_at": timezone.now().isoformat(),
            }
        },
        ensure_ascii=False,
    ).encode()
    try:
        connector.parse(RawEventData(body=body, source=WIDGET_SOURCE))
    except BadPayload as exc:
        return _cors(_error(400, exc.detail), origin)
    do_store_raw_event(
        channel,
        body,
        {"content-type": "application/json", "x-cercle-source": WIDGET_SOURCE},
        source=WIDGET_SOURCE,
    )
    return _cors(JsonResponse({"id": f"w:{item_id}"}, status=202), origin)


@csrf_exempt
def thread(request: HttpRequest, channel_uuid: uuid.UUID) -> HttpResponse:
    """The visitor's thread: its messages and the brand's sent answers, oldest first."""
    found = _preflight_or_origin(request, channel_uuid, {"GET"})
    if isinstance(found, HttpResponse):
        return found
    channel, _connector, origin = found
    visitor = _visitor(request)
    if not visitor:
        return _cors(_error(400, "missing or malformed visitor token"), origin)
    ip = request.META.get("REMOTE_ADDR", "") or "unknown"
    wait = _within_limits(channel, READ_LIMITS, {"visitor": visitor, "ip": ip})
    if wait:
        return _cors(_error(429, "too many requests", Retry_After=str(wait)), origin)
    rows = (
        Message.objects.filter(
            Q(direction=Direction.INBOUND)
            | Q(direction=Direction.OUTBOUND, delivery=Delivery.SENT),
            channel=channel,
            conversation__thread_key=f"private:{visitor_thread(visitor)}",
            deleted_at__isnull=True,
            is_hidden=False,
        )
        .order_by("-id")
        .values("external_id", "direction", "kind", "text", "sent_at", "created_at")[:THREAD_LIMIT]
    )
    messages = [
        {
            "id": row["external_id"] or "",
            "from": "visitor" if row["direction"] == Direction.INBOUND else "team",
            "kind": row["kind"],
            "text": row["text"],
            "at": (row["sent_at"] or row["created_at"]).isoformat(),
        }
        for row in reversed(rows)
    ]
    return _cors(JsonResponse({"messages": messages}), origin)
