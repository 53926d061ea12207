"""HTTP client of the X API v2: one constant per endpoint, auth, rate-limit windows, error classes.

Every call goes through `XClient._call`, which refuses to spend a request on an
endpoint whose 15-minute window is known to be exhausted, records the window
from the `x-rate-limit-*` headers, and turns X's error answers into the
connector errors the sender and the poller understand (see README.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from cercle.connectors import quota
from cercle.connectors.base import (
    NotAvailable,
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

DEFAULT_API_BASE = "https://api.x.com"
# https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code
AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
TOKEN = "/2/oauth2/token"  # POST: code or refresh token → access token
# https://docs.x.com/x-api/users/user-lookup-me
ME = "/2/users/me"
# https://docs.x.com/x-api/posts/timelines/introduction (mentions timeline)
MENTIONS = "/2/users/{user_id}/mentions"
# https://docs.x.com/x-api/posts/timelines/introduction (user posts timeline), used to reconcile
USER_TWEETS = "/2/users/{user_id}/tweets"
# https://docs.x.com/x-api/direct-messages/lookup/introduction
DM_EVENTS = "/2/dm_events"
DM_CONVERSATION_EVENTS = "/2/dm_conversations/{conversation_id}/dm_events"
DM_PARTICIPANT_EVENTS = "/2/dm_conversations/with/{participant_id}/dm_events"
# https://docs.x.com/x-api/direct-messages/manage/introduction
DM_SEND_CONVERSATION = "/2/dm_conversations/{conversation_id}/messages"
DM_SEND_PARTICIPANT = "/2/dm_conversations/with/{participant_id}/messages"
# https://docs.x.com/x-api/posts/search/introduction (recent search: the last 7 days)
SEARCH_RECENT = "/2/tweets/search/recent"
# https://docs.x.com/x-api/posts/manage-tweets/introduction
# POST: create (replies carry reply.in_reply_to_tweet_id); GET ?ids=…: look up to 100 up
TWEETS = "/2/tweets"
MAX_LOOKUP_IDS = 100
TWEET = "/2/tweets/{tweet_id}"  # GET: look one up; DELETE: our own post only
# https://docs.x.com/x-api/posts/hide-replies/introduction
TWEET_HIDDEN = "/2/tweets/{tweet_id}/hidden"  # PUT {"hidden": bool}
# https://docs.x.com/x-api/users/blocks/introduction
BLOCKING = "/2/users/{user_id}/blocking"  # POST {"target_user_id"}
# https://docs.x.com/x-api/posts/likes/introduction
LIKES = "/2/users/{user_id}/likes"  # POST {"tweet_id"}

# What we ask of every post we read: enough to thread it and to find the brand's content.
TWEET_FIELDS = "created_at,conversation_id,in_reply_to_user_id,referenced_tweets,author_id,edit_history_tweet_ids"
TWEET_EXPANSIONS = "author_id,referenced_tweets.id,referenced_tweets.id.author_id"
USER_FIELDS = "name,username,profile_image_url"
DM_EVENT_FIELDS = "id,text,event_type,dm_conversation_id,created_at,sender_id,participant_ids"

SCOPES = (
    "tweet.read",
    "tweet.write",
    "tweet.moderate.write",
    "users.read",
    "dm.read",
    "dm.write",
    "block.write",
    "like.write",
    "offline.access",
)

SEARCH_TWEET_FIELDS = "created_at,author_id,lang,conversation_id"
# Problem types X answers when the app's plan (access level) does not include an endpoint.
# https://docs.x.com/x-api/fundamentals/response-codes-and-errors ("client-forbidden")
PLAN_PROBLEMS = ("/problems/client-forbidden",)
PLAN_REASONS = ("client-not-enrolled",)

DUPLICATE_MARKER = "duplicate content"
# A window we do not know the reset of: X's windows are 15 minutes.
WINDOW = timedelta(minutes=15)


class DuplicateContent(Rejected):
    """X refused a post identical to a recent one of ours: maybe an earlier attempt did post it."""


def endpoint_key(method: str, template: str) -> str:
    """The name a rate-limit window is kept under: X counts per endpoint, not per id."""
    return f"{method} {template}"


def _error_detail(response: httpx.Response) -> str:
    """X's problem answer (`detail`, `title`, `errors[].message`), trimmed for the team to read."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text[:300]
    if not isinstance(data, dict):
        return str(data)[:300]
    parts = [str(data.get(k)) for k in ("title", "detail") if data.get(k)]
    errors = data.get("errors")
    if isinstance(errors, list):
        parts += [
            str(e.get("message") or e.get("detail") or "") for e in errors if isinstance(e, dict)
        ]
    return ": ".join(p for p in parts if p)[:300] or f"HTTP {response.status_code}"


