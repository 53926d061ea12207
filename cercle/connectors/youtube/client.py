"""HTTP client of the YouTube Data API v3 and Google OAuth 2.0: one constant per endpoint.

Every request is counted against the channel's daily quota *before* it is sent
(Google charges invalid and failed requests too), and every error answer is
turned into one of the connector errors of `cercle.connectors.base`.

Docs: https://developers.google.com/youtube/v3/docs and
https://developers.google.com/youtube/v3/determine_quota_cost
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
from django.utils import timezone
from django.utils.translation import gettext_lazy

from cercle.connectors import quota
from cercle.connectors.base import (
    PermissionDenied,
    RateLimited,
    Rejected,
    TokenRevoked,
    TransientError,
)
from cercle.connectors.http import PlatformHttp
from cercle.connectors.ratelimit import retry_at_from_headers

if TYPE_CHECKING:
    from cercle.connectors.models import Channel

# --- endpoints ---------------------------------------------------------------------
# https://developers.google.com/youtube/v3/docs (discovery document: rootUrl + "youtube/v3/")
DEFAULT_API_BASE = "https://youtube.googleapis.com/youtube/v3"
# https://developers.google.com/youtube/v3/docs/commentThreads/list
COMMENT_THREADS = "/commentThreads"
# https://developers.google.com/youtube/v3/docs/comments/list (GET), /insert (POST), /delete (DELETE)
COMMENTS = "/comments"
# https://developers.google.com/youtube/v3/docs/comments/setModerationStatus
SET_MODERATION_STATUS = "/comments/setModerationStatus"
# https://developers.google.com/youtube/v3/docs/channels/list
CHANNELS = "/channels"
# https://developers.google.com/youtube/v3/docs/videos/list (part=snippet, id=a,b,…: up to 50)
VIDEOS = "/videos"
MAX_VIDEO_IDS = 50
# https://developers.google.com/identity/protocols/oauth2/web-server
SCOPE = "https://www.googleapis.com/auth/youtube.force-ssl"

# --- quota ---------------------------------------------------------------------------
# Units per call (https://developers.google.com/youtube/v3/determine_quota_cost).
COST_LIST = 1
COST_WRITE = 50
DEFAULT_DAILY_LIMIT = 10_000
# The channel's quota window of daily units (connectors.quota).
UNITS_WINDOW = "units"
# Google resets the daily quota at midnight Pacific time.
QUOTA_ZONE = ZoneInfo("America/Los_Angeles")

# Error reasons (https://developers.google.com/youtube/v3/docs/errors).
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded", "dailyLimitExceededUnreg"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "servingLimitExceeded"})
# 403 reasons about one item, not about the channel's permissions: refuse the action only.
ITEM_REASONS = frozenset(
    {"commentsDisabled", "commentNotFound", "videoNotFound", "processingFailure"}
)

MAX_PAGE = 100  # maxResults ceiling of commentThreads.list and comments.list


def next_quota_reset(now: datetime) -> datetime:
    """The next midnight in Pacific time, in UTC."""
    local = now.astimezone(QUOTA_ZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=QUOTA_ZONE)
    return midnight.astimezone(UTC)


class QuotaExhausted(RateLimited):
    """Our own count says the day's units are spent (or reserved for replies)."""


