"""HTTP client of the Instagram Graph API (Instagram API with Facebook Login), pinned to one version.

One constant per endpoint, each with a link to Meta's documentation. Every
call goes through `PlatformHttp` (timeouts, egress guard) and every answer
through `check`, which turns Graph API error codes into connector errors and
reads the usage headers. Nothing here writes rows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from django.utils import timezone

from ..base import (
    PermissionDenied,
    RateLimited,
    Rejected,
    TokenRevoked,
    TransientError,
)
from ..http import PlatformHttp
from ..ratelimit import retry_at_from_headers

GRAPH_VERSION = "v21.0"
DEFAULT_API_BASE = "https://graph.facebook.com"
DEFAULT_DIALOG_BASE = "https://www.facebook.com"

# --- endpoints (paths below {api_base}/{GRAPH_VERSION}) ---------------------------
# https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies
COMMENT_REPLIES = "/{comment_id}/replies"  # POST message=…: reply; GET: list replies (reconcile)
# https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment
COMMENT = "/{comment_id}"  # POST hide=true|false; DELETE; GET fields=…
# https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-media/comments
MEDIA_COMMENTS = "/{media_id}/comments"  # GET: comments of one media (poll catch-up)
# https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
USER_MEDIA = "/{ig_user_id}/media"  # GET: the account's recent media (poll catch-up)
# https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user
# (also `mentioned_comment` / `mentioned_media` field expansions, to reconcile mention replies)
USER = "/{ig_user_id}"  # GET fields=id,username: test the connection
# https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/tags
USER_TAGS = "/{ig_user_id}/tags"  # GET: media other accounts tagged the brand in (poll)
# https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/mentions
USER_MENTIONS = "/{ig_user_id}/mentions"  # POST media_id, comment_id?, message: answer a mention
# https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message
# https://developers.facebook.com/docs/messenger-platform/instagram/features/private-replies
MESSAGES = "/{ig_user_id}/messages"  # POST: DM or private reply (recipient.comment_id)
# https://developers.facebook.com/docs/messenger-platform/instagram/features/conversation-api
CONVERSATIONS = "/{ig_user_id}/conversations"  # GET platform=instagram&user_id=…: reconcile DMs
# https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
OAUTH_ACCESS_TOKEN = "/oauth/access_token"  # GET: code → token; fb_exchange_token → long-lived
# https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login/business-login-for-instagram
ME_ACCOUNTS = "/me/accounts"  # GET: the Pages the user manages, with their linked IG account
# https://developers.facebook.com/docs/facebook-login/manually-build-a-login-flow
OAUTH_DIALOG = "/dialog/oauth"  # browser: the consent page (on www.facebook.com)

COMMENT_FIELDS = "id,text,timestamp,username,from,hidden,parent_id"
MEDIA_FIELDS = (
    "id,caption,permalink,timestamp,media_product_type,thumbnail_url,media_url,comments_count"
)
TAG_FIELDS = "id,caption,permalink,timestamp,username,media_type"

# Graph API error codes → what they mean for the outbox and the channel.
# https://developers.facebook.com/docs/graph-api/guides/error-handling
TOKEN_CODES = frozenset({190, 102})  # expired/revoked/invalid token, session invalid
RATE_CODES = frozenset({4, 17, 32, 613, 80002})  # app, user, page, custom, Instagram BUC throttling
PERMISSION_CODES = frozenset({10, *range(200, 300)})
TRANSIENT_CODES = frozenset({1, 2})  # unknown error, service temporarily unavailable
POLICY_BLOCK_CODE = 368  # temporarily blocked for policy violations
# Code 10 with these subcodes is about one message, not the token's permissions:
# 2534022 = sent outside the allowed messaging window.
ITEM_PERMISSION_SUBCODES = frozenset({2534022})
DEFAULT_RATE_WAIT = timedelta(minutes=15)
POLICY_BLOCK_WAIT = timedelta(hours=1)
SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
USAGE_HEADERS = ("x-business-use-case-usage", "x-app-usage")


def appsecret_proof(access_token: str, app_secret: str) -> str:
    """HMAC-SHA256 of the token keyed with the app secret, which Meta checks when the app requires it."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def usage_percent(headers: Mapping[str, str]) -> tuple[int, int]:
    """(highest usage percentage, minutes to regain access) from Meta's usage headers, or (0, 0).

    `X-App-Usage` is {"call_count", "total_time", "total_cputime"} (percentages);
    `X-Business-Use-Case-Usage` maps a business id to a list of such objects with
    `estimated_time_to_regain_access` (minutes) and a `type` (e.g. "instagram").
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    highest = 0
    regain = 0
    for name in USAGE_HEADERS:
        value = lowered.get(name)
        if not value:
            continue
        try:
            data = json.loads(value)
        except ValueError:
            continue
        entries: list[Any] = []
        if isinstance(data, dict) and any(k in data for k in ("call_count", "total_time")):
            entries = [data]
        elif isinstance(data, dict):
            for listed in data.values():
                if isinstance(listed, list):
                    entries.extend(listed)
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            for key in ("call_count", "total_time", "total_cputime"):
                number = entry.get(key)
                if isinstance(number, int | float):
                    highest = max(highest, int(number))
            minutes = entry.get("estimated_time_to_regain_access")
            if isinstance(minutes, int | float):
                regain = max(regain, int(minutes))
    return highest, regain


def _graph_error(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def rate_limit_retry_at(
    response: httpx.Response, default: timedelta = DEFAULT_RATE_WAIT
) -> datetime:
    """When throttling ends: Meta's `estimated_time_to_regain_access`, else Retry-After, else `default`."""
    _highest, minutes = usage_percent(response.headers)
    if minutes > 0:
        return timezone.now() + timedelta(minutes=minutes)
    return retry_at_from_headers(response.headers, default=default)