def _plan_refused(response: httpx.Response) -> bool:
    """X's "client-forbidden" problem: the app's access level does not include the endpoint."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    if not isinstance(data, dict):
        return False
    kind, reason = str(data.get("type", "")), str(data.get("reason", ""))
    return kind.endswith(PLAN_PROBLEMS) or reason in PLAN_REASONS


def classify(response: httpx.Response) -> None:
    """Raise the connector error X's answer means; return when it is a success."""
    status = response.status_code
    if status < 400:
        return
    detail = _error_detail(response)
    if status == 429:
        headers = {k.lower(): v for k, v in response.headers.items()}
        # The 24-hour user/app caps on posting answer 429 too, with their own reset.
        for cap in ("x-user-limit-24hour", "x-app-limit-24hour"):
            if headers.get(f"{cap}-remaining") == "0" and headers.get(f"{cap}-reset", "").isdigit():
                reset = datetime.fromtimestamp(int(headers[f"{cap}-reset"]), tz=UTC)
                raise RateLimited(f"X daily cap reached: {detail}", reset)
        raise RateLimited(f"X rate limit: {detail}", retry_at_from_headers(headers, WINDOW))
    if status == 401:
        raise TokenRevoked(f"X refused the token: {detail}")
    if status == 403:
        if _plan_refused(response):
            raise NotAvailable(f"not available on this X plan: {detail}")
        if DUPLICATE_MARKER in detail.lower():
            raise DuplicateContent(detail)
        raise PermissionDenied(f"X refused: {detail}")
    if status >= 500:
        raise TransientError(f"X error {status}: {detail}")
    raise Rejected(f"X refused the request ({status}): {detail}")


