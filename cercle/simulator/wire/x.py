"""The simulator speaking X: Account Activity webhooks and the API v2.

`webhooks()` turns SimEvents into the deliveries X's Account Activity API would
POST, signed with `x-twitter-webhooks-signature` (base64 HMAC-SHA256 of the raw
body with the app's consumer secret): mentions, replies, quotes-as-shares and
retweets as v1.1 objects in `tweet_create_events`, edits as a new version
carrying `edit_history`, deletions as `tweet_delete_events`, and DMs (ours
included) as `direct_message_events` with their `users`. X has no reviews: those
events are dropped.

`handle()` plays the API v2 endpoints `cercle.connectors.x.client` calls:
replies (refusing duplicate content like X), DMs, hide/unhide, delete, block,
like, the listings used for polling and reconciliation, and the recent search
(listening). Every answer
carries `x-rate-limit-*` headers. Performed actions are reported through
`on_action` with the simulator's own ids, so the community can react.

X ids are decimal snowflakes, so simulator ids are mapped to stable digits.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeAlias

from cercle.connectors.x.connector import SIGNATURE_HEADER, signature

from .base import (
    ActionListener,
    ChannelSetup,
    FakeRequest,
    FakeResponse,
    SimAction,
    SimAuthor,
    SimEvent,
    SimPost,
    WebhookDelivery,
    Wire,
)

WINDOW_LIMIT = 300
SNOWFLAKE_EPOCH = 1288834974.657  # X's Snowflake epoch, in seconds

_Query: TypeAlias = dict[str, list[str]]
# What a route answers: a ready response (an error), or (status, JSON payload, action to report).
_Answer: TypeAlias = FakeResponse | tuple[int, dict[str, Any], SimAction | None]
# A route family: (method, path segments after its first, query, JSON body) → answer.
_Handler: TypeAlias = Callable[[str, list[str], _Query, dict[str, Any]], _Answer]


def _digits(*parts: str) -> str:
    """A stable, snowflake-looking X id from simulator names."""
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return "18" + str(int(digest[:20], 16)).rjust(17, "0")[:17]


def _v1_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%a %b %d %H:%M:%S +0000 %Y")


def _v2_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class _Tweet:
    id: str
    author_id: str
    text: str
    created_at: datetime
    replied_to: str = ""
    in_reply_to_user: str = ""
    quoted: str = ""
    retweeted: str = ""
    first_id: str = ""  # the first version's id, for an edit
    hidden: bool = False
    deleted: bool = False
    mentions_brand: bool = True

    def v2(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "text": self.text,
            "author_id": self.author_id,
            "created_at": _v2_time(self.created_at),
            "conversation_id": self.replied_to or self.id,
            "edit_history_tweet_ids": [self.first_id or self.id]
            + ([self.id] if self.first_id else []),
        }
        refs = [
            {"type": kind, "id": ref}
            for kind, ref in (
                ("replied_to", self.replied_to),
                ("quoted", self.quoted),
                ("retweeted", self.retweeted),
            )
            if ref
        ]
        if refs:
            data["referenced_tweets"] = refs
        if self.in_reply_to_user:
            data["in_reply_to_user_id"] = self.in_reply_to_user
        return data


@dataclass
class _DM:
    id: str
    conversation_id: str
    sender_id: str
    text: str
    created_at: datetime


@dataclass
class _State:
    tweets: dict[str, _Tweet] = field(default_factory=dict)
    dms: list[_DM] = field(default_factory=list)
    users: dict[str, dict[str, str]] = field(default_factory=dict)  # X id → {id,name,username}
    sim_of: dict[str, str] = field(default_factory=dict)  # X id → simulator id
    blocked: set[str] = field(default_factory=set)
    liked: set[str] = field(default_factory=set)


class XWire(Wire):
    """Plays X for one simulated channel (thread-safe: the fake server is threaded)."""

    platform = "x"

    def __init__(
        self, channel_key: str, api_base: str, on_action: ActionListener, salt: str = ""
    ) -> None:
        super().__init__(channel_key, api_base, on_action)
        salt = salt or secrets.token_hex(16)
        self.brand_id = _digits("x-brand", channel_key)
        self.handle_name = "Lumen" + "".join(c for c in channel_key if c.isalnum())[:8]
        self.consumer_secret = hashlib.sha256(
            f"consumer:{salt}:{channel_key}".encode()
        ).hexdigest()[:40]
        self.access_token = hashlib.sha256(f"token:{salt}:{channel_key}".encode()).hexdigest()[:48]
        self.revoked = False  # tests flip it to play a revoked token
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._state = _State()
        self._state.users[self.brand_id] = {
            "id": self.brand_id,
            "name": "Lumen",
            "username": self.handle_name,
        }
        self._x_of: dict[str, str] = {}  # simulator id → X id
        self._customer_of_thread: dict[str, str] = {}  # simulator DM thread → the customer's X id
        self._sim_thread_of: dict[str, str] = {}  # X dm_conversation_id → simulator thread

    def setup(self) -> ChannelSetup:
        return ChannelSetup(
            external_id=self.brand_id,
            config={"api_base": self.api_base, "sim_channel_key": self.channel_key},
            credentials={
                "consumer_secret": self.consumer_secret,
                "client_id": _digits("x-client", self.channel_key),
                "access_token": self.access_token,
                "user_id": self.brand_id,
            },
        )

    # --- ids --------------------------------------------------------------------------------

    def x_id(self, sim_id: str) -> str:
        """The X id the wire uses for a simulator id (stable)."""
        if sim_id not in self._x_of:
            self._x_of[sim_id] = _digits("x", self.channel_key, sim_id)
            self._state.sim_of[self._x_of[sim_id]] = sim_id
        return self._x_of[sim_id]

    def _user(self, author: SimAuthor) -> str:
        uid = self.x_id("user:" + author.id)
        self._state.users.setdefault(
            uid, {"id": uid, "name": author.name, "username": author.handle}
        )
        return uid

    def _post(self, post: SimPost) -> _Tweet:
        pid = self.x_id(post.id)
        if pid not in self._state.tweets:
            self._state.tweets[pid] = _Tweet(
                pid, self.brand_id, post.text, post.published_at, mentions_brand=False
            )
        return self._state.tweets[pid]

    def _thread(self, user_id: str) -> str:
        low, high = sorted((user_id, self.brand_id), key=int)
        return f"{low}-{high}"

    # --- SimEvents → Account Activity deliveries ------------------------------------------------

    def webhooks(self, events: list[SimEvent]) -> list[WebhookDelivery]:
        deliveries = []
        for event in events:
            payload = self._record(event)
            if payload is None:
                continue
            body = json.dumps(
                {"for_user_id": self.brand_id, **payload}, ensure_ascii=False
            ).encode()
            deliveries.append(
                WebhookDelivery.signed_json(
                    body, SIGNATURE_HEADER, signature(self.consumer_secret, body)
                )
            )
        return deliveries

    def publish(self, events: list[SimEvent]) -> None:
        """Make events visible to the listing endpoints without pushing them (catch-up)."""
        for event in events:
            self._record(event)

    def _record(self, event: SimEvent) -> dict[str, Any] | None:
        with self._lock:
            if event.type == "review":
                return None  # X has no reviews
            if event.type == "message":
                return self._record_dm(event)
            return self._record_tweet(event)

    def _record_tweet(self, event: SimEvent) -> dict[str, Any] | None:
        state = self._state
        author = self.brand_id if event.from_brand else self._user(event.author)
        first = self.x_id(event.id)
        if event.op == "delete":
            if first in state.tweets:
                state.tweets[first].deleted = True
            return {
                "tweet_delete_events": [
                    {
                        "status": {"id": first, "user_id": author},
                        "timestamp_ms": _ms(event.created_at),
                    }
                ]
            }
        tweet_id = (
            first
            if event.op == "create"
            else _digits("x-edit", self.channel_key, event.id, str(next(self._ids)))
        )
        tweet = _Tweet(
            tweet_id,
            author,
            event.text,
            event.created_at,
            first_id=first if tweet_id != first else "",
        )
        if event.type == "share" and event.post is not None:
            post = self._post(event.post)
            tweet.retweeted = post.id
            tweet.text = f"RT @{self.handle_name}: {post.text}"
        elif event.type in {"comment", "reply"} and event.post is not None:
            post = self._post(event.post)
            parent = self.x_id(event.parent_id) if event.parent_id else post.id
            tweet.replied_to = parent
            tweet.in_reply_to_user = (
                state.tweets[parent].author_id if parent in state.tweets else self.brand_id
            )
        elif not event.from_brand:
            tweet.text = f"@{self.handle_name} {event.text}"
        state.tweets[first] = tweet
        return {"tweet_create_events": [self._v1(tweet)]}

    def _v1(self, tweet: _Tweet) -> dict[str, Any]:
        user = self._state.users[tweet.author_id]
        data: dict[str, Any] = {
            "created_at": _v1_time(tweet.created_at),
            "id": int(tweet.id),
            "id_str": tweet.id,
            "text": tweet.text,
            "truncated": False,
            "in_reply_to_status_id_str": tweet.replied_to or None,
            "in_reply_to_user_id_str": tweet.in_reply_to_user or None,
            "user": {
                "id": int(user["id"]),
                "id_str": user["id"],
                "name": user["name"],
                "screen_name": user["username"],
            },
            "is_quote_status": bool(tweet.quoted),
            "timestamp_ms": _ms(tweet.created_at),
        }
        if tweet.retweeted:
            data["retweeted_status"] = self._v1(self._state.tweets[tweet.retweeted])
        if tweet.first_id:
            data["edit_history"] = {
                "initial_tweet_id": tweet.first_id,
                "edit_tweet_ids": [tweet.first_id, tweet.id],
            }
        return data

    def _record_dm(self, event: SimEvent) -> dict[str, Any] | None:
        if event.op != "create":
            return None  # the Account Activity API sends no DM edits or deletions
        state = self._state
        thread = event.thread_id or event.author.id
        if event.from_brand:
            # The brand writes in a thread a customer opened: the customer is the other side.
            customer = self._customer_of_thread.get(thread, "")
            if not customer:
                return None
        else:
            customer = self._user(event.author)
            self._customer_of_thread[thread] = customer
        conversation = self._thread(customer)
        self._sim_thread_of[conversation] = thread
        dm_id = self.x_id(event.id)
        sender, recipient = (
            (self.brand_id, customer) if event.from_brand else (customer, self.brand_id)
        )
        state.dms.append(_DM(dm_id, conversation, sender, event.text, event.created_at))
        users = {
            uid: {
                "id": uid,
                "name": state.users[uid]["name"],
                "screen_name": state.users[uid]["username"],
            }
            for uid in (sender, recipient)
        }
        return {
            "direct_message_events": [
                {
                    "type": "message_create",
                    "id": dm_id,
                    "created_timestamp": _ms(event.created_at),
                    "message_create": {
                        "target": {"recipient_id": recipient},
                        "sender_id": sender,
                        "message_data": {"text": event.text, "entities": {}},
                    },
                }
            ],
            "users": users,
        }

    # --- the API v2 --------------------------------------------------------------------------------

    def handle(self, request: FakeRequest) -> FakeResponse:
        if (
            self.revoked
            or request.headers.get("authorization", "") != f"Bearer {self.access_token}"
        ):
            return _problem(401, "Unauthorized", "Unauthorized")
        parts = [p for p in request.path.split("/") if p]
        if not parts or parts[0] != "2":
            return _problem(404, "Not Found Error", "Unknown path")
        parts = parts[1:]
        method = request.method.upper()
        body = _body(request)
        with self._lock:
            route = self._route(method, parts, request.query, body)
        if isinstance(route, FakeResponse):
            return route
        status, payload, action = route
        if action is not None:
            self.on_action(action)
        return _json(status, payload)

    def _route(self, method: str, parts: list[str], query: _Query, body: dict[str, Any]) -> _Answer:
        """Dispatch on the first path segment after /2/; each family checks the rest."""
        routes: dict[str, _Handler] = {
            "users": self._users_route,
            "tweets": self._tweets_route,
            "dm_conversations": self._dm_conversations_route,
            "dm_events": self._dm_events_route,
        }
        handler = routes.get(parts[0]) if parts else None
        if handler is None:
            return _unsupported()
        return handler(method, parts[1:], query, body)

    def _users_route(
        self, method: str, rest: list[str], query: _Query, body: dict[str, Any]
    ) -> _Answer:
        """/2/users/me, and the brand's own edges /2/users/<brand id>/<edge>."""
        if rest == ["me"] and method == "GET":
            return 200, {"data": self._state.users[self.brand_id]}, None
        if len(rest) == 2 and rest[0] == self.brand_id:
            return self._brand_edge(method, rest[1], query, body)
        return _unsupported()

    def _tweets_route(
        self, method: str, rest: list[str], query: _Query, body: dict[str, Any]
    ) -> _Answer:
        """/2/tweets (create a reply), /2/tweets/<id> (look up, delete), /2/tweets/<id>/hidden."""
        if not rest and method == "POST":
            return self._create_reply(body)
        if not rest and method == "GET":
            return self._lookup(query)
        if len(rest) == 1 and method == "GET":
            found = self._state.tweets.get(rest[0])
            if found is None or found.deleted:
                return 200, _not_found(rest[0]), None
            return 200, {"data": found.v2()}, None
        if len(rest) == 1 and method == "DELETE":
            return self._delete_tweet(rest[0], body)
        if rest == ["search", "recent"] and method == "GET":
            return 200, self._search(query), None
        if rest[1:] == ["hidden"] and method == "PUT":
            return self._hide_tweet(rest[0], body)
        return _unsupported()

    def _lookup(self, query: _Query) -> _Answer:
        """`GET /2/tweets?ids=…` (1 to 100 ids): the posts found in `data`, the others in
        `errors`, their authors in `includes.users` when `expansions=author_id`."""
        ids = [i for i in (query.get("ids") or [""])[0].split(",") if i]
        if not ids or len(ids) > 100:
            return _problem(400, "Invalid Request", "ids: between 1 and 100 ids")
        found = [t for i in ids if (t := self._state.tweets.get(i)) is not None and not t.deleted]
        payload: dict[str, Any] = {}
        if found:
            payload["data"] = [t.v2() for t in found]
            if "author_id" in (query.get("expansions") or [""])[0].split(","):
                authors = dict.fromkeys(t.author_id for t in found)
                payload["includes"] = {
                    "users": [self._state.users[a] for a in authors if a in self._state.users]
                }
        missing = [i for i in ids if i not in {t.id for t in found}]
        if missing:
            payload["errors"] = [e for i in missing for e in _not_found(i)["errors"]]
        return 200, payload, None

    def _search(self, query: _Query) -> dict[str, Any]:
        """`GET /2/tweets/search/recent`: the posts matching the query, newest first.

        Understands what the connector writes: words and quoted phrases (all
        required), one `( … OR … )` group, `-term` exclusions; `lang:` and `is:`
        operators are ignored (the wire's posts carry no language). `since_id`
        is read as X's Snowflake time. One page: the demo's volume is small.
        """
        required, group, excluded = _search_terms((query.get("query") or [""])[0])
        since_id = (query.get("since_id") or [""])[0]
        since = _snowflake_time(since_id) if since_id.isdigit() else None
        found = []
        for tweet in self._state.tweets.values():
            text = tweet.text.lower()
            if (
                tweet.deleted
                or tweet.retweeted
                or (since is not None and tweet.created_at < since)
                or not all(term in text for term in required)
                or (group and not any(term in text for term in group))
                or any(term in text for term in excluded)
            ):
                continue
            found.append(tweet)
        found.sort(key=lambda t: t.created_at, reverse=True)
        return self._tweet_page(found[:100])

    def _delete_tweet(self, tweet_id: str, body: dict[str, Any]) -> _Answer:
        """The brand deletes one of its own posts."""
        tweet = self._state.tweets.get(tweet_id)
        if tweet is None or tweet.deleted:
            return _problem(404, "Not Found Error", "Could not find tweet")
        if tweet.author_id != self.brand_id:
            return _problem(403, "Forbidden", "You are not allowed to delete this Tweet.")
        tweet.deleted = True
        return (
            200,
            {"data": {"deleted": True}},
            SimAction("delete", self._sim(tweet_id), raw=body),
        )

    def _hide_tweet(self, tweet_id: str, body: dict[str, Any]) -> _Answer:
        """The brand hides (or unhides) a reply under its conversation."""
        tweet = self._state.tweets.get(tweet_id)
        if tweet is None or tweet.deleted:
            return _problem(404, "Not Found Error", "Could not find tweet")
        hidden = bool(body.get("hidden"))
        tweet.hidden = hidden
        kind = "hide" if hidden else "unhide"
        return 200, {"data": {"hidden": hidden}}, SimAction(kind, self._sim(tweet_id), raw=body)

    def _dm_conversations_route(
        self, method: str, rest: list[str], query: _Query, body: dict[str, Any]
    ) -> _Answer:
        """/2/dm_conversations/<key>/messages (send) and /2/dm_conversations/<key>/dm_events (list),
        where <key> is `with/<user id>` or a conversation id."""
        last = rest[-1] if rest else ""
        if last == "messages" and method == "POST":
            return self._send_dm(rest[:-1], body)
        if last == "dm_events" and method == "GET":
            key = rest[:-1]
            conversation = (
                self._thread(key[1]) if key[:1] == ["with"] and len(key) == 2 else "/".join(key)
            )
            events = [d for d in reversed(self._state.dms) if d.conversation_id == conversation]
            return 200, self._dm_page(events), None
        return _unsupported()

    def _dm_events_route(
        self, method: str, rest: list[str], query: _Query, body: dict[str, Any]
    ) -> _Answer:
        """/2/dm_events: every DM, newest first."""
        if not rest and method == "GET":
            return 200, self._dm_page(list(reversed(self._state.dms))), None
        return _unsupported()

    def _brand_edge(self, method: str, edge: str, query: _Query, body: dict[str, Any]) -> _Answer:
        state = self._state
        if edge == "mentions" and method == "GET":
            since = (query.get("since_id") or ["0"])[0]
            listed = sorted(
                (
                    t
                    for t in state.tweets.values()
                    if t.author_id != self.brand_id
                    and t.mentions_brand
                    and not t.deleted
                    and int(t.id) > int(since or 0)
                ),
                key=lambda t: int(t.id),
                reverse=True,
            )[:100]
            return 200, self._tweet_page(listed), None
        if edge == "tweets" and method == "GET":
            listed = sorted(
                (
                    t
                    for t in state.tweets.values()
                    if t.author_id == self.brand_id and not t.deleted and not t.retweeted
                ),
                key=lambda t: int(t.id),
                reverse=True,
            )[:100]
            return 200, self._tweet_page(listed), None
        if edge == "blocking" and method == "POST":
            target = str(body.get("target_user_id", ""))
            if target not in state.users:
                return _problem(
                    400, "Invalid Request", "One or more parameters to your request was invalid."
                )
            state.blocked.add(target)
            return (
                200,
                {"data": {"blocking": True}},
                SimAction("ban", self._sim(target).removeprefix("user:"), raw=body),
            )
        if edge == "likes" and method == "POST":
            target = str(body.get("tweet_id", ""))
            if target not in state.tweets:
                return _problem(
                    400, "Invalid Request", "One or more parameters to your request was invalid."
                )
            state.liked.add(target)
            return 200, {"data": {"liked": True}}, SimAction("like", self._sim(target), raw=body)
        return _unsupported()

    def _create_reply(self, body: dict[str, Any]) -> _Answer:
        state = self._state
        text = str(body.get("text", ""))
        reply = body.get("reply") if isinstance(body.get("reply"), dict) else {}
        target = str((reply or {}).get("in_reply_to_tweet_id", ""))
        if not text:
            return _problem(
                400, "Invalid Request", "One or more parameters to your request was invalid."
            )
        if any(
            t.author_id == self.brand_id and t.text.endswith(text) and not t.deleted
            for t in state.tweets.values()
        ):
            return _problem(
                403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
            )
        parent = state.tweets.get(target)
        if parent is None or parent.deleted:
            return _problem(
                400, "Invalid Request", "The Tweet you are replying to has been deleted."
            )
        handle = state.users[parent.author_id]["username"]
        created = _digits("x-reply", self.channel_key, str(next(self._ids)))
        state.tweets[created] = _Tweet(
            created,
            self.brand_id,
            f"@{handle} {text}" if parent.author_id != self.brand_id else text,
            datetime.now(UTC),
            replied_to=target,
            in_reply_to_user=parent.author_id,
            mentions_brand=False,
        )
        state.sim_of[created] = created
        action = SimAction("reply", self._sim(target), text=text, created_id=created, raw=body)
        return 201, {"data": {"id": created, "text": state.tweets[created].text}}, action

    def _send_dm(self, key: list[str], body: dict[str, Any]) -> _Answer:
        text = str(body.get("text", ""))
        if not text:
            return _problem(
                400, "Invalid Request", "One or more parameters to your request was invalid."
            )
        if key[:1] == ["with"] and len(key) == 2:
            customer, kind = key[1], "private_reply"
            if customer not in self._state.users:
                return _problem(403, "Forbidden", "You cannot send messages to this user.")
            conversation = self._thread(customer)
        elif len(key) == 1:
            conversation, kind = key[0], "send_private"
        else:
            return _unsupported()
        dm_id = _digits("x-dm", self.channel_key, str(next(self._ids)))
        self._state.dms.append(_DM(dm_id, conversation, self.brand_id, text, datetime.now(UTC)))
        sim_thread = self._sim_thread_of.get(conversation, conversation)
        target = self._sim(key[1]).removeprefix("user:") if kind == "private_reply" else sim_thread
        action = SimAction(kind, target, text=text, created_id=dm_id, raw=body)
        return 201, {"data": {"dm_conversation_id": conversation, "dm_event_id": dm_id}}, action

    def _tweet_page(self, tweets: list[_Tweet]) -> dict[str, Any]:
        if not tweets:
            return {"meta": {"result_count": 0}}
        referenced = {ref for t in tweets for ref in (t.replied_to, t.quoted, t.retweeted) if ref}
        included = [self._state.tweets[r].v2() for r in referenced if r in self._state.tweets]
        authors = {t.author_id for t in tweets} | {
            self._state.tweets[r].author_id for r in referenced if r in self._state.tweets
        }
        return {
            "data": [t.v2() for t in tweets],
            "includes": {
                "users": [self._state.users[a] for a in authors if a in self._state.users],
                "tweets": included,
            },
            "meta": {
                "result_count": len(tweets),
                "newest_id": tweets[0].id,
                "oldest_id": tweets[-1].id,
            },
        }

    def _dm_page(self, events: list[_DM]) -> dict[str, Any]:
        events = events[:100]
        data = [
            {
                "id": d.id,
                "text": d.text,
                "event_type": "MessageCreate",
                "dm_conversation_id": d.conversation_id,
                "created_at": _v2_time(d.created_at),
                "sender_id": d.sender_id,
            }
            for d in events
        ]
        senders = {d.sender_id for d in events}
        return {
            "data": data,
            "includes": {
                "users": [self._state.users[s] for s in senders if s in self._state.users]
            },
            "meta": {"result_count": len(data)},
        }

    def _sim(self, x_id: str) -> str:
        return self._state.sim_of.get(x_id, x_id)


