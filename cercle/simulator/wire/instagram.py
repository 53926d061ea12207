"""The simulator speaking Instagram: Meta webhooks (`object=instagram`) and the Graph API.

`webhooks()` turns SimEvents into the deliveries Meta would POST, signed with
`X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the app secret):
comments and replies under the brand's media as `changes[field=comments]`,
mentions as `changes[field=mentions]` (ids only, as Meta sends them), direct
messages, their edits, unsends and our own echoes as `messaging[]`. Instagram
sends no webhook for a comment's edit or deletion, so those events are dropped.

`handle()` plays the Graph API endpoints `cercle.connectors.instagram.client`
calls (under `/v21.0`): comment replies, hide/unhide, delete, private replies
and DMs, and the listings used for polling catch-up and reconciliation.
Performed actions are reported through `on_action`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from cercle.connectors.instagram.client import GRAPH_VERSION, appsecret_proof
from cercle.connectors.instagram.connector import SIGNATURE_HEADER, sign

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

PREFIX = "/" + GRAPH_VERSION


def _digits(*parts: str, length: int = 17) -> str:
    """A stable, Instagram-looking numeric id from simulator names."""
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return "178" + str(int(digest[:24], 16))[: length - 3].rjust(length - 3, "0")


def _iso(when: datetime) -> str:
    """Meta's timestamp format: 2017-08-31T18:10:30+0000."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass
class _Comment:
    id: str
    media_id: str
    author_id: str
    username: str
    text: str
    timestamp: str
    parent_id: str = ""
    hidden: bool = False
    deleted: bool = False
    replies: list[str] = field(default_factory=list)

    def resource(self, store: dict[str, _Comment], with_replies: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "text": self.text,
            "timestamp": self.timestamp,
            "username": self.username,
            "from": {"id": self.author_id, "username": self.username},
            "hidden": self.hidden,
        }
        if self.parent_id:
            data["parent_id"] = self.parent_id
        if with_replies:
            listed = [
                store[r].resource(store)
                for r in self.replies
                if r in store and not store[r].deleted
            ]
            if listed:
                data["replies"] = {"data": listed}
        return data


@dataclass
class _Message:
    id: str
    user_id: str  # the customer's IGSID: the conversation it belongs to
    from_id: str
    username: str
    text: str
    created_time: str