class QuotaBook:
    """The channel's daily units, counted before each call in its `units` quota window.

    The count lives in `connectors.quota` (one row per channel, changed by a
    conditional UPDATE), so every worker sees and advances the same count; the
    platform's own 403 quotaExceeded remains the authority and blocks the
    window until the reset (midnight Pacific).
    """

    def __init__(self, channel: Channel, limit: int) -> None:
        self.channel = channel
        self.window = quota.Window(
            name=UNITS_WINDOW,
            limit=limit,
            period=timedelta(days=1),
            reset=next_quota_reset,
            message=gettext_lazy("YouTube allows %(limit)d units a day: waiting for the reset."),
        )

    @property
    def limit(self) -> int:
        return self.window.limit

    @property
    def used(self) -> int:
        return quota.standing(self.channel, self.window).used

    @property
    def resets_at(self) -> datetime:
        return quota.standing(self.channel, self.window).resets_at

    def remaining(self) -> int:
        return quota.standing(self.channel, self.window).remaining

    def spend(self, units: int, keep: int = 0) -> None:
        """Count `units`; refuse when fewer than `units + keep` remain (keep: units reserved for others)."""
        try:
            quota.take(self.channel, self.window, units, keep=keep)
        except RateLimited as exc:
            raise QuotaExhausted(exc.detail, exc.retry_at) from exc

    def exhaust(self) -> datetime:
        """The platform said the quota is spent: believe it until the reset."""
        until = next_quota_reset(timezone.now())
        quota.block(self.channel, self.window, until)
        return until


def _error_reasons(response: httpx.Response) -> tuple[list[str], str]:
    """The `errors[].reason` list and the message of a Google API error body."""
    try:
        data = response.json()
    except ValueError:
        return [], response.text[:300]
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str):  # OAuth token endpoint: {"error": "invalid_grant", ...}
        return [error], str(data.get("error_description", ""))[:300]
    if not isinstance(error, dict):
        return [], response.text[:300]
    reasons = [str(e.get("reason", "")) for e in error.get("errors") or [] if isinstance(e, dict)]
    status = error.get("status")
    if isinstance(status, str):
        reasons.append(status)
    return reasons, str(error.get("message", ""))[:300]