# --- helpers ---------------------------------------------------------------------------------------


def _search_terms(query: str) -> tuple[list[str], list[str], list[str]]:
    """(required, any-of group, excluded) terms of a recent-search query, lower case."""
    required: list[str] = []
    group: list[str] = []
    excluded: list[str] = []
    tokens = _split_query(query.lower())
    depth = 0
    for token in tokens:
        opening, closing = token.startswith("("), token.endswith(")")
        bare = token.strip("()")
        depth += opening
        if bare in {"or", ""} or ":" in bare:
            depth -= closing
            continue
        if bare.startswith("-"):
            excluded.append(bare[1:])
        elif depth:
            group.append(bare)
        else:
            required.append(bare)
        depth -= closing
    return required, group, excluded


def _split_query(query: str) -> list[str]:
    """Split on spaces, keeping quoted phrases whole (without their quotes)."""
    out: list[str] = []
    current, quoted = "", False
    for char in query:
        if char == '"':
            quoted = not quoted
        elif char == " " and not quoted:
            if current:
                out.append(current)
            current = ""
        else:
            current += char
    if current:
        out.append(current)
    return out


def _snowflake_time(since_id: str) -> datetime:
    """The creation time encoded in an X id (https://docs.x.com/resources/fundamentals/x-ids)."""
    return datetime.fromtimestamp(((int(since_id) + 1) >> 22) / 1000 + SNOWFLAKE_EPOCH, tz=UTC)