class InstagramWire(Wire):
    """Plays Instagram for one simulated channel (thread-safe: the fake server is threaded)."""

    platform = "instagram"
    batch_size = 1  # events per webhook delivery

    def __init__(
        self, channel_key: str, api_base: str, on_action: ActionListener, salt: str = ""
    ) -> None:
        super().__init__(channel_key, api_base, on_action)
        salt = salt or secrets.token_hex(16)
        self.account_id = _digits("ig-account", channel_key)
        self.username = "lumen." + "".join(c for c in channel_key if c.isalnum())[:20]
        self.app_secret = hashlib.sha256(f"secret:{salt}:{channel_key}".encode()).hexdigest()[:32]
        self.access_token = (
            "EAAG" + hashlib.sha256(f"token:{salt}:{channel_key}".encode()).hexdigest()[:40]
        )
        self.revoked = False  # tests flip it to play a revoked token
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._comments: dict[str, _Comment] = {}
        self._media: dict[str, dict[str, Any]] = {}
        self._messages: list[_Message] = []
        self._mentions: dict[
            str, dict[str, Any]
        ] = {}  # comment id → mention on another account's media
        self._thread_of_user: dict[str, str] = {}  # IGSID → the simulator's thread id
        self._user_of_thread: dict[str, str] = {}

    def setup(self) -> ChannelSetup:
        return ChannelSetup(
            external_id=self.account_id,
            config={
                "api_base": self.api_base,
                "sim_channel_key": self.channel_key,
                "username": self.username,
            },
            credentials={
                "app_id": _digits("ig-app", self.channel_key, length=15),
                "app_secret": self.app_secret,
                "access_token": self.access_token,
            },
        )

    # --- SimEvents → webhook deliveries ---------------------------------------------------

    def webhooks(self, events: list[SimEvent]) -> list[WebhookDelivery]:
        # Comment values carry no time of their own: Meta stamps each entry, so
        # every event gets its own entry stamped with when it was written.
        entries: list[dict[str, Any]] = []
        for event in events:
            converted = self._record(event)
            if converted is not None:
                key, item = converted
                entries.append(
                    {"id": self.account_id, "time": int(event.created_at.timestamp()), key: [item]}
                )
        deliveries = []
        for start in range(0, len(entries), self.batch_size):
            chunk = entries[start : start + self.batch_size]
            body = json.dumps({"object": "instagram", "entry": chunk}, ensure_ascii=False).encode()
            deliveries.append(
                WebhookDelivery.signed_json(body, SIGNATURE_HEADER, sign(body, self.app_secret))
            )
        return deliveries

    def publish(self, events: list[SimEvent]) -> None:
        """Make events visible to the listing endpoints without pushing them (catch-up tests)."""
        for event in events:
            self._record(event)

    def _record(self, event: SimEvent) -> tuple[str, dict[str, Any]] | None:
        """Keep the event in the fake platform's state; return (entry key, item) to push, if any."""
        with self._lock:
            if event.type in {"comment", "reply"} and event.post is not None:
                return self._record_comment(event)
            if event.type == "mention":
                media_id = event.post.id if event.post is not None else f"{event.id}-media"
                self._mentions[event.id] = {
                    "media_id": media_id,
                    "text": event.text,
                    "username": event.author.handle,
                    "replies": [],
                }
                return "changes", {
                    "field": "mentions",
                    "value": {"comment_id": event.id, "media_id": media_id},
                }
            if event.type in {"message", "share"}:
                return self._record_message(event)
        return None  # reviews do not exist on Instagram

    def _record_comment(self, event: SimEvent) -> tuple[str, dict[str, Any]] | None:
        assert event.post is not None
        post = event.post
        self._media.setdefault(
            post.id,
            {
                "id": post.id,
                "caption": post.text,
                "permalink": post.url,
                "timestamp": _iso(post.published_at),
                "media_product_type": "FEED",
            },
        )
        if event.op != "create":
            # Instagram notifies neither comment edits nor deletions.
            if event.op == "delete" and event.id in self._comments:
                self._comments[event.id].deleted = True
            return None
        author_id = self.account_id if event.from_brand else event.author.id
        username = self.username if event.from_brand else event.author.handle
        parent = event.parent_id
        # Instagram threads one level deep: a reply to a reply hangs under the top-level comment.
        if parent in self._comments and self._comments[parent].parent_id:
            parent = self._comments[parent].parent_id
        comment = _Comment(
            id=event.id,
            media_id=post.id,
            author_id=author_id,
            username=username,
            text=event.text,
            timestamp=_iso(event.created_at),
            parent_id=parent,
        )
        self._comments[event.id] = comment
        if parent in self._comments:
            self._comments[parent].replies.append(event.id)
        value: dict[str, Any] = {
            "from": {"id": author_id, "username": username},
            "media": {"id": post.id, "media_product_type": "FEED"},
            "id": event.id,
            "text": event.text,
        }
        if parent:
            value["parent_id"] = parent
        return "changes", {"field": "comments", "value": value}

    def _record_message(self, event: SimEvent) -> tuple[str, dict[str, Any]]:
        thread = event.thread_id or event.author.id
        if event.from_brand:
            user = self._user_of_thread.get(thread, thread)
        else:
            user = event.author.id
            self._thread_of_user[user] = thread
            self._user_of_thread[thread] = user
        sender, recipient = (self.account_id, user) if event.from_brand else (user, self.account_id)
        stamp = int(event.created_at.timestamp() * 1000)
        base = {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": stamp}
        if event.op == "delete":
            return "messaging", {**base, "message": {"mid": event.id, "is_deleted": True}}
        if event.op == "edit":
            return "messaging", {
                **base,
                "message_edit": {"mid": event.id, "text": event.text, "num_edit": 1},
            }
        self._messages.append(
            _Message(
                id=event.id,
                user_id=user,
                from_id=sender,
                username=self.username if event.from_brand else event.author.handle,
                text=event.text,
                created_time=_iso(event.created_at),
            )
        )
        message: dict[str, Any] = {"mid": event.id, "text": event.text}
        if event.type == "share" and event.post is not None:
            message["attachments"] = [{"type": "share", "payload": {"url": event.post.url}}]
        if event.from_brand:
            message["is_echo"] = True
        return "messaging", {**base, "message": message}

    # --- the Graph API ------------------------------------------------------------------

    def handle(self, request: FakeRequest) -> FakeResponse:
        if not self._authorised(request):
            return _error(
                400, 190, "Error validating access token: The session has been invalidated.", 460
            )
        if not request.path.startswith(PREFIX + "/"):
            return _error(400, 2500, "Unknown path components")
        parts = [unquote(p) for p in request.path[len(PREFIX) + 1 :].split("/") if p]
        form = _form(request)
        method = request.method.upper()
        if len(parts) == 1 and parts[0] == self.account_id and method == "GET":
            fields = (request.query.get("fields") or [""])[0]
            if fields.startswith("mentioned_comment.comment_id("):
                return self._mentioned_comment(
                    fields.removeprefix("mentioned_comment.comment_id(").split(")")[0]
                )
            return _json(200, {"id": self.account_id, "username": self.username, "name": "Lumen"})
        if len(parts) == 2 and parts[0] == self.account_id:
            return self._account_edge(method, parts[1], request)
        if len(parts) == 2 and parts[1] == "replies":
            return self._replies(method, parts[0], form)
        if len(parts) == 2 and parts[1] == "comments" and method == "GET":
            return self._media_comments(parts[0])
        if len(parts) == 1 and method == "GET":
            with self._lock:
                media = self._media.get(parts[0])
            if media is not None:
                # GET /{ig-media-id}?fields=…: the fields asked of one of the account's media.
                asked = {f for f in (request.query.get("fields") or [""])[0].split(",") if f}
                return _json(200, {k: v for k, v in media.items() if k == "id" or k in asked})
        if len(parts) == 1:
            return self._comment(method, parts[0], form)
        return _error(400, 100, "Unsupported request")

    def _authorised(self, request: FakeRequest) -> bool:
        if (
            self.revoked
            or request.headers.get("authorization", "") != f"Bearer {self.access_token}"
        ):
            return False
        proof = (request.query.get("appsecret_proof") or [""])[0]
        return proof == appsecret_proof(self.access_token, self.app_secret)

    def _account_edge(self, method: str, edge: str, request: FakeRequest) -> FakeResponse:
        if edge == "media" and method == "GET":
            with self._lock:
                media = [
                    {
                        **m,
                        "comments_count": sum(
                            1
                            for c in self._comments.values()
                            if c.media_id == m["id"] and not c.deleted
                        ),
                    }
                    for m in sorted(
                        self._media.values(), key=lambda m: m["timestamp"], reverse=True
                    )
                ]
            limit = int((request.query.get("limit") or ["25"])[0])
            return _json(200, {"data": media[:limit]})
        if edge == "tags" and method == "GET":
            return _json(200, {"data": []})  # the community does not tag the brand in its own posts
        if edge == "mentions" and method == "POST":
            return self._reply_to_mention(_form(request))
        if edge == "messages" and method == "POST":
            return self._send_message(request)
        if edge == "conversations" and method == "GET":
            user = (request.query.get("user_id") or [""])[0]
            with self._lock:
                listed = [m for m in self._messages if m.user_id == user]
            messages = [
                {
                    "id": m.id,
                    "message": m.text,
                    "from": {"id": m.from_id, "username": m.username},
                    "created_time": m.created_time,
                }
                for m in reversed(listed)
            ]
            data = (
                [{"id": _digits("conversation", user), "messages": {"data": messages[:20]}}]
                if messages
                else []
            )
            return _json(200, {"data": data})
        return _error(400, 100, "Unsupported request")

    def _send_message(self, request: FakeRequest) -> FakeResponse:
        try:
            payload = json.loads(request.body)
            recipient = payload["recipient"]
            text = str(payload["message"]["text"])
        except (ValueError, KeyError, TypeError):
            return _error(400, 100, "(#100) The parameter recipient is required")
        now = _iso(datetime.now(UTC))
        with self._lock:
            mid = f"aWdfZAG1faXRlbToxOklHTWVzc2FnZA{self.channel_key}-{next(self._ids)}"
            if isinstance(recipient, dict) and recipient.get("comment_id"):
                comment = self._comments.get(str(recipient["comment_id"]))
                if comment is None or comment.deleted:
                    return _error(400, 100, "(#100) Invalid comment_id", 33)
                user, kind, target = comment.author_id, "private_reply", comment.id
            elif isinstance(recipient, dict) and recipient.get("id"):
                user, kind = str(recipient["id"]), "send_private"
                target = self._thread_of_user.get(user, user)
            else:
                return _error(400, 100, "(#100) The parameter recipient is required")
            self._messages.append(_Message(mid, user, self.account_id, self.username, text, now))
        self.on_action(
            SimAction(kind=kind, target_id=target, text=text, created_id=mid, raw=payload)
        )
        return _json(200, {"recipient_id": user, "message_id": mid})

    def _reply_to_mention(self, form: dict[str, str]) -> FakeResponse:
        comment_id, text = form.get("comment_id", ""), form.get("message", "")
        if not text:
            return _error(400, 100, "(#100) The parameter message is required")
        with self._lock:
            mention = self._mentions.get(comment_id)
            if mention is None or mention["media_id"] != form.get("media_id"):
                return _not_found(comment_id or form.get("media_id", ""))
            created = _digits("mention-reply", self.channel_key, str(next(self._ids)))
            mention["replies"].append(
                {
                    "id": created,
                    "text": text,
                    "username": self.username,
                    "timestamp": _iso(datetime.now(UTC)),
                }
            )
        self.on_action(
            SimAction(
                kind="reply", target_id=comment_id, text=text, created_id=created, raw=dict(form)
            )
        )
        return _json(200, {"id": created})

    def _mentioned_comment(self, comment_id: str) -> FakeResponse:
        with self._lock:
            mention = self._mentions.get(comment_id)
            if mention is None:
                return _not_found(comment_id)
            node = {
                "id": comment_id,
                "text": mention["text"],
                "username": mention["username"],
                "replies": {"data": list(mention["replies"])},
            }
        return _json(200, {"id": self.account_id, "mentioned_comment": node})

    def _replies(self, method: str, comment_id: str, form: dict[str, str]) -> FakeResponse:
        with self._lock:
            comment = self._comments.get(comment_id)
            if comment is None or comment.deleted:
                return _not_found(comment_id)
            top = self._comments.get(comment.parent_id, comment) if comment.parent_id else comment
            if method == "GET":
                return _json(
                    200,
                    {
                        "data": [
                            self._comments[r].resource(self._comments)
                            for r in top.replies
                            if not self._comments[r].deleted
                        ]
                    },
                )
            if method != "POST":
                return _error(400, 100, "Unsupported request")
            text = form.get("message", "")
            if not text:
                return _error(400, 100, "(#100) The parameter message is required")
            if comment.hidden:
                return _error(400, 100, "(#100) Cannot reply to a hidden comment")
            created = _digits("reply", self.channel_key, str(next(self._ids)))
            self._comments[created] = _Comment(
                id=created,
                media_id=top.media_id,
                author_id=self.account_id,
                username=self.username,
                text=text,
                timestamp=_iso(datetime.now(UTC)),
                parent_id=top.id,
            )
            top.replies.append(created)
        self.on_action(
            SimAction(
                kind="reply", target_id=comment_id, text=text, created_id=created, raw=dict(form)
            )
        )
        return _json(200, {"id": created})

    def _media_comments(self, media_id: str) -> FakeResponse:
        with self._lock:
            if media_id not in self._media:
                return _not_found(media_id)
            top = [
                c.resource(self._comments, with_replies=True)
                for c in self._comments.values()
                if c.media_id == media_id and not c.parent_id and not c.deleted
            ]
        return _json(200, {"data": top})

    def _comment(self, method: str, comment_id: str, form: dict[str, str]) -> FakeResponse:
        with self._lock:
            comment = self._comments.get(comment_id)
            if comment is None or comment.deleted:
                return _not_found(comment_id)
            if method == "GET":
                return _json(200, comment.resource(self._comments))
            if method == "POST" and form.get("hide") in {"true", "false"}:
                comment.hidden = form["hide"] == "true"
                kind = "hide" if comment.hidden else "unhide"
            elif method == "DELETE":
                comment.deleted = True
                kind = "delete"
            else:
                return _error(400, 100, "Unsupported request")
        self.on_action(SimAction(kind=kind, target_id=comment_id, raw=dict(form)))
        return _json(200, {"success": True})


def _form(request: FakeRequest) -> dict[str, str]:
    content_type = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" not in content_type:
        return {}
    try:
        return {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    except UnicodeDecodeError:
        return {}


def _json(status: int, data: dict[str, Any]) -> FakeResponse:
    return FakeResponse(status=status, body=json.dumps(data, ensure_ascii=False).encode())


def _error(status: int, code: int, message: str, subcode: int | None = None) -> FakeResponse:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "SimTrace",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return _json(status, {"error": error})


def _not_found(object_id: str) -> FakeResponse:
    return _error(
        400,
        100,
        f"Unsupported request. Object with ID '{object_id[:80]}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation.",
        33,
    )
