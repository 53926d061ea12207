"""The Discourse REST API, as Cercle uses it: one constant per endpoint, errors classified.

Every forum is its own instance: the base URL, the API key and the API
username come from the channel (typed in the "Add channel" form). Every call
carries `Api-Key` and `Api-Username` headers (never in the URL), and goes
through `DiscourseClient._call`, which turns Discourse's answers into the
connector errors the sender understands (README.md, "Errors").
Docs: https://docs.discourse.org/ and https://meta.discourse.org/t/discourse-rest-api-documentation/22706
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import httpx
from django.utils import timezone

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

# https://docs.discourse.org/#tag/Posts/operation/createTopicPostPM (POST: a reply or a PM answer)
# and https://docs.discourse.org/#tag/Posts/operation/listPosts (GET: latest posts)
POSTS = "/posts.json"
# PostsController#latest for personal messages (staff): `{"private_posts": [...]}`
PRIVATE_POSTS = "/private-posts.json"
# https://docs.discourse.org/#tag/Posts/operation/getPost (GET) and deletePost (DELETE)
POST = "/posts/{post_id}.json"
# PostsController#unhide (staff): `PUT /posts/:post_id/unhide`
POST_UNHIDE = "/posts/{post_id}/unhide"
# https://docs.discourse.org/#tag/Posts/operation/performPostAction (like, flag)
POST_ACTIONS = "/post_actions.json"
# https://docs.discourse.org/#tag/Admin/operation/silenceUser
SILENCE_USER = "/admin/users/{user_id}/silence.json"
# https://docs.discourse.org/#tag/Users/operation/getUser
USER = "/u/{username}.json"
# https://docs.discourse.org/#tag/Topics/operation/getTopic (title, slug, created_at)
TOPIC = "/t/{topic_id}.json"

# Post action types (PostActionType.types): like, and the flag staff use to hide a post.
LIKE = 2
FLAG_INAPPROPRIATE = 4
# Discourse answers 429 with `extras.wait_seconds`; without it, wait a minute.
DEFAULT_WAIT = timedelta(seconds=60)
# The invalid-key answer is a 403 whose message says so (no 401 on the Api-Key scheme).
INVALID_KEY_MARKERS = ("api username or key is invalid", "invalid api key", "bad api key")
DUPLICATE_MARKERS = ("too similar", "already performed", "already liked", "already_performed")


class Duplicate(Rejected):
    """Discourse refused an action it has seen already (same text just posted, post already liked)."""


def _errors(data: Any) -> str:
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list):
            return "; ".join(str(e) for e in errors if isinstance(e, str | int))[:300]
        if isinstance(data.get("error"), str):
            return str(data["error"])[:300]
    return ""


def classify(response: httpx.Response) -> None:
    """Raise the connector error Discourse's answer means; return when it is a success."""
    status = response.status_code
    if status < 400:
        return
    try:
        data: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    detail = _errors(data) or response.text[:300] or f"HTTP {status}"
    error_type = str(data.get("error_type", "")) if isinstance(data, dict) else ""
    lowered = detail.lower()
    if status == 429:
        extras = data.get("extras") if isinstance(data, dict) else None
        wait = extras.get("wait_seconds") if isinstance(extras, dict) else None
        if isinstance(wait, int | float) and not isinstance(wait, bool) and 0 <= wait < 86_400:
            retry_at = timezone.now() + timedelta(seconds=float(wait))
        else:
            retry_at = retry_at_from_headers(response.headers, DEFAULT_WAIT)
        raise RateLimited(f"Discourse rate limit: {detail}", retry_at)
    if status == 401 or (status == 403 and any(m in lowered for m in INVALID_KEY_MARKERS)):
        raise TokenRevoked(f"Discourse refused the API key: {detail}")
    if any(m in lowered for m in DUPLICATE_MARKERS) or error_type == "already_performed":
        raise Duplicate(detail)
    if status == 403:
        raise PermissionDenied(f"Discourse refused: {detail}")
    if status >= 500:
        raise TransientError(f"Discourse error {status}: {detail}")
    raise Rejected(f"Discourse refused the request ({status}): {detail}")


