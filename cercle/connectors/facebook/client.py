"""The Graph API, as Cercle uses it: one constant per endpoint, errors classified, usage counted.

Every call goes through `GraphClient.call`, which signs it with the Page
token (`Authorization` header, never in the URL) and `appsecret_proof`, reads
the usage headers into the channel's quota, and turns Graph error codes into
the connector errors the sender and poller understand
(https://developers.facebook.com/docs/graph-api/guides/error-handling).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.utils import timezone

from ..base import (
    ConnectorError,
    PermissionDenied,
    RateLimited,
    Rejected,
    TokenRevoked,
    TransientError,
)
from ..http import PlatformHttp
from ..ratelimit import retry_at_from_headers

# The one pinned Graph API version (https://developers.facebook.com/docs/graph-api/changelog).
GRAPH_VERSION = "v21.0"
GRAPH_BASE = "https://graph.facebook.com"
DIALOG_BASE = "https://www.facebook.com"

# Endpoints, relative to {api_base}/{GRAPH_VERSION}. Docs:
# https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
OAUTH_DIALOG = "/dialog/oauth"
# https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
OAUTH_ACCESS_TOKEN = "/oauth/access_token"
# https://developers.facebook.com/docs/pages-api/getting-started (Page tokens of the user)
ME_ACCOUNTS = "/me/accounts"
# https://developers.facebook.com/docs/graph-api/reference/page/
PAGE = "/{page_id}"
# https://developers.facebook.com/docs/graph-api/reference/page/feed/
PAGE_FEED = "/{page_id}/feed"
# https://developers.facebook.com/docs/graph-api/reference/object/comments/
OBJECT_COMMENTS = "/{object_id}/comments"
# https://developers.facebook.com/docs/graph-api/reference/comment/ (read, hide, delete)
COMMENT = "/{comment_id}"
# https://developers.facebook.com/docs/graph-api/reference/object/likes/
OBJECT_LIKES = "/{object_id}/likes"
# https://developers.facebook.com/docs/messenger-platform/reference/send-api/ and
# https://developers.facebook.com/docs/messenger-platform/discovery/private-replies/
PAGE_MESSAGES = "/{page_id}/messages"
# https://developers.facebook.com/docs/graph-api/reference/page/conversations/
PAGE_CONVERSATIONS = "/{page_id}/conversations"
# https://developers.facebook.com/docs/graph-api/reference/page/blocked/
PAGE_BLOCKED = "/{page_id}/blocked"

# Graph error codes (error-handling guide) → what they mean for the channel.
TOKEN_CODES = frozenset({102, 190})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613, *range(80001, 80010)})
PERMISSION_CODES = frozenset({3, 10, *range(200, 300)})
TRANSIENT_CODES = frozenset({1, 2, 368})
# Messenger: "This message is sent outside of allowed window" (code 10, subcode 2018278).
OUT_OF_WINDOW = frozenset({(10, 2018278)})
# Throttling without an estimate: the Graph windows roll over one hour.
DEFAULT_THROTTLE_WAIT = timedelta(minutes=10)

QuotaListener = Callable[[dict[str, Any]], None]


def appsecret_proof(token: str, app_secret: str) -> str:
    """HMAC-SHA256 of the token keyed by the app secret (required by "Require App Secret")."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def _json_header(headers: Mapping[str, str], name: str) -> Any:
    raw = headers.get(name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return None


def usage_from_headers(headers: Mapping[str, str]) -> dict[str, Any]:
    """The usage Facebook reports (percentages of the limits), or {} when it says nothing.

    `X-App-Usage` / `X-Page-Usage`: {"call_count", "total_cputime", "total_time"};
    `X-Business-Use-Case-Usage`: {id: [{"type", "call_count", …, "estimated_time_to_regain_access"}]}.
    """
    usage: dict[str, Any] = {}
    peaks: list[int] = []
    wait_minutes = 0
    for header in ("x-app-usage", "x-page-usage"):
        data = _json_header(headers, header)
        if isinstance(data, dict):
            usage[header] = data
            peaks += [int(v) for v in data.values() if isinstance(v, int | float)]
    buc = _json_header(headers, "x-business-use-case-usage")
    if isinstance(buc, dict):
        usage["x-business-use-case-usage"] = buc
        for entries in buc.values():
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, dict):
                    continue
                peaks += [
                    int(entry[k])
                    for k in ("call_count", "total_cputime", "total_time")
                    if isinstance(entry.get(k), int | float)
                ]
                estimate = entry.get("estimated_time_to_regain_access")
                if isinstance(estimate, int | float):
                    wait_minutes = max(wait_minutes, int(estimate))
    if not usage:
        return {}
    quota: dict[str, Any] = {
        "used": max(peaks, default=0),
        "limit": 100,
        "unit": "percent",
        "headers": usage,
    }
    if wait_minutes:
        quota["resets_at"] = (timezone.now() + timedelta(minutes=wait_minutes)).isoformat()
    return quota


