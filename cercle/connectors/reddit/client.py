"""The Reddit API, as Cercle uses it: one constant per endpoint, the User-Agent, limits, errors classified.

Reddit refuses (or throttles hard) clients without a unique, descriptive
`User-Agent` (`<platform>:<app id>:<version> (by /u/<username>)`): every call
sends one. Every call counts against the app's window (`X-Ratelimit-Used`,
`-Remaining`, `-Reset` are believed after each answer); `RedditClient._send`
turns Reddit's answers into the connector errors the sender and the poller
understand (README.md, "Errors").
Docs: https://www.reddit.com/dev/api/ and https://github.com/reddit-archive/reddit/wiki/API
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
from django.utils import timezone

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

DEFAULT_API_BASE = "https://oauth.reddit.com"
DEFAULT_AUTH_BASE = "https://www.reddit.com"
# https://github.com/reddit-archive/reddit/wiki/OAuth2 (authorization code, refresh, password grant)
AUTHORIZE = "/api/v1/authorize"
ACCESS_TOKEN = "/api/v1/access_token"
# https://www.reddit.com/dev/api/#GET_api_v1_me
ME = "/api/v1/me"
# https://www.reddit.com/dev/api/#GET_message_{where} (comment and post replies, mentions, messages)
INBOX = "/message/inbox"
# https://www.reddit.com/dev/api/#GET_comments_{article} (the subreddit's newest comments)
SUBREDDIT_COMMENTS = "/r/{subreddit}/comments"
# https://www.reddit.com/dev/api/#GET_user_{username}_{where} (our own comments, to reconcile)
USER_COMMENTS = "/user/{username}/comments"
# https://www.reddit.com/dev/api/#GET_message_{where} (our sent messages, to reconcile)
SENT = "/message/sent"
# Site-wide search of posts (listening): `q`, `sort=new`, `type=link`.
SEARCH = "/search"
# https://www.reddit.com/dev/api/#GET_api_info
INFO = "/api/info"
MAX_INFO_IDS = 100  # things per /api/info call
# https://www.reddit.com/dev/api/#POST_api_comment (a reply to a comment, a post or a message)
COMMENT = "/api/comment"
# https://www.reddit.com/dev/api/#POST_api_remove and #POST_api_approve (moderator)
REMOVE = "/api/remove"
APPROVE = "/api/approve"
# https://www.reddit.com/dev/api/#POST_r_{subreddit}_api_friend (type=banned, moderator)
FRIEND = "/r/{subreddit}/api/friend"

SCOPES = ("identity", "read", "history", "privatemessages", "submit", "modposts", "modcontributors")
PAGE_SIZE = 100
# Free-tier OAuth clients: 100 queries per minute, averaged over a 10-minute window
# (the headers count 600 per window).
API_WINDOW = quota.Window(
    "api", 600, timedelta(minutes=10), message="Reddit: %(limit)d requests per 10 minutes spent"
)
_WAIT = re.compile(r"(\d+)\s*(second|minute|hour)", re.IGNORECASE)


def user_agent(client_id: str, username: str) -> str:
    """Reddit's required form: `<platform>:<app id>:<version> (by /u/<username>)`."""
    return f"server:cercle-{client_id or 'app'}:0.1 (by /u/{username or 'unknown'})"


def _wait(text: str) -> timedelta | None:
    """`you are doing that too much. try again in 5 minutes.` → 5 minutes."""
    match = _WAIT.search(text)
    if not match:
        return None
    number, unit = int(match.group(1)), match.group(2).lower()
    return timedelta(**{f"{unit}s": number})


def classify(response: httpx.Response) -> None:
    """Raise the connector error Reddit's answer means; return when it is a success."""
    status = response.status_code
    if status < 400:
        return
    try:
        data: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    detail = (
        str(data.get("message") or data.get("error") or "")
        if isinstance(data, dict)
        else response.text[:300]
    ) or f"HTTP {status}"
    if status == 429:
        raise RateLimited(
            f"Reddit rate limit: {detail}",
            retry_at_from_headers(response.headers, timedelta(minutes=1)),
        )
    if status == 401:
        raise TokenRevoked(f"Reddit refused the token: {detail}")
    if status == 403:
        raise PermissionDenied(f"Reddit refused: {detail}")
    if status >= 500:
        raise TransientError(f"Reddit error {status}: {detail}")
    raise Rejected(f"Reddit refused the request ({status}): {detail}")