def check(response: httpx.Response) -> dict[str, Any]:
    """The JSON of a successful answer, or the connector error its Graph API error code means."""
    status = response.status_code
    error = _graph_error(response)
    code = error.get("code")
    subcode = error.get("error_subcode")
    message = str(error.get("message") or response.reason_phrase or "")[:300]
    detail = (
        f"Instagram error {code}: {message}" if code is not None else f"Instagram HTTP {status}"
    )
    if status == 429 or code in RATE_CODES:
        raise RateLimited(detail, rate_limit_retry_at(response))
    if code == POLICY_BLOCK_CODE:
        raise RateLimited(detail, rate_limit_retry_at(response, default=POLICY_BLOCK_WAIT))
    if code in TOKEN_CODES or (status == 401 and code is None):
        raise TokenRevoked(detail)
    if code in PERMISSION_CODES:
        if subcode in ITEM_PERMISSION_SUBCODES:
            raise Rejected(detail)
        raise PermissionDenied(detail)
    if status == 403 and code is None:
        raise PermissionDenied(detail)
    if code in TRANSIENT_CODES or error.get("is_transient") is True or status >= 500:
        raise TransientError(detail)
    if status >= 400 or error:
        raise Rejected(detail)
    try:
        data = response.json()
    except ValueError as exc:
        raise TransientError(f"Instagram answered non-JSON ({status})") from exc
    if isinstance(data, bool):
        # Some write edges answer a bare `true`.
        return {"success": data}
    if not isinstance(data, dict):
        raise TransientError("Instagram answered an unexpected JSON value")
    return data


def _segment(value: str) -> str:
    """A platform id as one URL path segment: ids are numeric, but never let one escape the path."""
    if not value:
        raise Rejected("missing Instagram id")
    return quote(value, safe="")