class XClient:
    """Calls of one channel's token to the X API v2.

    With a `channel`, each endpoint's 15-minute window (as X's
    `x-rate-limit-*` headers last described it) is counted before the call in
    the channel's quota windows (`connectors.quota`), and the headers of each
    answer are believed; without one (the OAuth exchange) nothing is counted.
    """

    def __init__(
        self,
        http: PlatformHttp,
        *,
        api_base: str,
        access_token: str,
        channel: Channel | None = None,
    ) -> None:
        self.http = http
        self.base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.access_token = access_token
        self.channel = channel

    # --- plumbing ------------------------------------------------------------

    def _check_window(self, key: str) -> None:
        """Refuse to call an endpoint whose window is spent: X would only answer 429."""
        if self.channel is not None:
            quota.take_observed(
                self.channel, key, message=f"X rate limit of {key} spent until reset"
            )

    def _record_window(self, key: str, response: httpx.Response) -> None:
        headers = response.headers
        limit, remaining, reset = (
            headers.get("x-rate-limit-limit", ""),
            headers.get("x-rate-limit-remaining", ""),
            headers.get("x-rate-limit-reset", ""),
        )
        if self.channel is None or not (
            limit.isdigit() and remaining.isdigit() and reset.isdigit()
        ):
            return
        quota.observe(
            self.channel,
            key,
            limit=int(limit),
            used=int(limit) - int(remaining),
            resets_at=datetime.fromtimestamp(int(reset), tz=UTC),
        )

    def _send(
        self,
        method: str,
        template: str,
        *,
        path_args: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """One authenticated call, inside its endpoint's window; raises what X's answer means."""
        key = endpoint_key(method, template)
        self._check_window(key)
        path = template.format(**{k: _segment(v) for k, v in (path_args or {}).items()})
        kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {self.access_token}"}}
        if params:
            kwargs["params"] = dict(params)
        if body is not None:
            kwargs["json"] = dict(body)
        response = self.http.request(method, self.base + path, **kwargs)
        self._record_window(key, response)
        classify(response)
        return response

    def _call(
        self,
        method: str,
        template: str,
        *,
        path_args: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        return _json(self._send(method, template, path_args=path_args, params=params, body=body))

    # --- reads -----------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """The account the token belongs to: {"id", "name", "username"}."""
        data = self._call("GET", ME).get("data")
        if not isinstance(data, dict) or not data.get("id"):
            raise TransientError("X answered /2/users/me without an id")
        return data

    def mentions(self, user_id: str, *, since_id: str = "", pagination_token: str = "") -> bytes:
        """One page of posts mentioning the brand, newest first; raw bytes as X sent them."""
        params = {
            "max_results": "100",
            "tweet.fields": TWEET_FIELDS,
            "expansions": TWEET_EXPANSIONS,
            "user.fields": USER_FIELDS,
        }
        if since_id:
            params["since_id"] = since_id
        if pagination_token:
            params["pagination_token"] = pagination_token
        return self._raw("GET", MENTIONS, {"user_id": user_id}, params)

    def search_recent(
        self, query: str, *, since_id: str = "", start_time: str = "", next_token: str = ""
    ) -> dict[str, Any]:
        """One page (newest first) of public posts of the last 7 days matching `query`."""
        params = {
            "query": query,
            "max_results": "100",
            "tweet.fields": SEARCH_TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": USER_FIELDS,
        }
        if since_id:
            params["since_id"] = since_id
        elif start_time:
            params["start_time"] = start_time
        if next_token:
            params["next_token"] = next_token
        return self._call("GET", SEARCH_RECENT, params=params)

    def dm_events(self) -> bytes:
        """The most recent page of the account's DM events (X offers no since_id here)."""
        params = {
            "max_results": "100",
            "event_types": "MessageCreate",
            "dm_event.fields": DM_EVENT_FIELDS,
            "expansions": "sender_id",
            "user.fields": USER_FIELDS,
        }
        return self._raw("GET", DM_EVENTS, {}, params)

    def user_tweets(self, user_id: str) -> dict[str, Any]:
        """Our own most recent posts and replies (to find a reply an ambiguous attempt made)."""
        params = {"max_results": "100", "tweet.fields": TWEET_FIELDS, "exclude": "retweets"}
        return self._call("GET", USER_TWEETS, path_args={"user_id": user_id}, params=params)

    def lookup_tweets(self, tweet_ids: list[str]) -> dict[str, Any]:
        """Up to 100 posts by id with their time and author (`GET /2/tweets?ids=…`).

        A deleted or protected post is not in `data` but in `errors`
        (https://docs.x.com/x-api/posts/post-lookup-by-post-ids).
        """
        params = {
            "ids": ",".join(tweet_ids[:MAX_LOOKUP_IDS]),
            "tweet.fields": "created_at,author_id",
            "expansions": "author_id",
            "user.fields": "username",
        }
        return self._call("GET", TWEETS, params=params)

    def tweet_exists(self, tweet_id: str) -> bool:
        """Whether X still has this post (a deleted one answers 200 with a not-found error)."""
        answer = self._call(
            "GET", TWEET, path_args={"tweet_id": tweet_id}, params={"tweet.fields": "id"}
        )
        if isinstance(answer.get("data"), dict):
            return True
        errors = answer.get("errors")
        if isinstance(errors, list) and any(
            isinstance(e, dict) and str(e.get("type", "")).endswith("/resource-not-found")
            for e in errors
        ):
            return False
        raise TransientError(f"X could not say whether post {tweet_id} exists")

    def conversation_events(
        self, *, conversation_id: str = "", participant_id: str = ""
    ) -> dict[str, Any]:
        """Recent events of one DM conversation, by its id or the other participant's id."""
        params = {
            "max_results": "100",
            "event_types": "MessageCreate",
            "dm_event.fields": DM_EVENT_FIELDS,
        }
        if conversation_id:
            return self._call(
                "GET",
                DM_CONVERSATION_EVENTS,
                path_args={"conversation_id": conversation_id},
                params=params,
            )
        return self._call(
            "GET",
            DM_PARTICIPANT_EVENTS,
            path_args={"participant_id": participant_id},
            params=params,
        )

    def _raw(
        self, method: str, template: str, path_args: Mapping[str, str], params: Mapping[str, str]
    ) -> bytes:
        """The answer's bytes as X sent them (polled pages are kept raw)."""
        return self._send(method, template, path_args=path_args, params=params).content

    # --- writes ----------------------------------------------------------------

    def create_reply(self, text: str, in_reply_to: str) -> dict[str, Any]:
        body = {"text": text, "reply": {"in_reply_to_tweet_id": in_reply_to}}
        return _data(self._call("POST", TWEETS, body=body))

    def send_dm(
        self, text: str, *, conversation_id: str = "", participant_id: str = ""
    ) -> dict[str, Any]:
        if conversation_id:
            answer = self._call(
                "POST",
                DM_SEND_CONVERSATION,
                path_args={"conversation_id": conversation_id},
                body={"text": text},
            )
        else:
            answer = self._call(
                "POST",
                DM_SEND_PARTICIPANT,
                path_args={"participant_id": participant_id},
                body={"text": text},
            )
        return _data(answer)

    def set_hidden(self, tweet_id: str, hidden: bool) -> dict[str, Any]:
        return _data(
            self._call(
                "PUT", TWEET_HIDDEN, path_args={"tweet_id": tweet_id}, body={"hidden": hidden}
            )
        )

    def delete_tweet(self, tweet_id: str) -> dict[str, Any]:
        return _data(self._call("DELETE", TWEET, path_args={"tweet_id": tweet_id}))

    def block(self, user_id: str, target_user_id: str) -> dict[str, Any]:
        return _data(
            self._call(
                "POST",
                BLOCKING,
                path_args={"user_id": user_id},
                body={"target_user_id": target_user_id},
            )
        )

    def like(self, user_id: str, tweet_id: str) -> dict[str, Any]:
        return _data(
            self._call("POST", LIKES, path_args={"user_id": user_id}, body={"tweet_id": tweet_id})
        )


# --- OAuth 2.0 (authorization code with PKCE) -------------------------------------


def token_request(
    http: PlatformHttp,
    *,
    api_base: str,
    client_id: str,
    client_secret: str,
    form: Mapping[str, str],
) -> dict[str, Any]:
    """POST the token endpoint: a confidential client authenticates with HTTP Basic."""
    url = (api_base or DEFAULT_API_BASE).rstrip("/") + TOKEN
    data = {**form, "client_id": client_id}
    auth = httpx.BasicAuth(client_id, client_secret) if client_secret else None
    # A token exchange that timed out can simply be redone (the code stays single-use): not a write.
    response = http.request("POST", url, data=data, auth=auth, write=False)
    if response.status_code in (400, 401):
        # invalid_grant: the code or the refresh token is spent or revoked.
        raise TokenRevoked(f"X refused the OAuth grant: {_error_detail(response)}")
    classify(response)
    answer = _json(response)
    if not answer.get("access_token"):
        raise TransientError("X's token answer carries no access_token")
    return answer


# --- helpers -----------------------------------------------------------------------


def _segment(value: str) -> str:
    """An id placed in a URL path: X ids are digits (DM conversations: digits and '-')."""
    text = str(value)
    if not text or not all(c.isdigit() or c == "-" for c in text):
        raise Rejected(f"not an X id: {text[:40]!r}")
    return text


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TransientError(
            f"X answered with something that is not JSON (HTTP {response.status_code})"
        ) from exc
    if not isinstance(data, dict):
        raise TransientError("X answered with JSON that is not an object")
    return data


def _data(answer: dict[str, Any]) -> dict[str, Any]:
    data = answer.get("data")
    if not isinstance(data, dict):
        # A 200 with only `errors` is how X reports a refused item inside a success.
        raise Rejected(f"X refused: {_error_detail_from(answer)}")
    return data


def _error_detail_from(answer: dict[str, Any]) -> str:
    errors = answer.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("detail") or errors[0].get("message") or errors[0])[:300]
    return str(answer)[:300]