def json_errors(answer: dict[str, Any]) -> None:
    """`{"json": {"errors": [["RATELIMIT", "…try again in 5 minutes.", "ratelimit"]]}}` → the error."""
    wrapper = answer.get("json")
    errors = wrapper.get("errors") if isinstance(wrapper, dict) else None
    if not isinstance(errors, list) or not errors:
        return
    first = errors[0] if isinstance(errors[0], list) else [str(errors[0])]
    code = str(first[0]) if first else ""
    text = ": ".join(str(part) for part in first[:2])[:300]
    if code == "RATELIMIT":
        wait = _wait(text) or timedelta(minutes=1)
        raise RateLimited(f"Reddit: {text}", timezone.now() + wait)
    if code in {"USER_REQUIRED", "NOT_AUTHORIZED"}:
        raise PermissionDenied(f"Reddit: {text}")
    raise Rejected(f"Reddit: {text}")


def _segment(value: str) -> str:
    """A subreddit or user name in a path: letters, digits, `_` and `-` only."""
    text = str(value)
    if not text or len(text) > 64 or not all(c.isalnum() or c in "_-" for c in text):
        raise Rejected(f"not a Reddit name: {text[:40]!r}")
    return text


def fullname(value: str) -> str:
    """A thing's fullname (`t1_abc`, `t3_…`, `t4_…`) as Reddit's forms expect it."""
    text = str(value)
    if len(text) < 4 or text[0] != "t" or text[2] != "_" or not text[3:].isalnum():
        raise Rejected(f"not a Reddit fullname: {text[:40]!r}")
    return text


