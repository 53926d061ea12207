"""The simulator speaking YouTube Data API v3: a poll-only platform.

YouTube pushes nothing for comments, so `webhooks()` returns [] and `publish()`
files the simulated comments where the fake `commentThreads.list` and
`comments.list` endpoints list them, in the shapes of the real API
(https://developers.google.com/youtube/v3/docs/commentThreads#resource). Replies
and moderation calls are answered like YouTube does and reported to the
simulator through `on_action`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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

PAGE_SIZE_DEFAULT = 20  # the API's default maxResults
INLINE_REPLIES = 5  # a thread carries at most this many replies; comments.list has them all
ACTIONS_BY_STATUS = {"heldForReview": "hide", "published": "unhide", "rejected": "delete"}


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _short_id(*parts: str) -> str:
    """A stable YouTube-looking id (Ugx…) from simulator ids."""
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return "Ugx" + digest[:20] + "4AaABAg"


@dataclass
class _Comment:
    id: str
    video_id: str
    author_id: str
    author_name: str
    avatar: str
    text: str
    published_at: str
    updated_at: str
    parent_id: str = ""
    status: str = "published"
    replies: list[str] = field(default_factory=list)

    def resource(self, channel_id: str) -> dict[str, Any]:
        snippet: dict[str, Any] = {
            "channelId": channel_id,
            "videoId": self.video_id,
            "textDisplay": self.text,
            "textOriginal": self.text,
            "authorDisplayName": self.author_name,
            "authorProfileImageUrl": self.avatar,
            "authorChannelUrl": f"http://www.youtube.com/channel/{self.author_id}",
            "authorChannelId": {"value": self.author_id},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": 0,
            "moderationStatus": self.status,
            "publishedAt": self.published_at,
            "updatedAt": self.updated_at,
        }
        if self.parent_id:
            snippet["parentId"] = self.parent_id
        return {"kind": "youtube#comment", "etag": self.id[-12:], "id": self.id, "snippet": snippet}


class YouTubeWire(Wire):
    """One simulated YouTube channel: its comments, its token, its moderation state."""

    platform = "youtube"

    def __init__(self, channel_key: str, api_base: str, on_action: ActionListener) -> None:
        super().__init__(channel_key, api_base, on_action)
        self.channel_id = "UC" + hashlib.sha256(channel_key.encode()).hexdigest()[:22]
        self.access_token = f"sim-yt-{channel_key}"
        self.refresh_token = f"sim-yt-refresh-{channel_key}"
        self.comments: dict[str, _Comment] = {}
        self.order: list[str] = []  # top-level ids, oldest first
        self.sim_ids: dict[str, str] = {}  # simulator id → YouTube id
        # YouTube ids → simulator ids, to report actions in the simulator's terms.
        self.comment_sim_ids: dict[str, str] = {}
        self.author_sim_ids: dict[str, str] = {}
        self.banned: set[str] = set()
        self.videos: dict[str, dict[str, Any]] = {}  # video id → its `snippet` (videos.list)
        self._counter = 0

    def setup(self) -> ChannelSetup:
        return ChannelSetup(
            external_id=self.channel_id,
            config={
                "api_base": self.api_base,
                "token_url": self.api_base.rstrip("/") + "/token",
                # The demo polls often; its quota is the simulator's, not Google's.
                "quota_limit": 10_000_000,
                "min_poll_seconds": 5,
                # The demo's backfill publishes weeks of history before the first poll.
                "backfill_hours": 24 * 400,
                "poll_interval": 5,
            },
            credentials={
                "client_id": "sim-client",
                "client_secret": "sim-secret",
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
            },
        )

    def webhooks(self, events: list[SimEvent]) -> list[WebhookDelivery]:
        """YouTube has no comment webhooks: `publish` the events for polling instead."""
        return []

    # -- the community's side -----------------------------------------------------------------

    def publish(self, events: list[SimEvent]) -> None:
        """File comments and replies where the fake list endpoints find them."""
        for event in events:
            if event.type not in {"comment", "reply"}:
                continue  # no mentions, shares, private messages or reviews on YouTube
            if event.op == "delete":
                self._remove(self.sim_ids.get(event.id, ""))
                continue
            if event.op == "edit":
                known = self.comments.get(self.sim_ids.get(event.id, ""))
                if known is not None:
                    known.text = event.text
                    known.updated_at = _iso(event.created_at)
                continue
            self._add(event)

    def _add(self, event: SimEvent) -> None:
        if event.id in self.sim_ids:
            return  # published twice: YouTube has it once
        if event.from_brand:
            author_id = self.channel_id
        else:
            author_id = "UC" + hashlib.sha256(event.author.id.encode()).hexdigest()[:22]
            self.author_sim_ids[author_id] = event.author.id
        parent = ""
        if event.type == "reply" and event.parent_id:
            # A simulator id, or the platform id of a reply we created (a reaction answers it).
            parent_comment = self.comments.get(self.sim_ids.get(event.parent_id, event.parent_id))
            if parent_comment is not None:
                # YouTube threads are one level deep: answers to replies go under the top-level comment.
                parent = parent_comment.parent_id or parent_comment.id
        video = event.post.id if event.post else ""
        if event.post is not None and video not in self.videos:
            self.videos[video] = {
                "publishedAt": _iso(event.post.published_at),
                "channelId": self.channel_id,
                "title": event.post.text,
                "description": "",
                "channelTitle": "Lumen",
                "liveBroadcastContent": "none",
            }
        if parent:
            video = self.comments[parent].video_id
            comment_id = f"{parent}.{_short_id(self.channel_key, event.id)[3:25]}"
        else:
            comment_id = _short_id(self.channel_key, event.id)
        when = _iso(event.created_at)
        comment = _Comment(
            id=comment_id,
            video_id=video,
            author_id=author_id,
            author_name=event.author.name,
            avatar=event.author.avatar,
            text=event.text,
            published_at=when,
            updated_at=when,
            parent_id=parent,
            status="heldForReview" if author_id in self.banned else "published",
        )
        self.comments[comment_id] = comment
        self.sim_ids[event.id] = comment_id
        self.comment_sim_ids[comment_id] = event.id
        if parent:
            self.comments[parent].replies.append(comment_id)
        else:
            self.order.append(comment_id)

    def _remove(self, comment_id: str) -> None:
        comment = self.comments.pop(comment_id, None)
        if comment is None:
            return
        if comment.parent_id and comment.parent_id in self.comments:
            self.comments[comment.parent_id].replies.remove(comment_id)
        if comment_id in self.order:
            self.order.remove(comment_id)
            for reply in comment.replies:
                self.comments.pop(reply, None)

    # -- the API ------------------------------------------------------------------------------------

    def handle(self, request: FakeRequest) -> FakeResponse:
        """Route a request below api_base like the YouTube Data API would answer it."""
        path = "/" + request.path.strip("/")
        if path == "/token" and request.method == "POST":
            return self._token()
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return self._error(401, "authError", "Request had invalid authentication credentials.")
        query = {k: v[-1] for k, v in request.query.items() if v}
        routes = {
            ("GET", "/commentThreads"): self._list_threads,
            ("GET", "/comments"): self._list_comments,
            ("POST", "/comments"): self._insert,
            ("DELETE", "/comments"): self._delete,
            ("POST", "/comments/setModerationStatus"): self._moderate,
            ("GET", "/channels"): self._channels,
            ("GET", "/videos"): self._videos,
        }
        route = routes.get((request.method.upper(), path))
        if route is None:
            return self._error(404, "notFound", f"no such method {request.method} {path}")
        return route(query, request.body)

    @staticmethod
    def _json(data: Any, status: int = 200) -> FakeResponse:
        return FakeResponse(status=status, body=json.dumps(data, ensure_ascii=False).encode())

    def _error(self, status: int, reason: str, message: str) -> FakeResponse:
        return self._json(
            {
                "error": {
                    "code": status,
                    "message": message,
                    "errors": [{"message": message, "domain": "youtube", "reason": reason}],
                }
            },
            status,
        )

    def _token(self) -> FakeResponse:
        return self._json(
            {
                "access_token": self.access_token,
                "expires_in": 3599,
                "refresh_token": self.refresh_token,
                "scope": "https://www.googleapis.com/auth/youtube.force-ssl",
                "token_type": "Bearer",
            }
        )

    def _page(self, ids: list[str], query: dict[str, str]) -> tuple[list[str], str]:
        try:
            size = max(1, min(100, int(query.get("maxResults", PAGE_SIZE_DEFAULT))))
            start = int(query.get("pageToken") or 0)
        except ValueError:
            return [], ""
        chunk = ids[start : start + size]
        next_token = str(start + size) if start + size < len(ids) else ""
        return chunk, next_token

    def _thread(self, top: _Comment) -> dict[str, Any]:
        thread: dict[str, Any] = {
            "kind": "youtube#commentThread",
            "etag": top.id[-12:],
            "id": top.id,
            "snippet": {
                "channelId": self.channel_id,
                "videoId": top.video_id,
                "topLevelComment": top.resource(self.channel_id),
                "canReply": True,
                "totalReplyCount": len(top.replies),
                "isPublic": True,
            },
        }
        if top.replies:
            thread["replies"] = {
                "comments": [
                    self.comments[r].resource(self.channel_id) for r in top.replies[:INLINE_REPLIES]
                ]
            }
        return thread

    def _list_threads(self, query: dict[str, str], _body: bytes) -> FakeResponse:
        if query.get("allThreadsRelatedToChannelId") != self.channel_id:
            return self._error(403, "forbidden", "not this channel")
        status = query.get("moderationStatus", "published")
        # order=time: newest first.
        ids = [i for i in reversed(self.order) if self.comments[i].status == status]
        chunk, next_token = self._page(ids, query)
        data: dict[str, Any] = {
            "kind": "youtube#commentThreadListResponse",
            "etag": f"sim-{len(ids)}",
            "pageInfo": {"totalResults": len(chunk), "resultsPerPage": len(chunk)},
            "items": [self._thread(self.comments[i]) for i in chunk],
        }
        if next_token:
            data["nextPageToken"] = next_token
        return self._json(data)

    def _list_comments(self, query: dict[str, str], _body: bytes) -> FakeResponse:
        if query.get("id"):
            ids = [i for i in query["id"].split(",") if i in self.comments]
            next_token = ""
        else:
            parent = self.comments.get(query.get("parentId", ""))
            if parent is None:
                return self._error(404, "commentNotFound", "The parent comment could not be found.")
            ids, next_token = self._page(parent.replies, query)
        data: dict[str, Any] = {
            "kind": "youtube#commentListResponse",
            "etag": f"sim-{len(ids)}",
            "pageInfo": {"resultsPerPage": len(ids)},
            "items": [self.comments[i].resource(self.channel_id) for i in ids],
        }
        if next_token:
            data["nextPageToken"] = next_token
        return self._json(data)

    def _insert(self, query: dict[str, str], body: bytes) -> FakeResponse:
        try:
            snippet = json.loads(body)["snippet"]
            parent_id, text = str(snippet["parentId"]), str(snippet["textOriginal"])
        except (ValueError, KeyError, TypeError):
            return self._error(
                400, "invalidValue", "snippet.parentId and snippet.textOriginal are required"
            )
        parent = self.comments.get(parent_id)
        if parent is None or parent.parent_id:
            return self._error(404, "commentNotFound", "The parent comment could not be found.")
        self._counter += 1
        now = _iso(datetime.now(UTC))
        comment = _Comment(
            id=f"{parent_id}.{_short_id(self.channel_key, 'reply', str(self._counter))[3:25]}",
            video_id=parent.video_id,
            author_id=self.channel_id,
            author_name=f"@{self.channel_key}",
            avatar="",
            text=text,
            published_at=now,
            updated_at=now,
            parent_id=parent_id,
        )
        self.comments[comment.id] = comment
        parent.replies.append(comment.id)
        self.on_action(
            SimAction(
                kind="reply",
                target_id=self.comment_sim_ids.get(parent_id, parent_id),
                text=text,
                created_id=comment.id,
                raw=snippet,
            )
        )
        return self._json(comment.resource(self.channel_id))

    def _moderate(self, query: dict[str, str], _body: bytes) -> FakeResponse:
        status = query.get("moderationStatus", "")
        if status not in {"published", "heldForReview", "likelySpam", "rejected"}:
            return self._error(400, "invalidModerationStatus", "bad moderationStatus")
        ban = query.get("banAuthor") == "true"
        if ban and status != "rejected":
            return self._error(400, "banWithoutReject", "banAuthor needs moderationStatus=rejected")
        for comment_id in query.get("id", "").split(","):
            comment = self.comments.get(comment_id)
            if comment is None:
                return self._error(404, "commentNotFound", "The comment could not be found.")
            comment.status = status
            if ban:
                self.banned.add(comment.author_id)
            kind = "ban" if ban else ACTIONS_BY_STATUS.get(status, "hide")
            if ban:
                target = self.author_sim_ids.get(comment.author_id, comment.author_id)
            else:
                target = self.comment_sim_ids.get(comment_id, comment_id)
            self.on_action(SimAction(kind=kind, target_id=target, raw=dict(query)))
        return FakeResponse(status=204, body=b"")

    def _delete(self, query: dict[str, str], _body: bytes) -> FakeResponse:
        comment = self.comments.get(query.get("id", ""))
        if comment is None:
            return self._error(404, "commentNotFound", "The comment could not be found.")
        if comment.author_id != self.channel_id:
            return self._error(403, "forbidden", "Only the author can delete a comment.")
        self._remove(comment.id)
        target = self.comment_sim_ids.get(comment.id, comment.id)
        self.on_action(SimAction(kind="delete", target_id=target, raw=dict(query)))
        return FakeResponse(status=204, body=b"")

    def _videos(self, query: dict[str, str], _body: bytes) -> FakeResponse:
        """videos.list?part=snippet&id=a,b,…: the known videos among the ids (at most 50)."""
        ids = [i for i in query.get("id", "").split(",") if i]
        if len(ids) > 50:
            return self._error(400, "invalidParameter", "too many ids: at most 50")
        items = [
            {"kind": "youtube#video", "etag": video_id[-8:], "id": video_id, "snippet": snippet}
            for video_id in ids
            if (snippet := self.videos.get(video_id)) is not None
        ]
        return self._json(
            {
                "kind": "youtube#videoListResponse",
                "items": items,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            }
        )

    def _channels(self, query: dict[str, str], _body: bytes) -> FakeResponse:
        return self._json(
            {
                "kind": "youtube#channelListResponse",
                "pageInfo": {"totalResults": 1, "resultsPerPage": 5},
                "items": [
                    {
                        "kind": "youtube#channel",
                        "id": self.channel_id,
                        "snippet": {
                            "title": f"Simulated {self.channel_key}",
                            "customUrl": f"@{self.channel_key}",
                        },
                    }
                ],
            }
        )