class YouTubeClient:
    """Calls of the YouTube Data API v3 for one channel.

    `refresh` is called once on a 401 to get a fresh access token (None: no
    way to refresh, the token is revoked).
    """

    def __init__(
        self,
        http: PlatformHttp,
        *,
        api_base: str,
        access_token: str,
        quota: QuotaBook,
        refresh: Callable[[], str | None] | None = None,
    ) -> None:
        self.http = http
        self.base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.access_token = access_token
        self.quota = quota
        self.refresh = refresh

    # -- plumbing ----------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        cost: int,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        keep: int = 0,
    ) -> httpx.Response:
        """Count the units, send, retry once with a refreshed token on 401, classify errors."""
        refreshed = False
        while True:
            self.quota.spend(cost, keep=keep)
            kwargs: dict[str, Any] = {
                "params": dict(params or {}),
                "headers": {
                    "Authorization": f"Bearer {self.access_token}",
                    "Accept": "application/json",
                },
            }
            if body is not None:
                kwargs["json"] = body
            response = self.http.request(method, self.base + path, **kwargs)
            if response.status_code == 401 and not refreshed and self.refresh is not None:
                # A 401 means nothing was done: safe to retry a write with a new token.
                new_token = self.refresh()
                refreshed = True
                if new_token:
                    self.access_token = new_token
                    continue
            self.raise_for_status(response)
            return response

    def raise_for_status(self, response: httpx.Response) -> None:
        """Turn an error answer into the connector error that says what to do next."""
        status = response.status_code
        if status < 400:
            return
        reasons, message = _error_reasons(response)
        detail = f"YouTube {status}: {message or ', '.join(reasons) or 'error'}"
        if status in (403, 429) and QUOTA_REASONS.intersection(reasons):
            raise RateLimited(detail, self.quota.exhaust())
        if status == 429 or (status == 403 and RATE_REASONS.intersection(reasons)):
            raise RateLimited(detail, retry_at_from_headers(response.headers))
        if status == 401:
            raise TokenRevoked(detail)
        if status == 403:
            if ITEM_REASONS.intersection(reasons):
                raise Rejected(detail)
            raise PermissionDenied(detail)
        if status >= 500:
            raise TransientError(detail)
        raise Rejected(detail)

    @staticmethod
    def json(response: httpx.Response) -> dict[str, Any]:
        """The JSON object of a successful answer (a 2xx that is not JSON is the platform's fault)."""
        try:
            data = response.json()
        except ValueError as exc:
            raise TransientError(f"YouTube answered non-JSON ({response.status_code})") from exc
        if not isinstance(data, dict):
            raise TransientError("YouTube answered JSON that is not an object")
        return data

    # -- reads (1 unit each) ---------------------------------------------------------------

    def list_threads(
        self, channel_id: str, moderation_status: str, page_token: str = "", *, keep: int = 0
    ) -> httpx.Response:
        """One page of the channel's comment threads, newest first (commentThreads.list)."""
        params: dict[str, Any] = {
            "part": "snippet,replies",
            "allThreadsRelatedToChannelId": channel_id,
            "moderationStatus": moderation_status,
            "order": "time",
            "maxResults": MAX_PAGE,
            "textFormat": "plainText",
        }
        if page_token:
            params["pageToken"] = page_token
        return self._send("GET", COMMENT_THREADS, cost=COST_LIST, params=params, keep=keep)

    def list_replies(
        self, parent_id: str, page_token: str = "", *, keep: int = 0
    ) -> httpx.Response:
        """One page of the replies to a top-level comment (comments.list?parentId=)."""
        params: dict[str, Any] = {
            "part": "snippet",
            "parentId": parent_id,
            "maxResults": MAX_PAGE,
            "textFormat": "plainText",
        }
        if page_token:
            params["pageToken"] = page_token
        return self._send("GET", COMMENTS, cost=COST_LIST, params=params, keep=keep)

    def get_comment(self, comment_id: str) -> dict[str, Any] | None:
        """The comment with this id, or None when it no longer exists (comments.list?id=)."""
        response = self._send(
            "GET",
            COMMENTS,
            cost=COST_LIST,
            params={"part": "snippet", "id": comment_id, "textFormat": "plainText"},
        )
        items = self.json(response).get("items")
        if isinstance(items, list) and items and isinstance(items[0], dict):
            return items[0]
        return None

    def list_videos(self, video_ids: list[str], *, keep: int = 0) -> dict[str, Any]:
        """The snippets of up to 50 videos (videos.list?part=snippet&id=…, 1 unit).

        A deleted or private video is simply absent from `items`.
        """
        response = self._send(
            "GET",
            VIDEOS,
            cost=COST_LIST,
            params={"part": "snippet", "id": ",".join(video_ids[:MAX_VIDEO_IDS])},
            keep=keep,
        )
        return self.json(response)

    def my_channel(self) -> dict[str, Any]:
        """The channel the token belongs to (channels.list?mine=true)."""
        response = self._send(
            "GET", CHANNELS, cost=COST_LIST, params={"part": "snippet", "mine": "true"}
        )
        items = self.json(response).get("items")
        if not isinstance(items, list) or not items or not isinstance(items[0], dict):
            raise PermissionDenied("this Google account has no YouTube channel")
        return items[0]

    # -- writes (50 units each) -------------------------------------------------------------

    def insert_reply(self, parent_id: str, text: str) -> dict[str, Any]:
        """Reply under a top-level comment (comments.insert with snippet.parentId)."""
        body = {"snippet": {"parentId": parent_id, "textOriginal": text}}
        response = self._send(
            "POST", COMMENTS, cost=COST_WRITE, params={"part": "snippet"}, body=body
        )
        return self.json(response)

    def set_moderation_status(
        self, comment_id: str, status: str, *, ban_author: bool = False
    ) -> None:
        """Publish, hold for review or reject a comment, optionally banning its author."""
        params: dict[str, Any] = {"id": comment_id, "moderationStatus": status}
        if ban_author:
            params["banAuthor"] = "true"
        self._send("POST", SET_MODERATION_STATUS, cost=COST_WRITE, params=params)

    def delete_comment(self, comment_id: str) -> None:
        """Delete a comment the channel wrote (comments.delete)."""
        self._send("DELETE", COMMENTS, cost=COST_WRITE, params={"id": comment_id})


def dumps(data: Any) -> bytes:
    """Compact JSON bytes (for the raw copy of a polled page)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