class InstagramClient:
    """Authenticated calls to the Graph API for one channel (one Instagram professional account)."""

    def __init__(
        self,
        http: PlatformHttp,
        *,
        api_base: str = "",
        access_token: str = "",
        app_secret: str = "",
    ) -> None:
        self.http = http
        self.base = (api_base or DEFAULT_API_BASE).rstrip("/") + "/" + GRAPH_VERSION
        self.access_token = access_token
        self.app_secret = app_secret
        self.last_usage = 0  # highest usage percentage Meta reported on the last answer

    # --- plumbing ------------------------------------------------------------

    def url(self, template: str, **ids: str) -> str:
        """The absolute URL of an endpoint constant with its ids filled in."""
        return self.base + template.format(**{k: _segment(v) for k, v in ids.items()})

    def _auth(self) -> tuple[dict[str, str], dict[str, str]]:
        if not self.access_token:
            raise TokenRevoked("the Instagram channel has no access token")
        headers = {"Authorization": f"Bearer {self.access_token}"}
        params: dict[str, str] = {}
        if self.app_secret:
            params["appsecret_proof"] = appsecret_proof(self.access_token, self.app_secret)
        return headers, params

    def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One authenticated request; returns the JSON answer or raises a connector error."""
        headers, auth_params = self._auth()
        response = self.http.request(
            method,
            url,
            params={**auth_params, **(params or {})},
            data=dict(data) if data is not None else None,
            json=dict(json_body) if json_body is not None else None,
            headers=headers,
        )
        self.last_usage, _minutes = usage_percent(response.headers)
        return check(response)

    # --- comments --------------------------------------------------------------

    def reply_to_comment(self, comment_id: str, text: str) -> dict[str, Any]:
        """POST /{comment-id}/replies → {"id": new comment id}."""
        return self.call(
            "POST", self.url(COMMENT_REPLIES, comment_id=comment_id), data={"message": text}
        )

    def list_replies(self, comment_id: str) -> list[dict[str, Any]]:
        """GET /{comment-id}/replies: the replies under a top-level comment (first page)."""
        data = self.call(
            "GET",
            self.url(COMMENT_REPLIES, comment_id=comment_id),
            params={"fields": COMMENT_FIELDS, "limit": "50"},
        )
        return _data_list(data)

    def get_comment(self, comment_id: str, fields: str = COMMENT_FIELDS) -> dict[str, Any]:
        """GET /{comment-id}?fields=…"""
        return self.call("GET", self.url(COMMENT, comment_id=comment_id), params={"fields": fields})

    def set_hidden(self, comment_id: str, hidden: bool) -> dict[str, Any]:
        """POST /{comment-id} hide=true|false → {"success": true}."""
        return self.call(
            "POST",
            self.url(COMMENT, comment_id=comment_id),
            data={"hide": "true" if hidden else "false"},
        )

    def delete_comment(self, comment_id: str) -> dict[str, Any]:
        """DELETE /{comment-id} → {"success": true}."""
        return self.call("DELETE", self.url(COMMENT, comment_id=comment_id))

    # --- messaging --------------------------------------------------------------

    def send_message(
        self, ig_user_id: str, recipient: Mapping[str, str], text: str
    ) -> dict[str, Any]:
        """POST /{ig-user-id}/messages → {"recipient_id", "message_id"}.

        `recipient` is {"id": IGSID} for a DM or {"comment_id": …} for a private reply.
        """
        return self.call(
            "POST",
            self.url(MESSAGES, ig_user_id=ig_user_id),
            json_body={"recipient": dict(recipient), "message": {"text": text}},
        )

    def conversation_messages(self, ig_user_id: str, user_id: str) -> list[dict[str, Any]]:
        """The latest messages of our conversation with `user_id` (IGSID), newest first."""
        data = self.call(
            "GET",
            self.url(CONVERSATIONS, ig_user_id=ig_user_id),
            params={
                "platform": "instagram",
                "user_id": user_id,
                "fields": "messages.limit(20){id,message,from,created_time}",
            },
        )
        messages: list[dict[str, Any]] = []
        for conversation in _data_list(data):
            block = conversation.get("messages")
            if isinstance(block, dict):
                messages.extend(_data_list(block))
        return messages

    # --- polling ----------------------------------------------------------------

    def list_media(self, ig_user_id: str, limit: int) -> dict[str, Any]:
        """GET /{ig-user-id}/media: the account's most recent media (raw page)."""
        return self.call(
            "GET",
            self.url(USER_MEDIA, ig_user_id=ig_user_id),
            params={"fields": MEDIA_FIELDS, "limit": str(limit)},
        )

    def list_comments(self, media_id: str, limit: int = 50) -> dict[str, Any]:
        """GET /{media-id}/comments with each comment's replies expanded (raw page)."""
        return self.call(
            "GET",
            self.url(MEDIA_COMMENTS, media_id=media_id),
            params={"fields": f"{COMMENT_FIELDS},replies{{{COMMENT_FIELDS}}}", "limit": str(limit)},
        )

    def list_tags(self, ig_user_id: str, limit: int) -> dict[str, Any]:
        """GET /{ig-user-id}/tags: the latest media the brand was tagged in (raw page)."""
        return self.call(
            "GET",
            self.url(USER_TAGS, ig_user_id=ig_user_id),
            params={"fields": TAG_FIELDS, "limit": str(limit)},
        )

    # --- mentions (on other accounts' media) ----------------------------------------

    def reply_to_mention(
        self, ig_user_id: str, media_id: str, comment_id: str, text: str
    ) -> dict[str, Any]:
        """POST /{ig-user-id}/mentions → {"id": new comment id} under the mentioning comment or caption."""
        data = {"media_id": media_id, "message": text}
        if comment_id:
            data["comment_id"] = comment_id
        return self.call("POST", self.url(USER_MENTIONS, ig_user_id=ig_user_id), data=data)

    def mention_replies(
        self, ig_user_id: str, media_id: str, comment_id: str
    ) -> list[dict[str, Any]]:
        """The replies under a mentioning comment (or the comments of a mentioning caption's media)."""
        for value in (media_id, comment_id):
            # These ids are spliced into a field expansion: never let one close it.
            if value and not SAFE_ID.fullmatch(value):
                raise Rejected(f"not an Instagram id: {value[:40]!r}")
        if comment_id:
            field = "mentioned_comment"
            fields = f"mentioned_comment.comment_id({comment_id}){{id,replies{{id,text,username,timestamp}}}}"
            edge = "replies"
        else:
            field = "mentioned_media"
            fields = (
                f"mentioned_media.media_id({media_id}){{id,comments{{id,text,username,timestamp}}}}"
            )
            edge = "comments"
        data = self.call("GET", self.url(USER, ig_user_id=ig_user_id), params={"fields": fields})
        node = data.get(field)
        block = node.get(edge) if isinstance(node, dict) else None
        return _data_list(block) if isinstance(block, dict) else []

    def mentioned(self, ig_user_id: str, media_id: str, comment_id: str) -> dict[str, Any]:
        """The comment (or caption's media) that @mentioned the account: text, author, time, link.

        `GET /{ig-user-id}?fields=mentioned_comment.comment_id(…){…}` or
        `mentioned_media.media_id(…){…}` (see USER); {} when Meta returns nothing.
        """
        for value in (media_id, comment_id):
            # These ids are spliced into a field expansion: never let one close it.
            if value and not SAFE_ID.fullmatch(value):
                raise Rejected(f"not an Instagram id: {value[:40]!r}")
        if comment_id:
            field = "mentioned_comment"
            fields = f"{field}.comment_id({comment_id}){{id,text,timestamp,username,media{{id,permalink}}}}"
        else:
            field = "mentioned_media"
            fields = f"{field}.media_id({media_id}){{id,caption,timestamp,username,permalink}}"
        data = self.call("GET", self.url(USER, ig_user_id=ig_user_id), params={"fields": fields})
        node = data.get(field)
        return node if isinstance(node, dict) else {}

    def get_user(self, ig_user_id: str) -> dict[str, Any]:
        """GET /{ig-user-id}?fields=id,username,name."""
        return self.call(
            "GET", self.url(USER, ig_user_id=ig_user_id), params={"fields": "id,username,name"}
        )

    # --- OAuth (no channel token yet: app credentials) -------------------------------

    def oauth_get(self, params: Mapping[str, str]) -> dict[str, Any]:
        """GET /oauth/access_token with app credentials in the query (Meta's documented form)."""
        response = self.http.get(self.base + OAUTH_ACCESS_TOKEN, params=dict(params))
        return check(response)

    def pages(self, user_token: str) -> list[dict[str, Any]]:
        """GET /me/accounts: Pages the user manages with their tokens and linked Instagram account."""
        params = {"fields": "id,name,access_token,instagram_business_account{id,username}"}
        if self.app_secret:
            params["appsecret_proof"] = appsecret_proof(user_token, self.app_secret)
        response = self.http.get(
            self.base + ME_ACCOUNTS,
            params=params,
            headers={"Authorization": f"Bearer {user_token}"},
        )
        return _data_list(check(response))


def dialog_url(dialog_base: str, params: Mapping[str, str]) -> str:
    """The browser URL of Facebook Login's consent dialog."""
    base = (dialog_base or DEFAULT_DIALOG_BASE).rstrip("/") + "/" + GRAPH_VERSION + OAUTH_DIALOG
    return base + "?" + urlencode(dict(params))


def _data_list(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    listed = data.get("data", [])
    if not isinstance(listed, list):
        raise TransientError("Instagram answered a list without 'data'")
    return [item for item in listed if isinstance(item, dict)]
