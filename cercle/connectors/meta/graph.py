"""The Graph API as Facebook and Instagram both use it: version, proof, usage headers, errors, client.

Every call of either connector goes through `GraphClient.call`: the token in
the `Authorization` header (never in the URL), `appsecret_proof` in the query,
the usage headers reported to the connector, and a failed answer turned into
the connector error its Graph error code means (one table, `ERROR_TABLE`;
README.md in this folder says what each code means for the channel).
https://developers.facebook.com/docs/graph-api/guides/error-handling
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from django.utils import timezone

from cercle.connectors import quota
from cercle.connectors.base import (
    ConnectorError,
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

# The one pinned Graph API version (https://developers.facebook.com/docs/graph-api/changelog).
GRAPH_VERSION = "v21.0"
GRAPH_BASE = "https://graph.facebook.com"
DIALOG_BASE = "https://www.facebook.com"
# https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
OAUTH_ACCESS_TOKEN = "/oauth/access_token"
# https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
OAUTH_DIALOG = "/dialog/oauth"
# https://developers.facebook.com/docs/pages-api/getting-started (the Pages a user manages)
ME_ACCOUNTS = "/me/accounts"


class Meaning(enum.Enum):
    """What a Graph error means for the outbox and the channel's health."""

    TOKEN = "token"  # the token is expired or revoked: the channel needs re-auth
    THROTTLED = "throttled"  # app, Page or account throttling: pause until access is regained
    POLICY_BLOCK = "policy_block"  # the account is blocked from acting for a while: pause 1 h
    PERMISSION = "permission"  # a permission is missing: the action fails, the channel is degraded
    TRANSIENT = "transient"  # Meta's side: retry with backoff
    ITEM = "item"  # about this one item (closed messaging window): fail it, the channel is fine


# The one error table: Graph error code → meaning. Codes not listed are a Rejected action.
ERROR_TABLE: dict[int, Meaning] = {
    102: Meaning.TOKEN,  # API session: the session is invalid
    190: Meaning.TOKEN,  # access token expired, revoked or invalid
    4: Meaning.THROTTLED,  # application request limit reached
    17: Meaning.THROTTLED,  # user request limit reached
    32: Meaning.THROTTLED,  # Page request limit reached
    341: Meaning.THROTTLED,  # application limit reached
    613: Meaning.THROTTLED,  # calls within one hour exceeded a custom rate limit
    **{code: Meaning.THROTTLED for code in range(80001, 80010)},  # business use case throttling
    368: Meaning.POLICY_BLOCK,  # temporarily blocked for policies violations
    3: Meaning.PERMISSION,  # the app lacks the capability
    10: Meaning.PERMISSION,  # permission denied
    **{code: Meaning.PERMISSION for code in range(200, 300)},  # a permission is missing
    1: Meaning.TRANSIENT,  # unknown error, possibly temporary
    2: Meaning.TRANSIENT,  # service temporarily unavailable
}
# (code, subcode) pairs about one message, not the token: sent outside the messaging window
# (Messenger 2018278, Instagram 2534022).
ITEM_SUBCODES: frozenset[tuple[int, int]] = frozenset({(10, 2018278), (10, 2534022)})
# Throttling without an estimate from Meta: its windows roll over one hour.
DEFAULT_THROTTLE_WAIT = timedelta(minutes=15)
POLICY_BLOCK_WAIT = timedelta(hours=1)
USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-business-use-case-usage")
USAGE_KEYS = ("call_count", "total_cputime", "total_time")


def appsecret_proof(access_token: str, app_secret: str) -> str:
    """HMAC-SHA256 of the token keyed by the app secret (checked when the app requires it)."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Usage:
    """What Meta's usage headers say: the highest percentage of any limit, and the wait it announces."""

    percent: int
    regain_minutes: int = 0
    headers: dict[str, Any] = field(default_factory=dict)

    def regain_at(self) -> datetime | None:
        if self.regain_minutes <= 0:
            return None
        return timezone.now() + timedelta(minutes=self.regain_minutes)


def _usage_entries(data: Any) -> list[dict[str, Any]]:
    """`X-App-Usage`/`X-Page-Usage` are one object; `X-Business-Use-Case-Usage` maps ids to lists."""
    if not isinstance(data, dict):
        return []
    if any(key in data for key in USAGE_KEYS):
        return [data]
    listed: list[dict[str, Any]] = []
    for value in data.values():
        if isinstance(value, list):
            listed.extend(entry for entry in value if isinstance(entry, dict))
    return listed


def usage_from_headers(headers: Mapping[str, str]) -> Usage | None:
    """The usage Meta reports on an answer, or None when it says nothing."""
    lowered = {k.lower(): v for k, v in headers.items()}
    seen: dict[str, Any] = {}
    percent = 0
    regain = 0
    for name in USAGE_HEADERS:
        raw = lowered.get(name)
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        entries = _usage_entries(data)
        if not entries:
            continue
        seen[name] = data
        for entry in entries:
            for key in USAGE_KEYS:
                number = entry.get(key)
                if isinstance(number, int | float) and not isinstance(number, bool):
                    percent = max(percent, int(number))
            minutes = entry.get("estimated_time_to_regain_access")
            if isinstance(minutes, int | float) and not isinstance(minutes, bool):
                regain = max(regain, int(minutes))
    if not seen:
        return None
    return Usage(percent=percent, regain_minutes=regain, headers=seen)


