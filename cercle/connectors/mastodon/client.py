"""The Mastodon REST API, as Cercle uses it: one constant per endpoint, limits counted, errors classified.

Every instance is its own server: the base URL is typed by the team, so every
call goes through `PlatformHttp`, whose egress guard refuses loopback, private
and link-local addresses (an instance on a private network must be listed in
`CERCLE_EGRESS_ALLOW_HOSTS`). Calls carry `Authorization: Bearer <token>`.
Each answer's `X-RateLimit-*` headers are believed as the window they
describe (README.md, "Limits"); `MastodonClient._send` turns Mastodon's error
answers into the connector errors the sender and the poller understand.
Docs: https://docs.joinmastodon.org/methods/
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

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
from cercle.core.egress import EgressRefused

if TYPE_CHECKING:
    from cercle.connectors.models import Channel

# https://docs.joinmastodon.org/methods/accounts/#verify_credentials
VERIFY_CREDENTIALS = "/api/v1/accounts/verify_credentials"
# https://docs.joinmastodon.org/methods/notifications/#get (Link paging, min_id / max_id)
NOTIFICATIONS = "/api/v1/notifications"
# https://docs.joinmastodon.org/methods/statuses/#create (Idempotency-Key header)
STATUSES = "/api/v1/statuses"
# https://docs.joinmastodon.org/methods/statuses/#get and #delete
STATUS = "/api/v1/statuses/{status_id}"
# https://docs.joinmastodon.org/methods/statuses/#context (to reconcile a reply)
STATUS_CONTEXT = "/api/v1/statuses/{status_id}/context"
# https://docs.joinmastodon.org/methods/statuses/#favourite
STATUS_FAVOURITE = "/api/v1/statuses/{status_id}/favourite"
# https://docs.joinmastodon.org/methods/accounts/#block
ACCOUNT_BLOCK = "/api/v1/accounts/{account_id}/block"
# https://docs.joinmastodon.org/methods/accounts/#unblock
ACCOUNT_UNBLOCK = "/api/v1/accounts/{account_id}/unblock"
# https://docs.joinmastodon.org/methods/accounts/#relationships
RELATIONSHIPS = "/api/v1/accounts/relationships"
# https://docs.joinmastodon.org/methods/reports/#post
REPORTS = "/api/v1/reports"
# Full-text search of statuses (listening); needs `read:search`, `resolve=false` stays local.
SEARCH = "/api/v2/search"
SEARCH_LIMIT = 40

# The notification types Cercle reads; the others (follow, poll, update, admin.*…) are not interactions.
NOTIFICATION_TYPES = ("mention", "favourite", "reblog")
PAGE_SIZE = 40  # the largest page /api/v1/notifications gives

# Mastodon's default limits (config/initializers/rack_attack.rb): every authenticated
# call counts against 300 per 5 minutes; posting a status and deleting one have their own.
API_WINDOW = quota.Window(
    "api", 300, timedelta(minutes=5), message="Mastodon: %(limit)d requests per 5 minutes spent"
)
POST_WINDOW = quota.Window(
    "statuses", 300, timedelta(hours=3), message="Mastodon: %(limit)d posts per 3 hours spent"
)
DELETE_WINDOW = quota.Window(
    "deletes",
    30,
    timedelta(minutes=30),
    message="Mastodon: %(limit)d deletions per 30 minutes spent",
)
SCOPES = ("read", "write:statuses", "write:favourites", "write:blocks", "write:reports")

_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([a-z]+)"?')


def parse_link(header: str) -> dict[str, str]:
    """`Link: <url>; rel="next", <url>; rel="prev"` → {"next": url, "prev": url}."""
    return {rel: url for url, rel in _LINK.findall(header or "")}


def reset_time(value: str) -> datetime | None:
    """`X-RateLimit-Reset`: Mastodon sends an ISO 8601 time (`2026-10-14T19:10:00.154335Z`)."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _error(response: httpx.Response) -> str:
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text[:300] or f"HTTP {response.status_code}"
    if isinstance(data, dict):
        parts = [str(data.get(k)) for k in ("error", "error_description") if data.get(k)]
        if parts:
            return ": ".join(parts)[:300]
    return f"HTTP {response.status_code}"


def classify(response: httpx.Response) -> None:
    """Raise the connector error Mastodon's answer means; return when it is a success."""
    status = response.status_code
    if status < 400:
        return
    detail = _error(response)
    if status == 429:
        reset = reset_time(response.headers.get("x-ratelimit-reset", ""))
        retry_at = reset or retry_at_from_headers(response.headers, timedelta(minutes=5))
        raise RateLimited(f"Mastodon rate limit: {detail}", retry_at)
    if status == 401:
        raise TokenRevoked(f"Mastodon refused the access token: {detail}")
    if status == 403:
        raise PermissionDenied(f"Mastodon refused: {detail}")
    if status >= 500:
        raise TransientError(f"Mastodon error {status}: {detail}")
    raise Rejected(f"Mastodon refused the request ({status}): {detail}")


def _segment(value: str) -> str:
    """An id placed in a URL path: Mastodon ids are digits (snowflakes) on Mastodon itself."""
    text = str(value)
    if not text or len(text) > 40 or not all(c.isalnum() for c in text):
        raise Rejected(f"not a Mastodon id: {text[:40]!r}")
    return text


def window_for(method: str, template: str) -> quota.Window:
    """The Mastodon limit a call counts against (the headers of its answer describe that one)."""
    if method == "POST" and template == STATUSES:
        return POST_WINDOW
    if method == "DELETE" and template == STATUS:
        return DELETE_WINDOW
    return API_WINDOW