def _ms(when: datetime) -> str:
    return str(int(when.timestamp() * 1000))


def _body(request: FakeRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _headers() -> dict[str, str]:
    # One generous window per answer: enough for the demo, shaped like X's headers.
    reset = int(time.time()) + 900
    return {
        "Content-Type": "application/json; charset=utf-8",
        "x-rate-limit-limit": str(WINDOW_LIMIT),
        "x-rate-limit-remaining": str(WINDOW_LIMIT - 1),
        "x-rate-limit-reset": str(reset),
    }


def _json(status: int, payload: dict[str, Any]) -> FakeResponse:
    return FakeResponse(
        status=status, body=json.dumps(payload, ensure_ascii=False).encode(), headers=_headers()
    )


def _not_found(tweet_id: str) -> dict[str, Any]:
    """How API v2 answers a lookup of a post that is gone: 200 with a resource-not-found error."""
    return {
        "errors": [
            {
                "value": tweet_id,
                "detail": f"Could not find tweet with id: [{tweet_id}].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "id",
                "resource_id": tweet_id,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        ]
    }


def _unsupported() -> FakeResponse:
    return _problem(404, "Not Found Error", "Unsupported request")


def _problem(status: int, title: str, detail: str) -> FakeResponse:
    return _json(
        status, {"title": title, "detail": detail, "type": "about:blank", "status": status}
    )