def throttled_until(
    headers: Mapping[str, str], default: timedelta = DEFAULT_THROTTLE_WAIT
) -> datetime:
    """When throttling ends: Meta's `estimated_time_to_regain_access`, else Retry-After, else `default`."""
    usage = usage_from_headers(headers)
    regain = usage.regain_at() if usage is not None else None
    return regain or retry_at_from_headers(headers, default=default)


def _graph_error(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def classify_error(response: httpx.Response, label: str = "Meta") -> ConnectorError:
    """The connector error a failed Graph answer means (returned, not raised)."""
    status = response.status_code
    error = _graph_error(response)
    raw_code = error.get("code")
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
    raw_subcode = error.get("error_subcode")
    subcode = raw_subcode if isinstance(raw_subcode, int) else None
    message = str(error.get("message") or response.reason_phrase or "")[:300]
    if code is None:
        detail = f"{label} HTTP {status}: {message}".rstrip(": ")
    else:
        detail = f"{label} #{code}{f'/{subcode}' if subcode else ''}: {message}"
    meaning = ERROR_TABLE.get(code) if code is not None else None
    if code is not None and subcode is not None and (code, subcode) in ITEM_SUBCODES:
        meaning = Meaning.ITEM
    if meaning is Meaning.ITEM:
        return Rejected(detail)
    if meaning is Meaning.TOKEN or (status == 401 and code is None):
        return TokenRevoked(detail)
    if meaning is Meaning.THROTTLED or status == 429:
        return RateLimited(detail, throttled_until(response.headers))
    if meaning is Meaning.POLICY_BLOCK:
        return RateLimited(detail, throttled_until(response.headers, POLICY_BLOCK_WAIT))
    if meaning is Meaning.PERMISSION or (status == 403 and code is None):
        return PermissionDenied(detail)
    if meaning is Meaning.TRANSIENT or error.get("is_transient") is True or status >= 500:
        return TransientError(detail)
    return Rejected(detail)


UsageListener = Callable[[Usage], None]


class GraphClient:
    """Calls of one token against the Graph API (or the simulator's fake of it).

    `label` names the product in error details; `on_usage` hears Meta's usage
    headers on every answer.
    """

    label = "Meta"

    def __init__(
        self,
        http: PlatformHttp,
        *,
        api_base: str = "",
        access_token: str = "",
        app_secret: str = "",
        on_usage: UsageListener | None = None,
    ) -> None:
        self.http = http
        self.base = (api_base or GRAPH_BASE).rstrip("/") + "/" + GRAPH_VERSION
        self.access_token = access_token
        self.app_secret = app_secret
        self.on_usage = on_usage
        self.last_usage: Usage | None = None

    def auth(self, token: str | None = None) -> tuple[dict[str, str], dict[str, str]]:
        """(headers, query) that authenticate a call with `token` (default: the client's)."""
        token = self.access_token if token is None else token
        if not token:
            raise TokenRevoked(f"the {self.label} channel has no access token: reconnect it")
        query: dict[str, str] = {}
        if self.app_secret:
            query["appsecret_proof"] = appsecret_proof(token, self.app_secret)
        return {"Authorization": f"Bearer {token}"}, query

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        authenticated: bool = True,
        token: str | None = None,
    ) -> dict[str, Any]:
        """One request to an absolute Graph URL; the decoded JSON object or a classified error."""
        headers: dict[str, str] = {}
        query: dict[str, Any] = {}
        if authenticated:
            headers, query = self.auth(token)
        query.update(params or {})
        kwargs: dict[str, Any] = {"params": query, "headers": headers}
        if data is not None:
            kwargs["data"] = dict(data)
        if json_body is not None:
            kwargs["json"] = dict(json_body)
        response = self.http.request(method, url, **kwargs)
        usage = usage_from_headers(response.headers)
        self.last_usage = usage
        if usage is not None and self.on_usage is not None:
            self.on_usage(usage)
        return self.decode(response)

    def decode(self, response: httpx.Response) -> dict[str, Any]:
        return decode(response, self.label)


def decode(response: httpx.Response, label: str = "Meta") -> dict[str, Any]:
    """The JSON object of a successful Graph answer, or raise what its error means."""
    if response.status_code >= 400:
        raise classify_error(response, label)
    try:
        payload = response.json()
    except ValueError as exc:
        raise TransientError(f"{label} answered non-JSON ({response.status_code})") from exc
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        raise classify_error(response, label)
    if isinstance(payload, bool):
        # Some write edges answer a bare `true`.
        return {"success": payload}
    if not isinstance(payload, dict):
        raise TransientError(f"{label} answered an unexpected JSON value")
    return payload


def expires_at(answer: Mapping[str, Any]) -> datetime | None:
    """When a token of an `/oauth/access_token` answer expires (`expires_in` seconds), if it says."""
    expires_in = answer.get("expires_in")
    if isinstance(expires_in, int) and not isinstance(expires_in, bool) and expires_in > 0:
        return timezone.now() + timedelta(seconds=expires_in)
    return None


# The window Meta's usage headers describe: percentages of the app's, Page's or account's limits.
USAGE_WINDOW = "graph_usage"
USAGE_PERIOD = timedelta(hours=1)


def usage_recorder(channel: Channel) -> UsageListener:
    """A listener that keeps Meta's reported usage as the channel's `graph_usage` quota window."""

    def record(usage: Usage) -> None:
        resets_at = usage.regain_at() or timezone.now() + USAGE_PERIOD
        quota.observe(channel, USAGE_WINDOW, limit=100, used=usage.percent, resets_at=resets_at)

    return record