class RedditClient:
    """Calls of one channel's token, counted in its window."""

    def __init__(
        self,
        http: PlatformHttp,
        *,
        api_base: str,
        access_token: str,
        user_agent: str,
        channel: Channel | None = None,
    ) -> None:
        self.http = http
        self.base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.access_token = access_token
        self.user_agent = user_agent
        self.channel = channel

    def _observe(self, response: httpx.Response) -> None:
        headers = response.headers
        used, remaining, reset = (
            headers.get("x-ratelimit-used", ""),
            headers.get("x-ratelimit-remaining", ""),
            headers.get("x-ratelimit-reset", ""),
        )
        if self.channel is None or not (used and remaining and reset):
            return
        try:
            used_n, remaining_n, reset_s = (
                int(float(used)),
                int(float(remaining)),
                int(float(reset)),
            )
        except ValueError:
            return
        quota.observe(
            self.channel,
            API_WINDOW.name,
            limit=used_n + remaining_n,
            used=used_n,
            resets_at=timezone.now() + timedelta(seconds=reset_s),
        )

    def _send(
        self,
        method: str,
        template: str,
        *,
        path_args: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        if self.channel is not None:
            # The window as Reddit's headers last described it (its size is the app's).
            quota.take_observed(
                self.channel,
                API_WINDOW.name,
                message=str(API_WINDOW.message) % {"limit": API_WINDOW.limit},
            )
        path = template.format(**{k: _segment(v) for k, v in (path_args or {}).items()})
        query = {"raw_json": "1", **(params or {})}
        kwargs: dict[str, Any] = {
            "params": query,
            "headers": {
                "Authorization": f"bearer {self.access_token}",
                "User-Agent": self.user_agent,
            },
        }
        if form is not None:
            kwargs["data"] = dict(form)
        try:
            response = self.http.request(method, self.base + path, **kwargs)
        except EgressRefused as exc:
            raise PermissionDenied(
                f"{exc} (CERCLE_EGRESS_ALLOW_HOSTS lists allowed hosts)"
            ) from exc
        self._observe(response)
        classify(response)
        return response

    def _call(self, method: str, template: str, **kwargs: Any) -> dict[str, Any]:
        response = self._send(method, template, **kwargs)
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TransientError("Reddit answered with something that is not JSON") from exc
        if not isinstance(data, dict):
            raise TransientError("Reddit answered with JSON that is not an object")
        json_errors(data)
        return data

    # --- reads ---------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        me = self._call("GET", ME)
        if not me.get("name"):
            raise TransientError("Reddit answered /api/v1/me without a name")
        return me

    def inbox(self, before: str = "") -> bytes:
        params = {"limit": str(PAGE_SIZE)}
        if before:
            params["before"] = fullname(before)
        return self._send("GET", INBOX, params=params).content

    def subreddit_comments(self, subreddit: str, before: str = "") -> bytes:
        params = {"limit": str(PAGE_SIZE)}
        if before:
            params["before"] = fullname(before)
        return self._send(
            "GET", SUBREDDIT_COMMENTS, path_args={"subreddit": subreddit}, params=params
        ).content

    def search(self, query: str) -> dict[str, Any]:
        """`GET /search?sort=new`: the newest posts matching `query` across Reddit."""
        params = {"q": query, "sort": "new", "type": "link", "limit": str(PAGE_SIZE)}
        return self._call("GET", SEARCH, params=params)

    def user_comments(self, username: str) -> dict[str, Any]:
        return self._call(
            "GET",
            USER_COMMENTS,
            path_args={"username": username},
            params={"limit": "100", "sort": "new"},
        )

    def sent(self) -> dict[str, Any]:
        return self._call("GET", SENT, params={"limit": "100"})

    def info(self, thing: str) -> dict[str, Any]:
        return self._call("GET", INFO, params={"id": fullname(thing)})

    def infos(self, things: list[str]) -> dict[str, Any]:
        """Up to 100 things by fullname (`/api/info?id=t3_a,t3_b`): a Listing; a deleted one is absent."""
        names = ",".join(fullname(t) for t in things[:MAX_INFO_IDS])
        return self._call("GET", INFO, params={"id": names, "raw_json": "1"})

    # --- writes ----------------------------------------------------------------------

    def comment(self, thing: str, text: str) -> dict[str, Any]:
        return self._call(
            "POST", COMMENT, form={"api_type": "json", "thing_id": fullname(thing), "text": text}
        )

    def remove(self, thing: str) -> None:
        self._call("POST", REMOVE, form={"id": fullname(thing), "spam": "false"})

    def approve(self, thing: str) -> None:
        self._call("POST", APPROVE, form={"id": fullname(thing)})

    def ban(self, subreddit: str, username: str, note: str) -> None:
        self._call(
            "POST",
            FRIEND,
            path_args={"subreddit": subreddit},
            form={
                "api_type": "json",
                "name": _segment(username),
                "type": "banned",
                "note": note,
            },
        )


def token_request(
    http: PlatformHttp,
    *,
    auth_base: str,
    client_id: str,
    client_secret: str,
    user_agent: str,
    form: Mapping[str, str],
) -> dict[str, Any]:
    """POST the token endpoint with HTTP Basic (client id, secret): code, refresh or password grant."""
    url = (auth_base or DEFAULT_AUTH_BASE).rstrip("/") + ACCESS_TOKEN
    response = http.request(
        "POST",
        url,
        data=dict(form),
        auth=httpx.BasicAuth(client_id, client_secret),
        headers={"User-Agent": user_agent},
        write=False,  # a grant that timed out can be asked again
    )
    if response.status_code in (400, 401):
        raise TokenRevoked(f"Reddit refused the grant (HTTP {response.status_code})")
    classify(response)
    try:
        answer = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TransientError("Reddit's token answer is not JSON") from exc
    if not isinstance(answer, dict):
        raise TransientError("Reddit's token answer is not an object")
    if answer.get("error"):
        # invalid_grant (revoked refresh token, wrong password) answers 200 with an error.
        raise TokenRevoked(f"Reddit refused the grant: {answer['error']}")
    if not answer.get("access_token"):
        raise TransientError("Reddit's token answer carries no access_token")
    return answer