class MastodonClient:
    """Calls of one account's access token on its instance."""

    def __init__(
        self,
        http: PlatformHttp,
        *,
        instance: str,
        access_token: str,
        channel: Channel | None = None,
    ) -> None:
        if not instance:
            raise Rejected("the channel has no Mastodon instance URL")
        self.http = http
        self.instance = instance.rstrip("/")
        self.access_token = access_token
        self.channel = channel
        self.last_headers: Mapping[str, str] = {}

    # --- plumbing --------------------------------------------------------------

    def _count(self, window: quota.Window) -> None:
        """Count the call in the windows the instance's headers last described (their size is the instance's)."""
        if self.channel is None:
            return
        for counted in {API_WINDOW, window}:
            quota.take_observed(
                self.channel, counted.name, message=str(counted.message) % {"limit": counted.limit}
            )

    def _observe(self, window: quota.Window, response: httpx.Response) -> None:
        headers = response.headers
        limit, remaining = (
            headers.get("x-ratelimit-limit", ""),
            headers.get("x-ratelimit-remaining", ""),
        )
        reset = reset_time(headers.get("x-ratelimit-reset", ""))
        if self.channel is None or not (limit.isdigit() and remaining.isdigit()) or reset is None:
            return
        quota.observe(
            self.channel,
            window.name,
            limit=int(limit),
            used=int(limit) - int(remaining),
            resets_at=reset,
        )

    def _send(
        self,
        method: str,
        template: str,
        *,
        path_args: Mapping[str, str] | None = None,
        params: Any = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        window = window_for(method, template)
        self._count(window)
        path = template.format(**{k: _segment(v) for k, v in (path_args or {}).items()})
        kwargs: dict[str, Any] = {
            "headers": {
                "Authorization": f"Bearer {self.access_token}",
                "Accept": "application/json",
                **(headers or {}),
            }
        }
        if params:
            kwargs["params"] = params
        if body is not None:
            kwargs["json"] = dict(body)
        try:
            response = self.http.request(method, self.instance + path, **kwargs)
        except EgressRefused as exc:
            # An instance on a private network must be allow-listed by the operator.
            raise PermissionDenied(
                f"{exc} (CERCLE_EGRESS_ALLOW_HOSTS lists allowed hosts)"
            ) from exc
        self.last_headers = response.headers
        self._observe(window, response)
        classify(response)
        return response

    def _call(self, method: str, template: str, **kwargs: Any) -> Any:
        response = self._send(method, template, **kwargs)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TransientError(
                f"Mastodon answered with something that is not JSON (HTTP {response.status_code})"
            ) from exc

    def _object(self, method: str, template: str, **kwargs: Any) -> dict[str, Any]:
        data = self._call(method, template, **kwargs)
        if not isinstance(data, dict):
            raise TransientError(f"Mastodon answered {template} without an object")
        return data

    # --- reads -------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        account = self._object("GET", VERIFY_CREDENTIALS)
        if not account.get("id"):
            raise TransientError("Mastodon answered verify_credentials without an id")
        return account

    def notifications(self, *, min_id: str = "") -> httpx.Response:
        """The page of notifications just newer than `min_id` (the newest page without it), as sent."""
        params: list[tuple[str, str]] = [("types[]", t) for t in NOTIFICATION_TYPES]
        params.append(("limit", str(PAGE_SIZE)))
        if min_id:
            params.append(("min_id", min_id))
        return self._send("GET", NOTIFICATIONS, params=params)

    def search_statuses(self, query: str) -> dict[str, Any]:
        """`GET /api/v2/search?type=statuses`: the instance's statuses matching `query`, newest first."""
        params = {"q": query, "type": "statuses", "resolve": "false", "limit": str(SEARCH_LIMIT)}
        return self._object("GET", SEARCH, params=params)

    def status(self, status_id: str) -> dict[str, Any]:
        return self._object("GET", STATUS, path_args={"status_id": status_id})

    def context(self, status_id: str) -> dict[str, Any]:
        return self._object("GET", STATUS_CONTEXT, path_args={"status_id": status_id})

    def relationship(self, account_id: str) -> dict[str, Any]:
        data = self._call("GET", RELATIONSHIPS, params=[("id[]", _segment(account_id))])
        if isinstance(data, list) and data and isinstance(data[0], dict):
            return data[0]
        return {}

    # --- writes ------------------------------------------------------------------

    def post_status(
        self, text: str, *, in_reply_to_id: str, visibility: str, idempotency_key: str
    ) -> dict[str, Any]:
        """Post a reply; Mastodon answers a repeat of the same `Idempotency-Key` (1 hour) with the first status."""
        body = {"status": text, "in_reply_to_id": in_reply_to_id, "visibility": visibility}
        return self._object(
            "POST", STATUSES, body=body, headers={"Idempotency-Key": idempotency_key}
        )

    def delete_status(self, status_id: str) -> dict[str, Any]:
        return self._object("DELETE", STATUS, path_args={"status_id": status_id})

    def favourite(self, status_id: str) -> dict[str, Any]:
        return self._object("POST", STATUS_FAVOURITE, path_args={"status_id": status_id})

    def block(self, account_id: str) -> dict[str, Any]:
        return self._object("POST", ACCOUNT_BLOCK, path_args={"account_id": account_id})

    def unblock(self, account_id: str) -> dict[str, Any]:
        return self._object("POST", ACCOUNT_UNBLOCK, path_args={"account_id": account_id})

    def report(self, account_id: str, status_ids: list[str], comment: str) -> dict[str, Any]:
        body = {
            "account_id": _segment(account_id),
            "status_ids": [_segment(s) for s in status_ids],
            "comment": comment,
            "forward": True,
        }
        return self._object("POST", REPORTS, body=body)