def _number(value: str, what: str) -> int:
    """A Discourse id we stored, as the number its API expects."""
    if not value.isdigit() or len(value) > 20:
        raise Rejected(f"not a Discourse {what} id: {value[:40]!r}")
    return int(value)


def _segment(value: str) -> str:
    """A path segment from an id we stored: digits or a username, nothing that changes the path."""
    if not value or not all(c.isalnum() or c in "-_." for c in value) or value in {".", ".."}:
        raise Rejected(f"not a Discourse id: {value[:40]!r}")
    return value


class DiscourseClient:
    """Calls of one forum's API key, as its API username."""

    def __init__(self, http: PlatformHttp, *, site: str, api_key: str, api_username: str) -> None:
        if not site:
            raise Rejected("the channel has no forum URL")
        self.http = http
        self.site = site.rstrip("/")
        self.api_key = api_key
        self.api_username = api_username

    def _send(
        self,
        method: str,
        template: str,
        *,
        path_args: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        path = template.format(**{k: _segment(v) for k, v in (path_args or {}).items()})
        kwargs: dict[str, Any] = {
            "headers": {
                "Api-Key": self.api_key,
                "Api-Username": self.api_username,
                "Accept": "application/json",
            }
        }
        if params:
            kwargs["params"] = dict(params)
        if body is not None:
            kwargs["json"] = dict(body)
        try:
            response = self.http.request(method, self.site + path, **kwargs)
        except EgressRefused as exc:
            # A forum on a private network must be allow-listed by the operator.
            raise PermissionDenied(
                f"{exc} (CERCLE_EGRESS_ALLOW_HOSTS lists allowed hosts)"
            ) from exc
        classify(response)
        return response

    def _call(self, method: str, template: str, **kwargs: Any) -> dict[str, Any]:
        response = self._send(method, template, **kwargs)
        if not response.content.strip():
            return {}
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TransientError("Discourse answered with something that is not JSON") from exc
        return data if isinstance(data, dict) else {}

    # --- reads -------------------------------------------------------------------

    def user(self, username: str) -> dict[str, Any]:
        user = self._call("GET", USER, path_args={"username": username}).get("user")
        if not isinstance(user, dict):
            raise TransientError("Discourse answered /u/{username}.json without a user")
        return user

    def topic(self, topic_id: str) -> dict[str, Any]:
        return self._call("GET", TOPIC, path_args={"topic_id": topic_id})

    def post(self, post_id: str) -> dict[str, Any]:
        return self._call("GET", POST, path_args={"post_id": post_id})

    def latest_page(self, before: str = "") -> bytes:
        """The forum's latest public posts (`{"latest_posts": [...]}`), raw bytes as Discourse sent them."""
        params = {"before": before} if before else None
        return self._send("GET", POSTS, params=params).content

    def latest_posts(self, *, private: bool = False) -> list[dict[str, Any]]:
        """The latest public posts, or the latest posts in personal messages."""
        if private:
            posts = self._call("GET", PRIVATE_POSTS).get("private_posts")
        else:
            posts = self._call("GET", POSTS).get("latest_posts")
        return [p for p in posts if isinstance(p, dict)] if isinstance(posts, list) else []

    # --- writes ------------------------------------------------------------------

    def create_post(
        self, topic_id: str, raw: str, reply_to_post_number: int | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"topic_id": _number(topic_id, "topic"), "raw": raw}
        if reply_to_post_number:
            body["reply_to_post_number"] = reply_to_post_number
        return self._call("POST", POSTS, body=body)

    def post_action(self, post_id: str, action_type: int, **extra: Any) -> dict[str, Any]:
        body = {"id": _number(post_id, "post"), "post_action_type_id": action_type, **extra}
        return self._call("POST", POST_ACTIONS, body=body)

    def unhide(self, post_id: str) -> dict[str, Any]:
        return self._call("PUT", POST_UNHIDE, path_args={"post_id": post_id})

    def delete_post(self, post_id: str) -> dict[str, Any]:
        return self._call("DELETE", POST, path_args={"post_id": post_id})

    def silence(self, user_id: str, reason: str) -> dict[str, Any]:
        return self._call(
            "PUT", SILENCE_USER, path_args={"user_id": user_id}, body={"reason": reason}
        )
