"""The Mastodon wire: SimEvents as an account's notifications on a small Mastodon instance double.

Mastodon pushes nothing to Cercle: the wire keeps what happened as
Notification entities (`mention`, a `direct` mention for a private message,
`reblog` for a share) that `GET /api/v1/notifications` lists with `min_id`
paging, a `Link` header and `X-RateLimit-*` headers, like the real API; it
answers replies (honouring `Idempotency-Key`), deletes, blocks, reports and
favourites, and reports each to the simulator. Edits, deletions and reviews
have no notification on Mastodon and are not sent.
"""

from __future__ import annotations

import html
import itertools
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from .base import (
    ActionListener,
    ChannelSetup,
    FakeRequest,
    FakeResponse,
    SimAction,
    SimEvent,
    Wire,
)

BRAND_ID = "109000000000000001"
BRAND_ACCT = "lumen"
TOKEN_PREFIX = "sim-mastodon-"
RATE_LIMIT = 300


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class MastodonWire(Wire):
    """Plays one Mastodon account on its instance (thread-safe: the fake server is threaded)."""

    platform = "mastodon"

    def __init__(self, channel_key: str, api_base: str, on_action: ActionListener) -> None:
        super().__init__(channel_key, api_base, on_action)
        self.token = f"{TOKEN_PREFIX}{channel_key}"
        self._lock = threading.Lock()
        self._ids = itertools.count(109_100_000_000_000_001)
        self._notification_ids = itertools.count(1)
        self.brand = self._account(BRAND_ID, BRAND_ACCT, "Maison Lumen")
        self.accounts: dict[str, dict[str, Any]] = {}  # SimAuthor id → account
        self.sim_author_of: dict[str, str] = {}  # account id → SimAuthor id
        self.statuses: dict[str, dict[str, Any]] = {}
        self.status_of: dict[str, str] = {}  # simulator id (or our created id) → status id
        self.sim_of: dict[str, str] = {}  # status id → simulator id
        self.thread_of: dict[str, str] = {}  # direct status id → simulator thread id
        self.notifications: list[dict[str, Any]] = []
        self.blocked: set[str] = set()
        self.idempotent: dict[str, str] = {}  # Idempotency-Key → status id

    def setup(self) -> ChannelSetup:
        return ChannelSetup(
            external_id=f"https://mastodon.lumen.example/@{BRAND_ACCT}",
            config={"api_base": self.api_base, "account_id": BRAND_ID},
            credentials={"access_token": self.token},
        )

    # --- the instance's state ---------------------------------------------------------

    def _account(self, account_id: str, acct: str, name: str) -> dict[str, Any]:
        return {
            "id": account_id,
            "username": acct,
            "acct": acct,
            "display_name": name,
            "url": f"{self.api_base}/@{acct}",
            "avatar": f"{self.api_base}/avatars/original/missing.png",
            "avatar_static": f"{self.api_base}/avatars/original/missing.png",
        }

    def _author(self, event: SimEvent) -> dict[str, Any]:
        account = self.accounts.get(event.author.id)
        if account is None:
            acct = "".join(c for c in event.author.handle.lower() if c.isalnum() or c == "_")
            account = self._account(str(next(self._ids)), acct or "someone", event.author.name)
            self.accounts[event.author.id] = account
            self.sim_author_of[account["id"]] = event.author.id
        return account

    def _status(
        self,
        account: dict[str, Any],
        text: str,
        when: datetime,
        *,
        reply_to: dict[str, Any] | None = None,
        visibility: str = "public",
        mention_brand: bool = True,
    ) -> dict[str, Any]:
        status_id = str(next(self._ids))
        mention = (
            f'<span class="h-card"><a href="{self.brand["url"]}" class="u-url mention">'
            f"@<span>{BRAND_ACCT}</span></a></span> "
            if mention_brand
            else ""
        )
        status = {
            "id": status_id,
            "created_at": _iso(when),
            "in_reply_to_id": reply_to["id"] if reply_to else None,
            "in_reply_to_account_id": reply_to["account"]["id"] if reply_to else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": visibility,
            "language": None,
            "uri": f"{self.api_base}/users/{account['acct']}/statuses/{status_id}",
            "url": f"{self.api_base}/@{account['acct']}/{status_id}",
            "edited_at": None,
            "content": f"<p>{mention}{html.escape(text)}</p>",
            "account": account,
            "mentions": [{"id": BRAND_ID, "acct": BRAND_ACCT}] if mention_brand else [],
        }
        self.statuses[status_id] = status
        return status

    def _notify(
        self, kind: str, account: dict[str, Any], status: dict[str, Any], when: datetime
    ) -> None:
        number = next(self._notification_ids)
        self.notifications.append(
            {
                "id": str(number),
                "type": kind,
                "created_at": _iso(when),
                "group_key": f"ungrouped-{number}",
                "account": account,
                "status": status,
            }
        )

    def _brand_post(self, event: SimEvent) -> dict[str, Any] | None:
        if event.post is None:
            return None
        known = self.status_of.get(event.post.id)
        if known:
            return self.statuses[known]
        status = self._status(
            self.brand, event.post.text, event.post.published_at, mention_brand=False
        )
        self.status_of[event.post.id] = status["id"]
        self.sim_of[status["id"]] = event.post.id
        return status

    def webhooks(self, events: list[SimEvent]) -> list[Any]:
        return []  # Mastodon has no webhooks for an account: the connector polls

    def publish(self, events: list[SimEvent]) -> None:
        with self._lock:
            for event in events:
                if event.op == "create" and not event.from_brand:
                    self._apply(event)

    def _apply(self, event: SimEvent) -> None:
        if event.id in self.status_of:
            return
        author = self._author(event)
        when = event.created_at
        if event.type == "share":
            post = self._brand_post(event)
            if post is not None:
                self._notify("reblog", author, post, when)
            return
        if event.type in {"comment", "reply"}:
            parent_id = self.status_of.get(event.parent_id, "") if event.parent_id else ""
            parent = self.statuses.get(parent_id) or self._brand_post(event)
            status = self._status(author, event.text, when, reply_to=parent)
        elif event.type == "mention":
            status = self._status(author, event.text, when)
        elif event.type == "message":
            status = self._status(author, event.text, when, visibility="direct")
            self.thread_of[status["id"]] = event.thread_id
        else:
            return  # reviews have no Mastodon equivalent
        self.status_of[event.id] = status["id"]
        self.sim_of[status["id"]] = event.id
        self._notify("mention", author, status, when)

    # --- the API -------------------------------------------------------------------------

    def _json(self, status: int, data: Any) -> FakeResponse:
        reset = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=5)
        return FakeResponse(
            status=status,
            body=json.dumps(data, ensure_ascii=False).encode(),
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-RateLimit-Limit": str(RATE_LIMIT),
                "X-RateLimit-Remaining": str(RATE_LIMIT - 1),
                "X-RateLimit-Reset": reset.isoformat().replace("+00:00", "Z"),
            },
        )

    def handle(self, request: FakeRequest) -> FakeResponse:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._json(401, {"error": "The access token is invalid"})
        parts = [p for p in request.path.split("/") if p]
        method = request.method
        if parts == ["api", "v2", "search"] and method == "GET":
            return self._search(request)
        if parts[:2] != ["api", "v1"]:
            return self._json(404, {"error": "Record not found"})
        rest = parts[2:]
        if rest == ["accounts", "verify_credentials"]:
            return self._json(200, self.brand)
        if rest == ["notifications"] and method == "GET":
            return self._list(request)
        if rest == ["statuses"] and method == "POST":
            return self._create(request)
        if rest == ["accounts", "relationships"]:
            ids = request.query.get("id[]", [])
            return self._json(200, [{"id": i, "blocking": i in self.blocked} for i in ids])
        if rest == ["reports"] and method == "POST":
            return self._json(200, {"id": str(next(self._notification_ids)), "action_taken": False})
        if len(rest) == 3 and rest[0] == "accounts" and rest[2] == "block" and method == "POST":
            with self._lock:
                self.blocked.add(rest[1])
            self.on_action(
                SimAction(kind="ban", target_id=self.sim_author_of.get(rest[1], rest[1]))
            )
            return self._json(200, {"id": rest[1], "blocking": True})
        if len(rest) == 3 and rest[0] == "accounts" and rest[2] == "unblock" and method == "POST":
            with self._lock:
                self.blocked.discard(rest[1])
            self.on_action(
                SimAction(kind="unban", target_id=self.sim_author_of.get(rest[1], rest[1]))
            )
            return self._json(200, {"id": rest[1], "blocking": False})
        if len(rest) >= 2 and rest[0] == "statuses":
            return self._on_status(method, rest[1], rest[2:])
        return self._json(404, {"error": "Record not found"})

    def _list(self, request: FakeRequest) -> FakeResponse:
        types = set(request.query.get("types[]", [])) or {"mention", "favourite", "reblog"}
        min_id = int((request.query.get("min_id") or ["0"])[0] or 0)
        limit = min(40, int((request.query.get("limit") or ["40"])[0] or 40))
        with self._lock:
            newer = [n for n in self.notifications if int(n["id"]) > min_id and n["type"] in types]
        page = newer[:limit] if min_id else newer[-limit:]
        page = list(reversed(page))
        response = self._json(200, page)
        if page:
            base = f"{self.api_base}/api/v1/notifications"
            response.headers["Link"] = (
                f'<{base}?max_id={page[-1]["id"]}>; rel="next", '
                f'<{base}?min_id={page[0]["id"]}>; rel="prev"'
            )
        return response

    def _search(self, request: FakeRequest) -> FakeResponse:
        """`GET /api/v2/search?type=statuses`: public statuses holding every word of `q`, newest first."""
        words = (request.query.get("q") or [""])[0].lower().split()
        limit = min(40, int((request.query.get("limit") or ["20"])[0] or 20))
        with self._lock:
            found = [
                s
                for s in self.statuses.values()
                if s["visibility"] == "public"
                and words
                and all(w in html.unescape(s["content"]).lower() for w in words)
            ]
        found.sort(key=lambda s: int(s["id"]), reverse=True)
        return self._json(200, {"accounts": [], "statuses": found[:limit], "hashtags": []})

    def _body(self, request: FakeRequest) -> dict[str, Any]:
        try:
            data = json.loads(request.body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def _create(self, request: FakeRequest) -> FakeResponse:
        data = self._body(request)
        text = str(data.get("status", "")).strip()
        key = request.headers.get("idempotency-key", "")
        with self._lock:
            if key and key in self.idempotent:  # a retry: the first status, nothing new
                return self._json(200, self.statuses[self.idempotent[key]])
            parent = self.statuses.get(str(data.get("in_reply_to_id") or ""))
            if not text or parent is None:
                return self._json(422, {"error": "Validation failed: Text can't be blank"})
            visibility = str(data.get("visibility") or "public")
            status = self._status(
                self.brand,
                text,
                datetime.now(UTC),
                reply_to=parent,
                visibility=visibility,
                mention_brand=False,
            )
            if key:
                self.idempotent[key] = status["id"]
            self.status_of[status["id"]] = status["id"]
            target = self.sim_of.get(parent["id"], parent["id"])
            thread = self.thread_of.get(parent["id"], "")
        if visibility == "direct":
            action = SimAction(
                kind="send_private", target_id=thread, text=text, created_id=status["id"]
            )
        else:
            action = SimAction(kind="reply", target_id=target, text=text, created_id=status["id"])
        self.on_action(action)
        return self._json(200, status)

    def _on_status(self, method: str, status_id: str, rest: list[str]) -> FakeResponse:
        with self._lock:
            status = self.statuses.get(status_id)
            if status is None:
                return self._json(404, {"error": "Record not found"})
            target = self.sim_of.get(status_id, status_id)
            if rest == ["context"]:
                children = [s for s in self.statuses.values() if s["in_reply_to_id"] == status_id]
                return self._json(200, {"ancestors": [], "descendants": children})
            if not rest and method == "DELETE":
                if status["account"]["id"] != BRAND_ID:
                    return self._json(404, {"error": "Record not found"})
                del self.statuses[status_id]
        if not rest and method == "GET":
            return self._json(200, status)
        if not rest and method == "DELETE":
            self.on_action(SimAction(kind="delete", target_id=target))
            return self._json(200, status)
        if rest == ["favourite"] and method == "POST":
            self.on_action(SimAction(kind="like", target_id=target))
            return self._json(200, {**status, "favourited": True})
        return self._json(404, {"error": "Record not found"})
