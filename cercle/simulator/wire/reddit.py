"""The Reddit wire: SimEvents as a subreddit's comments and an account's inbox, on a small Reddit API double.

Reddit pushes nothing: the wire keeps Listings of things (`t1` comments in the
subreddit, `t1` username mentions and `t4` private messages in the inbox) that
the connector polls with `before=<fullname>`, with `X-Ratelimit-*` headers. It
refuses calls without a descriptive User-Agent (Reddit answers those 429),
answers `POST /api/comment`, removal, approval and bans, and reports each to
the simulator. Edits, deletions, shares and reviews are not sent.
"""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from .base import (
    ActionListener,
    ChannelSetup,
    FakeRequest,
    FakeResponse,
    SimAction,
    SimEvent,
    Wire,
)

USERNAME = "lumen_team"
SUBREDDIT = "maisonlumen"
CLIENT_ID = "sim-reddit-app"
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _b36(number: int) -> str:
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = _B36[rest] + out
    return out or "0"


class RedditWire(Wire):
    """Plays one subreddit and the brand's account (thread-safe: the fake server is threaded)."""

    platform = "reddit"

    def __init__(self, channel_key: str, api_base: str, on_action: ActionListener) -> None:
        super().__init__(channel_key, api_base, on_action)
        self.token = f"sim-reddit-{channel_key}"
        self._lock = threading.Lock()
        self._ids = itertools.count(36**5)
        self.things: dict[str, dict[str, Any]] = {}  # fullname → data
        self.kinds: dict[str, str] = {}
        self.comments: list[str] = []  # the subreddit's comments, oldest first
        self.inbox: list[str] = []  # the account's inbox, oldest first
        self.thing_of: dict[str, str] = {}  # simulator id (or created name) → fullname
        self.sim_of: dict[str, str] = {}  # fullname → simulator id
        self.thread_of: dict[str, str] = {}  # t4 fullname → simulator thread id
        self.first_of_thread: dict[str, str] = {}  # simulator thread id → first t4 fullname
        self.posts: dict[str, str] = {}  # SimPost id → t3 fullname
        self.post_titles: dict[str, str] = {}
        self.sim_author_of: dict[str, str] = {}  # user name (lower case) → SimAuthor id

    def setup(self) -> ChannelSetup:
        return ChannelSetup(
            external_id=USERNAME,
            config={"api_base": self.api_base, "subreddit": SUBREDDIT},
            credentials={
                "client_id": CLIENT_ID,
                "client_secret": "sim-secret",
                "access_token": self.token,
                "username": USERNAME,
            },
        )

    # --- the subreddit's state ----------------------------------------------------------

    def _name(self, kind: str) -> str:
        return f"{kind}_{_b36(next(self._ids))}"

    def _post(self, event: SimEvent) -> str:
        assert event.post is not None
        known = self.posts.get(event.post.id)
        if known is None:
            known = self._name("t3")
            self.posts[event.post.id] = known
            self.post_titles[known] = event.post.text[:300]
            self.sim_of[known] = event.post.id
            # The submission itself, as `/api/info?id=t3_…` lists it (post enrichment).
            self.things[known] = {
                "name": known,
                "id": known[3:],
                "author": USERNAME,
                "title": event.post.text[:300],
                "selftext": "",
                "subreddit": SUBREDDIT,
                "created_utc": event.post.published_at.timestamp(),
                "permalink": f"/r/{SUBREDDIT}/comments/{known[3:]}/_/",
                "url": event.post.url,
                "banned_by": None,
                "edited": False,
            }
            self.kinds[known] = "t3"
        return known

    def _comment(
        self, author: str, body: str, when: datetime, parent: str, post: str
    ) -> dict[str, Any]:
        name = self._name("t1")
        data = {
            "name": name,
            "id": name[3:],
            "author": author,
            "body": body,
            "created_utc": when.timestamp(),
            "parent_id": parent,
            "link_id": post,
            "link_title": self.post_titles.get(post, ""),
            "subreddit": SUBREDDIT,
            "permalink": f"/r/{SUBREDDIT}/comments/{post[3:]}/_/{name[3:]}/",
            "banned_by": None,
            "edited": False,
        }
        self.things[name] = data
        self.kinds[name] = "t1"
        return data

    def webhooks(self, events: list[SimEvent]) -> list[Any]:
        return []  # Reddit has no webhooks: the connector polls

    def publish(self, events: list[SimEvent]) -> None:
        with self._lock:
            for event in events:
                if event.op == "create" and not event.from_brand and event.id not in self.thing_of:
                    self._apply(event)

    def _apply(self, event: SimEvent) -> None:
        author = (
            "".join(c for c in event.author.handle if c.isalnum() or c in "_-")[:20] or "someone"
        )
        self.sim_author_of[author.lower()] = event.author.id
        if event.type in {"comment", "reply"} and event.post is not None:
            post = self._post(event)
            parent = self.thing_of.get(event.parent_id, post) if event.parent_id else post
            data = self._comment(author, event.text, event.created_at, parent, post)
            self.comments.append(data["name"])
        elif event.type == "mention":
            post = self._name("t3")
            self.post_titles[post] = event.text[:80]
            data = self._comment(author, f"u/{USERNAME} {event.text}", event.created_at, post, post)
            data.update(subject="username mention", context=data.pop("permalink") + "?context=3")
            data.pop("link_id")
            self.inbox.append(data["name"])
        elif event.type == "message":
            name = self._name("t4")
            first = self.first_of_thread.setdefault(event.thread_id or name, name)
            data = {
                "name": name,
                "id": name[3:],
                "author": author,
                "dest": USERNAME,
                "subject": "Question",
                "body": event.text,
                "created_utc": event.created_at.timestamp(),
                "first_message_name": None if first == name else first,
                "parent_id": None if first == name else first,
            }
            self.things[name] = data
            self.kinds[name] = "t4"
            self.thread_of[name] = event.thread_id
            self.inbox.append(name)
        else:
            return
        self.thing_of[event.id] = data["name"]
        self.sim_of[data["name"]] = event.id

    # --- the API -------------------------------------------------------------------------

    def _json(self, status: int, data: Any) -> FakeResponse:
        now = datetime.now(UTC)
        return FakeResponse(
            status=status,
            body=json.dumps(data, ensure_ascii=False).encode(),
            headers={
                "Content-Type": "application/json; charset=UTF-8",
                "x-ratelimit-used": "1",
                "x-ratelimit-remaining": "599.0",
                "x-ratelimit-reset": str(600 - (now.minute % 10) * 60 - now.second),
            },
        )

    def _listing(self, names: list[str]) -> FakeResponse:
        children = [{"kind": self.kinds[n], "data": self.things[n]} for n in names]
        return self._json(
            200, {"kind": "Listing", "data": {"children": children, "after": None, "before": None}}
        )

    def handle(self, request: FakeRequest) -> FakeResponse:
        if "(by /u/" not in request.headers.get("user-agent", ""):
            return self._json(429, {"message": "Too Many Requests", "error": 429})
        if request.headers.get("authorization") != f"bearer {self.token}":
            return self._json(401, {"message": "Unauthorized", "error": 401})
        path = "/" + "/".join(p for p in request.path.split("/") if p)
        query = {k: v[0] for k, v in request.query.items() if v}
        if request.method == "GET" and path == "/message/inbox":
            return self._page(self.inbox, query)
        if request.method == "GET" and path in {f"/r/{SUBREDDIT}/comments", "/r/mod/comments"}:
            return self._page(self.comments, query)
        if request.method == "GET" and path == "/api/info":
            with self._lock:
                names = [n for n in query.get("id", "").split(",") if n in self.things]
                return self._listing(names)
        if request.method == "GET" and path == f"/user/{USERNAME}/comments":
            with self._lock:
                ours = [
                    n
                    for n in self.things
                    if self.things[n].get("author") == USERNAME and self.kinds[n] == "t1"
                ]
                return self._listing(list(reversed(ours)))
        if request.method == "GET" and path == "/message/sent":
            with self._lock:
                ours = [
                    n
                    for n in self.things
                    if self.things[n].get("author") == USERNAME and self.kinds[n] == "t4"
                ]
                return self._listing(list(reversed(ours)))
        if request.method == "POST":
            form = {k: v[0] for k, v in _form(request.body).items()}
            if path == "/api/comment":
                return self._create(form)
            if path in {"/api/remove", "/api/approve"}:
                return self._moderate(form.get("id", ""), hide=path == "/api/remove")
            if path == f"/r/{SUBREDDIT}/api/friend" and form.get("type") == "banned":
                name = form.get("name", "")
                author = self.sim_author_of.get(name.lower(), name)
                self.on_action(SimAction(kind="ban", target_id=author))
                return self._json(200, {"json": {"errors": []}})
        return self._json(404, {"message": "Not Found", "error": 404})

    def _page(self, names: list[str], query: dict[str, str]) -> FakeResponse:
        limit = min(100, int(query.get("limit", "25") or 25))
        with self._lock:
            before = query.get("before", "")
            if before in names:
                page = names[names.index(before) + 1 :][:limit]
            elif before:
                page = []
            else:
                page = names[-limit:]
            return self._listing(list(reversed(page)))

    def _create(self, form: dict[str, str]) -> FakeResponse:
        target, text = form.get("thing_id", ""), form.get("text", "").strip()
        with self._lock:
            parent = self.things.get(target)
            if parent is None or not text:
                return self._json(
                    200,
                    {
                        "json": {
                            "errors": [
                                ["DELETED_COMMENT", "that comment has been deleted", "parent"]
                            ]
                        }
                    },
                )
            if self.kinds[target] == "t4":
                name = self._name("t4")
                first = parent.get("first_message_name") or target
                data: dict[str, Any] = {"name": name, "id": name[3:], "author": USERNAME, "body": text,
                        "created_utc": datetime.now(UTC).timestamp(), "first_message_name": first,
                        "parent_id": target, "subject": "re: Question"}  # fmt: skip
                self.things[name], self.kinds[name] = data, "t4"
                action = SimAction(
                    kind="send_private",
                    target_id=self.thread_of.get(target, ""),
                    text=text,
                    created_id=name,
                )
            else:
                post = target if self.kinds[target] == "t3" else str(parent.get("link_id") or "")
                data = self._comment(USERNAME, text, datetime.now(UTC), target, post)
                action = SimAction(
                    kind="reply",
                    target_id=self.sim_of.get(target, target),
                    text=text,
                    created_id=data["name"],
                )
            created = str(data["name"])
            self.thing_of[created] = created
        self.on_action(action)
        return self._json(
            200,
            {
                "json": {
                    "errors": [],
                    "data": {"things": [{"kind": self.kinds[created], "data": data}]},
                }
            },
        )

    def _moderate(self, name: str, *, hide: bool) -> FakeResponse:
        with self._lock:
            thing = self.things.get(name)
            if thing is None:
                return self._json(404, {"message": "Not Found", "error": 404})
            thing["banned_by"] = USERNAME if hide else None
            target = self.sim_of.get(name, name)
        self.on_action(SimAction(kind="hide" if hide else "unhide", target_id=target))
        return self._json(200, {})


def _form(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode("utf-8", "replace"))
