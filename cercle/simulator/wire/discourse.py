"""The Discourse wire: SimEvents as real Discourse webhook deliveries, and a small forum API double.

Deliveries are what a forum's webhook posts (EmitWebHookEvent): `{"post": …}`
shaped like WebHookPostSerializer, with the `X-Discourse-*` headers and
`X-Discourse-Event-Signature` (`sha256=` + hex HMAC of the raw UTF-8 body).
Simulator ids are strings, Discourse's are numbers: the wire keeps the map, so
what it reports to the simulator (`SimAction.target_id`) is the simulator's id
of the item answered, and a reaction's `parent_id` (the `created_id` of our
reply) finds its post number again.

How the community maps onto a forum: the brand's posts are topics it opened
(staff); comments and replies are posts in them (`reply_to_post_number` for
replies); private messages are personal-message topics, one per thread;
mentions are topics members open. Shares and reviews have no forum
equivalent and are not sent.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import secrets
import threading
from datetime import UTC, datetime
from typing import Any

from cercle.connectors.discourse.connector import SIGNATURE_HEADER, sign

from .base import (
    ActionListener,
    ChannelSetup,
    FakeRequest,
    FakeResponse,
    SimAction,
    SimEvent,
    WebhookDelivery,
    Wire,
)

API_USERNAME = "lumen_team"
BRAND_USER_ID = 2
EVENTS = {"create": "post_created", "edit": "post_edited", "delete": "post_destroyed"}
_SLUG = re.compile(r"[^a-z0-9]+")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _slug(title: str) -> str:
    return _SLUG.sub("-", title.lower()).strip("-")[:60] or "topic"


def _json(status: int, data: Any) -> FakeResponse:
    return FakeResponse(status=status, body=json.dumps(data, ensure_ascii=False).encode())


def _error(status: int, message: str, error_type: str) -> FakeResponse:
    return _json(status, {"errors": [message], "error_type": error_type})


class DiscourseWire(Wire):
    """Plays one Discourse forum (thread-safe: the fake platform server is threaded)."""

    platform = "discourse"

    def __init__(
        self, channel_key: str, api_base: str, on_action: ActionListener, salt: str = ""
    ) -> None:
        super().__init__(channel_key, api_base, on_action)
        salt = salt or secrets.token_hex(16)
        self.webhook_secret = hashlib.sha256(f"hook:{salt}:{channel_key}".encode()).hexdigest()[:32]
        self.api_key = hashlib.sha256(f"key:{salt}:{channel_key}".encode()).hexdigest()
        self.revoked = False  # tests flip it to play a revoked key
        self._lock = threading.Lock()
        self._post_ids = itertools.count(1001)
        self._topic_ids = itertools.count(401)
        self._user_ids = itertools.count(51)
        self._event_ids = itertools.count(1)
        self.posts: dict[int, dict[str, Any]] = {}  # Discourse post id → post
        self.post_of: dict[str, int] = {}  # simulator id (or our created id) → post id
        self.sim_of: dict[int, str] = {}  # post id → simulator id
        self.topics: dict[str, dict[str, Any]] = {}  # SimPost id / thread id → topic
        self.users: dict[str, dict[str, Any]] = {}  # SimAuthor id → user
        self.sim_author_of: dict[int, str] = {}  # user id → SimAuthor id

    def setup(self) -> ChannelSetup:
        return ChannelSetup(
            # Stable across demo runs (the fake server's port changes): the forum's public address.
            external_id=f"https://forum.lumen.example/{self.channel_key}",
            config={"api_base": self.api_base, "api_username": API_USERNAME},
            credentials={"api_key": self.api_key, "webhook_secret": self.webhook_secret},
        )

    # --- the forum's state --------------------------------------------------------------

    def _user(self, event: SimEvent) -> dict[str, Any]:
        if event.from_brand:
            return {
                "id": BRAND_USER_ID,
                "username": API_USERNAME,
                "name": "Équipe Lumen",
                "staff": True,
            }
        user = self.users.get(event.author.id)
        if user is None:
            user_id = next(self._user_ids)
            user = {
                "id": user_id,
                "username": _SLUG.sub("_", event.author.handle.lower())[:20] or f"user{user_id}",
                "name": event.author.name,
                "staff": False,
            }
            self.users[event.author.id] = user
            self.sim_author_of[user_id] = event.author.id
        return user

    def _topic(self, event: SimEvent) -> dict[str, Any] | None:
        if event.type == "message":
            key, private = f"pm:{event.thread_id or event.author.id}", True
            title = f"Message de {event.author.name}"
        elif event.type in {"comment", "reply"} and event.post is not None:
            key, title, private = f"post:{event.post.id}", event.post.text[:80], False
        elif event.type == "mention":
            key, title, private = f"mention:{event.id}", event.text[:80], False
        else:
            return None
        topic = self.topics.get(key)
        if topic is None:
            topic_id = next(self._topic_ids)
            topic = {
                "id": topic_id,
                "title": title,
                "slug": _slug(title),
                "archetype": "private_message" if private else "regular",
                "highest": 1 if key.startswith("post:") else 0,  # post 1: the brand's content
                "thread": event.thread_id,
                "created_at": _iso(
                    event.post.published_at
                    if key.startswith("post:") and event.post
                    else event.created_at
                ),
                # Who opened it: the brand's staff for its posts, a member for a mention.
                "opened_by": API_USERNAME
                if key.startswith("post:")
                else self._user(event)["username"],
                "opened_by_staff": key.startswith("post:"),
            }
            self.topics[key] = topic
        return topic

    def _new_post(
        self, topic: dict[str, Any], user: dict[str, Any], raw: str, when: datetime, parent: str
    ) -> dict[str, Any]:
        topic["highest"] += 1
        post_id = next(self._post_ids)
        reply_to = self.posts.get(self.post_of.get(parent, -1), {}).get("post_number")
        post = {
            "id": post_id,
            "name": user["name"],
            "username": user["username"],
            "avatar_template": f"/letter_avatar_proxy/v4/letter/{user['username'][:1]}/5f8ce5/{{size}}.png",
            "created_at": _iso(when),
            "cooked": "",
            "post_number": topic["highest"],
            "post_type": 1,
            "updated_at": _iso(when),
            "reply_count": 0,
            "reply_to_post_number": reply_to,
            "quote_count": 0,
            "incoming_link_count": 0,
            "reads": 1,
            "score": 0,
            "topic_id": topic["id"],
            "topic_slug": topic["slug"],
            "topic_title": topic["title"],
            "category_id": 4,
            "display_username": user["name"],
            "primary_group_name": "staff" if user["staff"] else None,
            "version": 1,
            "user_title": None,
            "bookmarked": False,
            "raw": raw,
            "moderator": user["staff"],
            "admin": user["staff"],
            "staff": user["staff"],
            "user_id": user["id"],
            "hidden": False,
            "trust_level": 4 if user["staff"] else 1,
            "deleted_at": None,
            "user_deleted": False,
            "edit_reason": None,
            "wiki": False,
            "topic_posts_count": topic["highest"],
            "topic_filtered_posts_count": topic["highest"],
            "topic_archetype": topic["archetype"],
            "category_slug": "general",
        }
        self.posts[post_id] = post
        return post

    # --- webhooks -------------------------------------------------------------------

    def webhooks(self, events: list[SimEvent]) -> list[WebhookDelivery]:
        deliveries = []
        for event in events:
            with self._lock:
                post = self._apply(event)
                if post is None:
                    continue
                event_id = next(self._event_ids)
            # Discourse sends UTF-8 JSON as is; the signature covers those bytes.
            body = json.dumps({"post": post}, ensure_ascii=False).encode()
            headers = {
                "Content-Type": "application/json",
                "X-Discourse-Instance": self.api_base,
                "X-Discourse-Event-Id": str(event_id),
                "X-Discourse-Event-Type": "post",
                "X-Discourse-Event": EVENTS.get(event.op, "post_created"),
                SIGNATURE_HEADER: sign(body, self.webhook_secret),
            }
            deliveries.append(WebhookDelivery(body=body, headers=headers))
        return deliveries

    def _apply(self, event: SimEvent) -> dict[str, Any] | None:
        """The forum's copy of the event's post after it (None: nothing a forum would send)."""
        known = self.post_of.get(event.id)
        if known is not None:
            post = self.posts[known]
            if event.op == "delete":
                post["deleted_at"] = _iso(event.created_at)
            elif event.op == "edit":
                post.update(raw=event.text, version=post["version"] + 1)
                post["updated_at"] = _iso(event.created_at)
            return dict(post)
        if event.op != "create":
            return None
        topic = self._topic(event)
        if topic is None:
            return None
        post = self._new_post(
            topic, self._user(event), event.text, event.created_at, event.parent_id
        )
        self.post_of[event.id] = post["id"]
        self.sim_of[post["id"]] = event.id
        return dict(post)

    def publish(self, events: list[SimEvent]) -> None:
        """Keep events without sending them: the latest-posts endpoint serves catch-up polls."""
        with self._lock:
            for event in events:
                self._apply(event)

    # --- the API ----------------------------------------------------------------------

    def handle(self, request: FakeRequest) -> FakeResponse:
        if self.revoked or (
            request.headers.get("api-key") != self.api_key
            or request.headers.get("api-username") != API_USERNAME
        ):
            return _error(
                403,
                "You are not permitted to view the requested resource. "
                "The API username or key is invalid.",
                "invalid_access",
            )
        parts = [p for p in request.path.split("/") if p]
        method = request.method
        if parts == ["posts.json"] and method == "POST":
            return self._create(request)
        if parts == ["posts.json"] and method == "GET":
            return self._latest(private=False)
        if parts == ["private-posts.json"] and method == "GET":
            return self._latest(private=True)
        if parts == ["post_actions.json"] and method == "POST":
            return self._post_action(request)
        if parts == ["u", f"{API_USERNAME}.json"] and method == "GET":
            user = {"id": BRAND_USER_ID, "username": API_USERNAME, "admin": True, "moderator": True}
            return _json(200, {"user": user})
        if len(parts) == 2 and parts[0] == "t" and parts[1].endswith(".json") and method == "GET":
            return self._topic_json(parts[1].removesuffix(".json"))
        if len(parts) == 2 and parts[0] == "posts" and parts[1].endswith(".json"):
            return self._post(request, parts[1].removesuffix(".json"))
        if len(parts) == 3 and parts[0] == "posts" and parts[2] == "unhide" and method == "PUT":
            return self._set_hidden(parts[1], False)
        if (
            len(parts) == 4
            and parts[:2] == ["admin", "users"]
            and parts[3] == "silence.json"
            and method == "PUT"
        ):
            author = self.sim_author_of.get(int(parts[2]) if parts[2].isdigit() else -1, parts[2])
            self.on_action(SimAction(kind="ban", target_id=author))
            return _json(200, {"silence": {"silenced": True, "silenced_till": None}})
        return _error(404, "The requested URL or resource could not be found.", "not_found")

    def _topic_json(self, topic_id: str) -> FakeResponse:
        """`GET /t/{id}.json`: the topic's title, slug, creation time and archetype."""
        with self._lock:
            topic = next((t for t in self.topics.values() if str(t["id"]) == topic_id), None)
            if topic is None or topic["archetype"] == "private_message":
                return _error(404, "The requested URL or resource could not be found.", "not_found")
            fields = ("id", "title", "slug", "created_at", "archetype")
            first = {
                "post_number": 1,
                "username": topic["opened_by"],
                "staff": topic["opened_by_staff"],
            }
            return _json(
                200,
                {k: topic[k] for k in fields}
                | {
                    "posts_count": topic["highest"],
                    "post_stream": {"posts": [first]},
                    "details": {"created_by": {"username": topic["opened_by"]}},
                },
            )

    def _body(self, request: FakeRequest) -> dict[str, Any]:
        try:
            data = json.loads(request.body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def _find(self, post_id: str) -> dict[str, Any] | None:
        return self.posts.get(int(post_id)) if post_id.isdigit() else None

    def _post(self, request: FakeRequest, post_id: str) -> FakeResponse:
        with self._lock:
            post = self._find(post_id)
            if post is None or (post["deleted_at"] and request.method == "DELETE"):
                return _error(404, "The requested URL or resource could not be found.", "not_found")
            if request.method == "GET":
                return _json(200, post)
            if request.method != "DELETE":
                return _error(404, "Not found", "not_found")
            post["deleted_at"] = _iso(datetime.now(UTC))
            target = self.sim_of.get(post["id"], post_id)
        self.on_action(SimAction(kind="delete", target_id=target))
        return FakeResponse(status=200, body=b"")

    def _create(self, request: FakeRequest) -> FakeResponse:
        data = self._body(request)
        raw = str(data.get("raw", "")).strip()
        topic_id = data.get("topic_id")
        if not raw or not isinstance(topic_id, int):
            return _json(422, {"action": "create_post", "errors": ["Body is too short"]})
        with self._lock:
            topic = next((t for t in self.topics.values() if t["id"] == topic_id), None)
            if topic is None:
                return _error(404, "The requested URL or resource could not be found.", "not_found")
            number = data.get("reply_to_post_number")
            parent = next(
                (
                    p
                    for p in self.posts.values()
                    if p["topic_id"] == topic_id and p["post_number"] == number
                ),
                None,
            )
            parent_sim = self.sim_of.get(parent["id"], "") if parent else ""
            brand = {
                "id": BRAND_USER_ID,
                "username": API_USERNAME,
                "name": "Équipe Lumen",
                "staff": True,
            }
            post = self._new_post(topic, brand, raw, datetime.now(UTC), parent_sim)
            created = str(post["id"])
            self.post_of[created] = post["id"]
            private = topic["archetype"] == "private_message"
        if private:
            action = SimAction(
                kind="send_private", target_id=topic["thread"], text=raw, created_id=created
            )
        else:
            action = SimAction(kind="reply", target_id=parent_sim, text=raw, created_id=created)
        self.on_action(action)
        return _json(200, post)

    def _latest(self, *, private: bool) -> FakeResponse:
        with self._lock:
            posts = [
                p
                for p in sorted(self.posts.values(), key=lambda p: p["id"], reverse=True)
                if (p["topic_archetype"] == "private_message") == private and not p["deleted_at"]
            ][:50]
        return _json(200, {"private_posts" if private else "latest_posts": posts})

    def _post_action(self, request: FakeRequest) -> FakeResponse:
        data = self._body(request)
        post_id, kind = str(data.get("id", "")), data.get("post_action_type_id")
        if kind == 2:
            with self._lock:
                post = self._find(post_id)
            if post is None:
                return _error(404, "Not found", "not_found")
            self.on_action(SimAction(kind="like", target_id=self.sim_of.get(post["id"], post_id)))
            return _json(200, post)
        if data.get("take_action") is True:
            return self._set_hidden(post_id, True)
        return _error(
            403, "You are not permitted to view the requested resource.", "invalid_access"
        )

    def _set_hidden(self, post_id: str, hidden: bool) -> FakeResponse:
        with self._lock:
            post = self._find(post_id)
            if post is None:
                return _error(404, "Not found", "not_found")
            post["hidden"] = hidden
            target = self.sim_of.get(post["id"], post_id)
        self.on_action(SimAction(kind="hide" if hidden else "unhide", target_id=target))
        return _json(200, post if hidden else {"success": "OK"})