def throttled_until(headers: Mapping[str, str]) -> datetime:
    """When a throttled app or Page may call again: BUC estimate (minutes), Retry-After, or a default."""
    quota = usage_from_headers(headers)
    if "resets_at" in quota:
        return datetime.fromisoformat(quota["resets_at"])
    return retry_at_from_headers(headers, default=DEFAULT_THROTTLE_WAIT)


def classify_error(response: httpx.Response) -> ConnectorError:
    """The connector error for a failed Graph answer (not raised: callers may inspect it)."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        if response.status_code == 429:
            return RateLimited("Facebook: too many requests", throttled_until(response.headers))
        if response.status_code >= 500:
            return TransientError(f"Facebook error {response.status_code}")
        if response.status_code == 401:
            return TokenRevoked("Facebook refused the access token")
        return Rejected(f"Facebook error {response.status_code}: {response.text[:200]}")
    code = error.get("code")
    code = code if isinstance(code, int) else -1
    subcode = error.get("error_subcode")
    message = str(error.get("message", ""))[:300]
    detail = f"Facebook #{code}{f'/{subcode}' if subcode else ''}: {message}"
    if (code, subcode) in OUT_OF_WINDOW:
        # The Messenger 24-hour window closed: this message cannot go, the Page is fine.
        return Rejected(detail)
    if code in TOKEN_CODES:
        return TokenRevoked(detail)
    if code in RATE_LIMIT_CODES or response.status_code == 429:
        return RateLimited(detail, throttled_until(response.headers))
    if code in PERMISSION_CODES:
        return PermissionDenied(detail)
    if code in TRANSIENT_CODES or error.get("is_transient") is True or response.status_code >= 500:
        return TransientError(detail)
    return Rejected(detail)


class GraphClient:
    """Calls of one Page's token against the Graph API (or the simulator's fake of it)."""

    def __init__(
        self,
        http: PlatformHttp,
        *,
        api_base: str = "",
        access_token: str = "",
        app_secret: str = "",
        on_usage: QuotaListener | None = None,
    ) -> None:
        self.http = http
        self.base = (api_base or GRAPH_BASE).rstrip("/") + "/" + GRAPH_VERSION
        self.access_token = access_token
        self.app_secret = app_secret
        self.on_usage = on_usage

    def url(self, path: str, **ids: str) -> str:
        """The full URL of an endpoint constant, ids filled in (and kept to one path segment)."""
        for name, value in ids.items():
            if not value or "/" in value or "?" in value or "#" in value or value in {".", ".."}:
                raise Rejected(f"invalid Facebook id for {name}: {value!r}")
        return self.base + path.format(**ids)

    def call(
        self,
        method: str,
        path: str,
        *,
        ids: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        authenticated: bool = True,
    ) -> dict[str, Any]:
        """One Graph call; returns the decoded JSON object or raises a classified error."""
        query = dict(params or {})
        headers: dict[str, str] = {}
        if authenticated:
            if not self.access_token:
                raise TokenRevoked("no Facebook Page access token: reconnect the Page")
            headers["Authorization"] = f"Bearer {self.access_token}"
            if self.app_secret:
                query["appsecret_proof"] = appsecret_proof(self.access_token, self.app_secret)
        kwargs: dict[str, Any] = {"params": query, "headers": headers}
        if data is not None:
            kwargs["data"] = dict(data)
        if json_body is not None:
            kwargs["json"] = dict(json_body)
        response = self.http.request(method, self.url(path, **(ids or {})), **kwargs)
        quota = usage_from_headers(response.headers)
        if quota and self.on_usage is not None:
            self.on_usage(quota)
        if response.status_code >= 400:
            raise classify_error(response)
        try:
            payload = response.json()
        except ValueError as exc:
            raise TransientError(f"Facebook answered non-JSON ({response.status_code})") from exc
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            raise classify_error(response)
        if isinstance(payload, bool):
            # Some older edges answer a bare `true`.
            return {"success": payload}
        if not isinstance(payload, dict):
            raise Rejected("Facebook answered an unexpected shape")
        return payload

    def get(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.call("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.call("DELETE", path, **kwargs)
