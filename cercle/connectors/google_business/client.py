"""The Google Business Profile APIs, as Cercle uses them: one constant per endpoint, quota, errors classified.

Reviews live in the v4 API (`mybusiness.googleapis.com/v4`); the account and
its locations are found at connection time through the Account Management and
Business Information APIs (v1). Google answers errors as
`{"error": {"code", "message", "status"}}`; `GoogleBusinessClient._send` turns
them into the connector errors the sender and the poller understand, after
counting the call in the channel's windows (README.md, "Limits").
Docs: https://developers.google.com/my-business/reference/rest
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
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

if TYPE_CHECKING:
    from cercle.connectors.models import Channel

DEFAULT_API_BASE = "https://mybusiness.googleapis.com"
ACCOUNTS_API_BASE = "https://mybusinessaccountmanagement.googleapis.com"
INFORMATION_API_BASE = "https://mybusinessbusinessinformation.googleapis.com"
# https://developers.google.com/my-business/reference/rest/v4/accounts.locations.reviews/list
REVIEWS = "/v4/{location}/reviews"
# https://developers.google.com/my-business/reference/rest/v4/accounts.locations.reviews/get
REVIEW = "/v4/{location}/reviews/{review_id}"
# https://developers.google.com/my-business/reference/rest/v4/accounts.locations.reviews/updateReply (PUT: upsert)
# and .../deleteReply (DELETE)
REPLY = "/v4/{location}/reviews/{review_id}/reply"
# https://developers.google.com/my-business/reference/accountmanagement/rest/v1/accounts/list
ACCOUNTS = "/v1/accounts"
# https://developers.google.com/my-business/reference/businessinformation/rest/v1/accounts.locations/list
LOCATIONS = "/v1/{account}/locations"

SCOPE = "https://www.googleapis.com/auth/business.manage"
PAGE_SIZE = 50  # the largest page reviews.list gives

# https://developers.google.com/my-business/content/limits: 300 requests per minute
# (per project; counted here per channel), and 10 edits per minute per profile.
API_WINDOW = quota.Window(
    "api", 300, timedelta(minutes=1), message="Google: %(limit)d requests per minute spent"
)
EDIT_WINDOW = quota.Window(
    "edits",
    10,
    timedelta(minutes=1),
    message="Google: %(limit)d edits per minute on this profile spent",
)


def _error(response: httpx.Response) -> tuple[str, str]:
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "", response.text[:300] or f"HTTP {response.status_code}"
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("status", "")), str(error.get("message", ""))[:300]
    return "", f"HTTP {response.status_code}"


def classify(response: httpx.Response) -> None:
    """Raise the connector error Google's answer means; return when it is a success."""
    status = response.status_code
    if status < 400:
        return
    code, message = _error(response)
    detail = f"{code}: {message}" if code else message
    if status == 429 or code == "RESOURCE_EXHAUSTED":
        raise RateLimited(
            f"Google quota: {detail}", retry_at_from_headers(response.headers, timedelta(minutes=1))
        )
    if status == 401 or code == "UNAUTHENTICATED":
        raise TokenRevoked(f"Google refused the token: {detail}")
    if status == 403:
        raise PermissionDenied(f"Google refused: {detail}")
    if status >= 500:
        raise TransientError(f"Google error {status}: {detail}")
    raise Rejected(f"Google refused the request ({status}): {detail}")


def _resource(value: str, prefix: str) -> str:
    """A resource name we stored (`accounts/1/locations/2`), checked before it goes in a path."""
    parts = value.split("/")
    if (
        len(parts) % 2
        or parts[0] != prefix
        or not all(p and all(c.isalnum() or c in "-_" for c in p) for p in parts)
    ):
        raise Rejected(f"not a Google resource name: {value[:80]!r}")
    return value


def _review_id(value: str) -> str:
    if not value or len(value) > 200 or not all(c.isalnum() or c in "-_" for c in value):
        raise Rejected(f"not a Google review id: {value[:40]!r}")
    return value


class GoogleBusinessClient:
    """Calls of one channel's token, counted in its windows."""

    def __init__(
        self,
        http: PlatformHttp,
        *,
        access_token: str,
        api_base: str = "",
        channel: Channel | None = None,
    ) -> None:
        self.http = http
        self.base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.access_token = access_token
        self.channel = channel

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        edit: bool = False,
    ) -> httpx.Response:
        if self.channel is not None:
            quota.take(self.channel, API_WINDOW)
            if edit:
                quota.take(self.channel, EDIT_WINDOW)
        kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {self.access_token}"}}
        if params:
            kwargs["params"] = dict(params)
        if body is not None:
            kwargs["json"] = dict(body)
        response = self.http.request(method, url, **kwargs)
        if response.status_code == 429 and self.channel is not None:
            until = retry_at_from_headers(response.headers, timedelta(minutes=1))
            quota.block(self.channel, EDIT_WINDOW if edit else API_WINDOW, until)
        classify(response)
        return response

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        if not response.content.strip():
            return {}
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TransientError("Google answered with something that is not JSON") from exc
        if not isinstance(data, dict):
            raise TransientError("Google answered with JSON that is not an object")
        return data

    # --- reviews -------------------------------------------------------------------

    def reviews_page(self, location: str, page_token: str = "") -> bytes:
        """One page of a location's reviews, most recently updated first, as Google sent it."""
        params = {"pageSize": str(PAGE_SIZE), "orderBy": "updateTime desc"}
        if page_token:
            params["pageToken"] = page_token
        path = REVIEWS.format(location=_resource(location, "accounts"))
        return self._send("GET", self.base + path, params=params).content

    def review(self, location: str, review_id: str) -> dict[str, Any]:
        path = REVIEW.format(
            location=_resource(location, "accounts"), review_id=_review_id(review_id)
        )
        return self._json(self._send("GET", self.base + path))

    def put_reply(self, location: str, review_id: str, text: str) -> dict[str, Any]:
        path = REPLY.format(
            location=_resource(location, "accounts"), review_id=_review_id(review_id)
        )
        # An upsert: sending it twice leaves one reply.
        return self._json(self._send("PUT", self.base + path, body={"comment": text}, edit=True))

    def delete_reply(self, location: str, review_id: str) -> None:
        path = REPLY.format(
            location=_resource(location, "accounts"), review_id=_review_id(review_id)
        )
        self._send("DELETE", self.base + path, edit=True)

    # --- connection ------------------------------------------------------------------

    def accounts(self, base: str = "") -> list[dict[str, Any]]:
        data = self._json(self._send("GET", (base or ACCOUNTS_API_BASE).rstrip("/") + ACCOUNTS))
        found = data.get("accounts")
        return [a for a in found if isinstance(a, dict)] if isinstance(found, list) else []

    def locations(self, account: str, base: str = "") -> list[dict[str, Any]]:
        path = LOCATIONS.format(account=_resource(account, "accounts"))
        data = self._json(
            self._send(
                "GET",
                (base or INFORMATION_API_BASE).rstrip("/") + path,
                params={"readMask": "name,title", "pageSize": "100"},
            )
        )
        found = data.get("locations")
        return [loc for loc in found if isinstance(loc, dict)] if isinstance(found, list) else []
