"""The Facebook wire: SimEvents as real Page webhook deliveries, and a small Graph API double.

Deliveries are what Facebook posts for a Page subscription (`object=page`):
`feed` changes for comments, replies and shares, `mention` changes, `ratings`
changes for reviews and `messaging` events for Messenger, signed with the
app secret in `X-Hub-Signature-256` over the exact bytes (Facebook escapes
non-ASCII as \\uXXXX, so do we). `handle` answers every Graph endpoint that
`cercle.connectors.facebook` calls, below `{api_base}/v21.0`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from cercle.connectors.facebook.client import GRAPH_VERSION
from cercle.connectors.facebook.connector import SIGNATURE_HEADER, sign

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

VERBS = {"create": "add", "edit": "edited", "delete": "remove"}
MID_PREFIX = "m_"  # Messenger message ids look like "m_…"


def _secret(channel_key: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{channel_key}".encode()).hexdigest()[:32]


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


def mid(event_id: str) -> str:
    """The Messenger id of a simulated message."""
    return MID_PREFIX + event_id


def unmid(message_id: str) -> str:
    return message_id.removeprefix(MID_PREFIX)


def _json(status: int, data: Any) -> FakeResponse:
    return FakeResponse(status=status, body=json.dumps(data).encode())


def _error(code: int, message: str, status: int = 400, subcode: int | None = None) -> FakeResponse:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "SimTrace",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return _json(status, {"error": error})


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


class FacebookWire(Wire):
    """Plays Facebook for one simulated Page (thread-safe: the fake platform server is threaded)."""

    platform = "facebook"

    def __init__(
        self, channel_key: str, api_base: str, on_action: ActionListener, salt: str = ""
    ) -> None:
        super().__init__(channel_key, api_base, on_action)
        salt = salt or secrets.token_hex(16)
        digest = hashlib.sha256(f"page:{channel_key}".encode()).hexdigest()
        self.page_id = str(100_000_000_000_000 + int(digest[:12], 16) % 900_000_000_000_000)
        self.page_name = f"Lumen ({channel_key})"
        self.app_id = str(int(digest[12:20], 16))
        self.app_secret = _secret(channel_key, "app:" + salt)
        self.page_token = "EAA" + _secret(channel_key, "page:" + salt)
        self.user_token = "EAA" + _secret(channel_key, "user:" + salt)
        self.revoked = False  # tests flip it to play a revoked token
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        # What the fake Graph knows: posts, comments (ours and the community's), Messenger threads.
        self.posts: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, dict[str, Any]] = {}
        self.replies: dict[str, list[str]] = {}
        self.hidden: set[str] = set()
        self.deleted: set[str] = set()
        self.privately_replied: set[str] = set()
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.thread_of: dict[str, str] = {}  # PSID → simulator thread id
        self.psid_of: dict[str, str] = {}  # simulator thread id → PSID

    def setup(self) -> ChannelSetup:
        return ChannelSetup(
            external_id=self.page_id,
            config={"api_base": self.api_base, "app_id": self.app_id},
            credentials={
                "app_id": self.app_id,
                "app_secret": self.app_secret,
                "page_access_token": self.page_token,
            },
        )

    # --- webhooks ------------------------------------------------------------------

    def webhooks(self, events: list[SimEvent]) -> list[WebhookDelivery]:
        deliveries = []
        for event in events:
            self._remember(event)
            entry: dict[str, Any] = {"id": self.page_id, "time": _epoch(event.created_at)}
            if event.type == "message":
                entry["messaging"] = [self._messaging(event)]
            else:
                change = self._change(event)
                if change is None:
                    continue
                entry["changes"] = [change]
            # Facebook signs the escaped-unicode JSON it sends; json.dumps escapes by default.
            body = json.dumps({"object": "page", "entry": [entry]}, separators=(",", ":")).encode()
            deliveries.append(
                WebhookDelivery.signed_json(body, SIGNATURE_HEADER, sign(body, self.app_secret))
            )
        return deliveries

    def publish(self, events: list[SimEvent]) -> None:
        """Facebook pushes; keeping the events lets the feed endpoint serve catch-up polls."""
        for event in events:
            self._remember(event)

    def _author(self, event: SimEvent) -> dict[str, str]:
        if event.from_brand:
            return {"id": self.page_id, "name": self.page_name}
        return {"id": event.author.id, "name": event.author.name}

    def _change(self, event: SimEvent) -> dict[str, Any] | None:
        verb = VERBS.get(event.op, "add")
        when = _epoch(event.created_at)
        if event.type in {"comment", "reply"} and event.post is not None:
            value: dict[str, Any] = {
                "from": self._author(event),
                "post": {
                    "id": event.post.id,
                    "permalink_url": event.post.url,
                    "status_type": "added_photos",
                },
                "message": event.text,
                "post_id": event.post.id,
                "comment_id": event.id,
                "created_time": when,
                "item": "comment",
                "parent_id": event.parent_id or event.post.id,
                "verb": verb,
            }
            return {"field": "feed", "value": value}
        if event.type in {"mention", "comment", "reply"}:
            value = {
                "message": event.text,
                "post_id": event.id,
                "created_time": when,
                "item": "post",
                "verb": verb,
                "sender_id": event.author.id,
                "sender_name": event.author.name,
            }
            return {"field": "mention", "value": value}
        if event.type == "share":
            value = {
                "item": "share",
                "verb": verb,
                "share_id": event.id,
                "post_id": event.id,
                "sender_id": event.author.id,
                "sender_name": event.author.name,
                "created_time": when,
                "published": 1,
                "message": event.text,
            }
            if event.post is not None:
                value["link"] = event.post.url
            return {"field": "feed", "value": value}
        if event.type == "review":
            value = {
                "item": "rating",
                "verb": verb,
                "open_graph_story_id": event.id,
                "reviewer_id": event.author.id,
                "reviewer_name": event.author.name,
                "review_text": event.text,
                "created_time": when,
            }
            if event.rating is not None:
                value["rating"] = event.rating
                value["recommendation_type"] = "positive" if event.rating >= 3 else "negative"
            return {"field": "ratings", "value": value}
        return None

    def _messaging(self, event: SimEvent) -> dict[str, Any]:
        with self._lock:
            thread = event.thread_id or event.author.id
            psid = self.psid_of.get(thread) or (thread if event.from_brand else event.author.id)
            self.psid_of.setdefault(thread, psid)
            self.thread_of.setdefault(psid, thread)
        sender, recipient = (self.page_id, psid) if event.from_brand else (psid, self.page_id)
        data: dict[str, Any] = {
            "sender": {"id": sender},
            "recipient": {"id": recipient},
            "timestamp": _epoch(event.created_at) * 1000,
        }
        if event.op == "edit":
            data["message_edit"] = {"mid": mid(event.id), "text": event.text, "num_edit": 1}
        elif event.op == "delete":
            data["message"] = {"mid": mid(event.id), "is_deleted": True}
        else:
            message: dict[str, Any] = {"mid": mid(event.id), "text": event.text}
            if event.from_brand:
                message.update({"is_echo": True, "app_id": int(self.app_id)})
            data["message"] = message
        return data

    def _remember(self, event: SimEvent) -> None:
        if event.type not in {"comment", "reply"} or event.post is None:
            return
        with self._lock:
            post = event.post
            self.posts.setdefault(
                post.id,
                {
                    "id": post.id,
                    "message": post.text,
                    "created_time": _iso(post.published_at),
                    "permalink_url": post.url,
                },
            )
            if event.op == "delete":
                self.deleted.add(event.id)
                return
            comment = {
                "id": event.id,
                "message": event.text,
                "created_time": _iso(event.created_at),
                "from": self._author(event),
                "post_id": post.id,
                "is_hidden": False,
            }
            if event.parent_id:
                comment["parent"] = {"id": event.parent_id}
            self.comments[event.id] = comment

    # --- the Graph API -----------------------------------------------------------------

    def handle(self, request: FakeRequest) -> FakeResponse:
        prefix = f"/{GRAPH_VERSION}/"
        if not request.path.startswith(prefix):
            return _error(2500, "Unknown path components", 400)
        parts = [p for p in request.path[len(prefix) :].split("/") if p]
        if parts == ["oauth", "access_token"] and request.method == "GET":
            return self._oauth(request)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.revoked or token not in {self.page_token, self.user_token}:
            return _error(190, "Error validating access token: Session has expired.", 400, 463)
        if parts == ["me", "accounts"] and request.method == "GET":
            page = {
                "id": self.page_id,
                "name": self.page_name,
                "access_token": self.page_token,
                "tasks": ["MODERATE"],
            }
            return _json(200, {"data": [page]})
        if len(parts) == 1:
            return self._node(request, parts[0])
        if len(parts) == 2:
            node, edge = parts
            if node == self.page_id:
                return self._page_edge(request, edge)
            if edge == "comments":
                return self._comments(request, node)
            if edge == "likes" and request.method == "POST":
                self.on_action(SimAction(kind="like", target_id=unmid(node)))
                return _json(200, {"success": True})
        return _error(100, "Unsupported request - method type or edge unknown", 400)

    def _oauth(self, request: FakeRequest) -> FakeResponse:
        query = {k: v[0] for k, v in request.query.items() if v}
        if query.get("client_secret") != self.app_secret:
            return _error(1, "Error validating client secret.", 400)
        if query.get("grant_type") == "fb_exchange_token" or query.get("code"):
            return _json(
                200,
                {"access_token": self.user_token, "token_type": "bearer", "expires_in": 5183944},
            )
        return _error(100, "Missing code", 400)

    def _form(self, request: FakeRequest) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                data = json.loads(request.body)
            except (UnicodeDecodeError, json.JSONDecodeError):
                return {}
            return data if isinstance(data, dict) else {}
        return {k: v[0] for k, v in parse_qs(request.body.decode(errors="replace")).items() if v}

    def _node(self, request: FakeRequest, node: str) -> FakeResponse:
        if node == self.page_id and request.method == "GET":
            return _json(200, {"id": self.page_id, "name": self.page_name})
        with self._lock:
            gone = node in self.deleted
            by_page = self.comments.get(node, {}).get("from", {}).get("id") == self.page_id
            post = self.posts.get(node)
        if gone:
            return _error(100, f"Object with ID '{node}' does not exist", 400, 33)
        if post is not None and request.method == "GET":
            return self._post(request, post)
        if request.method == "GET":
            return _json(
                200,
                {
                    "id": node,
                    "can_hide": not by_page,
                    "is_hidden": node in self.hidden,
                    "can_reply_privately": node not in self.privately_replied,
                },
            )
        if request.method == "POST":
            hidden = self._form(request).get("is_hidden") == "true"
            with self._lock:
                (self.hidden.add if hidden else self.hidden.discard)(node)
            self.on_action(SimAction(kind="hide" if hidden else "unhide", target_id=node))
            return _json(200, {"success": True})
        if request.method == "DELETE":
            with self._lock:
                self.deleted.add(node)
            self.on_action(SimAction(kind="delete", target_id=node))
            return _json(200, {"success": True})
        return _error(100, "Unsupported method", 400)

    def _post(self, request: FakeRequest, post: dict[str, Any]) -> FakeResponse:
        """`GET /{post-id}?fields=…`: the Page post with the fields asked (id always)."""
        asked = {f for f in (request.query.get("fields") or [""])[0].split(",") if f}
        return _json(200, {k: v for k, v in post.items() if k == "id" or k in asked})

    def _comments(self, request: FakeRequest, target: str) -> FakeResponse:
        if request.method == "GET":
            with self._lock:
                data = [
                    self.comments[c] for c in self.replies.get(target, []) if c in self.comments
                ]
            return _json(200, {"data": list(reversed(data))})
        if request.method != "POST":
            return _error(100, "Unsupported method", 400)
        text = str(self._form(request).get("message", ""))
        if not text:
            return _error(100, "(#100) The parameter message is required", 400)
        with self._lock:
            if target in self.deleted:
                return _error(100, f"Object with ID '{target}' does not exist", 400, 33)
            created = f"{target}_r{next(self._ids)}"
            parent = self.comments.get(target, {})
            self.comments[created] = {
                "id": created,
                "message": text,
                "created_time": _iso(datetime.now(UTC)),
                "from": {"id": self.page_id, "name": self.page_name},
                "post_id": parent.get("post_id", ""),
                "parent": {"id": target},
                "is_hidden": False,
            }
            self.replies.setdefault(target, []).append(created)
        self.on_action(SimAction(kind="reply", target_id=target, text=text, created_id=created))
        return _json(200, {"id": created})

    def _page_edge(self, request: FakeRequest, edge: str) -> FakeResponse:
        if edge == "messages" and request.method == "POST":
            return self._send(request)
        if edge == "blocked" and request.method == "POST":
            form = self._form(request)
            people = form.get("asid") or form.get("psid") or form.get("user") or []
            person = str(people[0]) if isinstance(people, list) and people else ""
            if not person:
                return _error(100, "(#100) No user to block", 400)
            self.on_action(SimAction(kind="ban", target_id=person))
            return _json(200, {person: True})
        if edge == "conversations" and request.method == "GET":
            psid = (request.query.get("user_id") or [""])[0]
            with self._lock:
                messages = list(reversed(self.messages.get(psid, [])))
            return _json(200, {"data": [{"id": f"t_{psid}", "messages": {"data": messages}}]})
        if edge == "feed" and request.method == "GET":
            return self._feed()
        return _error(100, "Unsupported request", 400)

    def _send(self, request: FakeRequest) -> FakeResponse:
        payload = self._form(request)
        recipient = payload.get("recipient") if isinstance(payload.get("recipient"), dict) else {}
        message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
        text = str(message.get("text", "")) if isinstance(message, dict) else ""
        if not text or not isinstance(recipient, dict):
            return _error(100, "(#100) message text and recipient are required", 400)
        created = mid(f"{self.channel_key}-brand-{next(self._ids)}")
        if "comment_id" in recipient:
            comment_id = str(recipient["comment_id"])
            with self._lock:
                if comment_id in self.privately_replied:
                    return _error(10900, "Activity already replied to", 400)
                self.privately_replied.add(comment_id)
                author = self.comments.get(comment_id, {}).get("from", {}).get("id", comment_id)
            self.on_action(
                SimAction(kind="private_reply", target_id=comment_id, text=text, created_id=created)
            )
            return _json(200, {"recipient_id": author, "message_id": created})
        psid = str(recipient.get("id", ""))
        if not psid:
            return _error(100, "(#100) recipient is required", 400)
        with self._lock:
            self.messages.setdefault(psid, []).append(
                {
                    "id": created,
                    "message": text,
                    "from": {"id": self.page_id},
                    "created_time": _iso(datetime.now(UTC)),
                }
            )
            thread = self.thread_of.get(psid, psid)
        self.on_action(
            SimAction(kind="send_private", target_id=thread, text=text, created_id=created)
        )
        return _json(200, {"recipient_id": psid, "message_id": created})

    def _feed(self) -> FakeResponse:
        with self._lock:
            posts = sorted(self.posts.values(), key=lambda p: p["created_time"], reverse=True)[:25]
            data = []
            for post in posts:
                comments = [
                    {k: v for k, v in c.items() if k != "post_id"}
                    | {"is_hidden": c["id"] in self.hidden}
                    for c in self.comments.values()
                    if c.get("post_id") == post["id"] and c["id"] not in self.deleted
                ]
                comments.sort(key=lambda c: c["created_time"], reverse=True)
                data.append({**post, "comments": {"data": comments}})
        return _json(200, {"data": data})
