"""YouTube JSON → Incoming items. Pure functions: no database, no network.

Shapes (https://developers.google.com/youtube/v3/docs/comments#resource and
https://developers.google.com/youtube/v3/docs/commentThreads#resource):
a `youtube#commentThread` holds `snippet.topLevelComment` (a `youtube#comment`)
and some of its replies in `replies.comments`; a reply's `snippet.parentId` is
the id of the top-level comment it answers.

What the poller stores as the raw copy of a page is an envelope of the answers
it got, so a stored page can be parsed again later:

    {"kind": "cercle#youtubePage", "channelId": ..., "moderationStatus": ...,
     "threads": <commentThreadListResponse>, "replies": [<commentListResponse>, ...],
     "deleted": [<ids the sweep no longer found>]}
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

from cercle.connectors.base import Author, BadPayload, Incoming, Op, PostRef

ENVELOPE_KIND = "cercle#youtubePage"
HIDDEN_STATUSES = frozenset({"heldForReview", "likelySpam", "rejected"})
WATCH_URL = "https://www.youtube.com/watch?v="


def _str(value: Any, limit: int = 10_000) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadPayload(f"expected a string, got {type(value).__name__}")
    return value[:limit]


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadPayload(f"{what} must be an object")
    return value


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time of the API (`2022-12-17T04:19:11Z`), zone required."""
    if not value:
        return None
    text = _str(value, 64)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadPayload(f"bad time {text!r}") from exc
    if parsed.tzinfo is None:
        raise BadPayload(f"time without zone {text!r}")
    return parsed


def video_url(video_id: str) -> str:
    return WATCH_URL + quote(video_id, safe="-_") if video_id else ""


def video_posts(data: Any, asked: set[str], brand_channel_id: str = "") -> list[PostRef]:
    """The brand's videos among a videos.list answer: title, link, publication time, thumbnail.

    https://developers.google.com/youtube/v3/docs/videos#resource ; only ids in
    `asked` are kept, and when `brand_channel_id` is known, only videos of that
    channel. A malformed entry is left out, not the whole answer.
    """
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return []
    refs: list[PostRef] = []
    for video in data["items"]:
        try:
            video = _obj(video, "a video")
            video_id = _str(video.get("id"), 64)
            snippet = _obj(video.get("snippet"), "video snippet")
            owner = _str(snippet.get("channelId"), 64)
            thumbs = snippet.get("thumbnails")
            thumb = (
                thumbs.get("medium") or thumbs.get("default") if isinstance(thumbs, dict) else None
            )
            ref = PostRef(
                external_id=video_id,
                text=_str(snippet.get("title")),
                url=video_url(video_id),
                thumbnail_url=_str(thumb.get("url"), 500) if isinstance(thumb, dict) else "",
                published_at=parse_time(snippet.get("publishedAt")),
            )
        except BadPayload:
            continue
        if video_id in asked and (not brand_channel_id or not owner or owner == brand_channel_id):
            refs.append(ref)
    return refs


def comment_url(video_id: str, comment_id: str) -> str:
    """The link that opens the video with this comment highlighted."""
    if not video_id:
        return ""
    return f"{video_url(video_id)}&lc={quote(comment_id, safe='-_.')}"


def comment_item(
    comment: Any,
    *,
    brand_channel_id: str,
    default_status: str = "published",
    video_id: str = "",
) -> Incoming:
    """One `youtube#comment` → an Incoming (top-level comment or reply)."""
    comment = _obj(comment, "a comment")
    external_id = _str(comment.get("id"), 200)
    if not external_id:
        raise BadPayload("comment without id")
    snippet = _obj(comment.get("snippet"), "comment snippet")
    author_id = ""
    channel_ref = snippet.get("authorChannelId")
    if isinstance(channel_ref, dict):
        author_id = _str(channel_ref.get("value"), 200)
    elif channel_ref is not None:
        author_id = _str(channel_ref, 200)
    name = _str(snippet.get("authorDisplayName"), 200)
    if not author_id:
        # Deleted or anonymous accounts: keep them apart by their shown name.
        author_id = f"name:{name}" if name else "unknown"
    profile_url = _str(snippet.get("authorChannelUrl"), 500)
    handle = profile_url.rsplit("/", 1)[-1] if "/@" in profile_url else ""
    author = Author(
        external_id=author_id,
        name=name,
        handle=handle,
        avatar_url=_str(snippet.get("authorProfileImageUrl"), 500),
        profile_url=profile_url,
    )
    # textOriginal is what the author typed; textDisplay (asked as plainText) is the fallback
    # when Google withholds the original.
    text = _str(snippet.get("textOriginal")) or _str(snippet.get("textDisplay"))
    published = parse_time(snippet.get("publishedAt"))
    video = _str(snippet.get("videoId"), 200) or video_id
    parent = _str(snippet.get("parentId"), 200)
    status = _str(snippet.get("moderationStatus"), 40) or default_status
    return Incoming(
        external_id=external_id,
        kind="reply" if parent else "comment",
        author=author,
        text=text,
        sent_at=published,
        post=PostRef(external_id=video, url=video_url(video)) if video else None,
        parent_external_id=parent,
        url=comment_url(video, external_id),
        from_brand=bool(brand_channel_id) and author_id == brand_channel_id,
        is_hidden=status in HIDDEN_STATUSES,
        changed_at=parse_time(snippet.get("updatedAt")) or published,
    )


def thread_items(
    thread: Any, *, brand_channel_id: str, default_status: str = "published"
) -> list[Incoming]:
    """A `youtube#commentThread` → its top-level comment and the replies it carries."""
    thread = _obj(thread, "a comment thread")
    snippet = _obj(thread.get("snippet"), "thread snippet")
    video_id = _str(snippet.get("videoId"), 200)
    items = [
        comment_item(
            snippet.get("topLevelComment"),
            brand_channel_id=brand_channel_id,
            default_status=default_status,
            video_id=video_id,
        )
    ]
    replies = thread.get("replies")
    if replies is not None:
        comments = _obj(replies, "thread replies").get("comments") or []
        if not isinstance(comments, list):
            raise BadPayload("replies.comments must be a list")
        items += [
            comment_item(
                c,
                brand_channel_id=brand_channel_id,
                default_status=default_status,
                video_id=video_id,
            )
            for c in comments
        ]
    return items


def _list_items(response: Any, what: str) -> list[Any]:
    items = _obj(response, what).get("items")
    if items is None:
        return []
    if not isinstance(items, list):
        raise BadPayload(f"{what}.items must be a list")
    return items


def iter_threads(response: Any) -> Iterator[dict[str, Any]]:
    """The thread objects of a commentThreadListResponse."""
    for thread in _list_items(response, "commentThreadListResponse"):
        yield _obj(thread, "a comment thread")


def page_items(data: Any, *, brand_channel_id: str) -> list[Incoming]:
    """Any stored YouTube payload → Incoming items, deduplicated by id (last one wins).

    Accepts our poll envelope, a commentThreadListResponse, a commentListResponse,
    a single commentThread or a single comment.
    """
    data = _obj(data, "payload")
    kind = data.get("kind")
    if kind == ENVELOPE_KIND:
        items = _envelope_items(data, brand_channel_id=brand_channel_id)
    elif kind == "youtube#commentThreadListResponse":
        items = [
            item
            for thread in iter_threads(data)
            for item in thread_items(thread, brand_channel_id=brand_channel_id)
        ]
    elif kind == "youtube#commentListResponse":
        items = [
            comment_item(c, brand_channel_id=brand_channel_id) for c in _list_items(data, kind)
        ]
    elif kind == "youtube#commentThread":
        items = thread_items(data, brand_channel_id=brand_channel_id)
    elif kind == "youtube#comment":
        items = [comment_item(data, brand_channel_id=brand_channel_id)]
    else:
        raise BadPayload(f"unknown YouTube payload kind {kind!r}")
    unique: dict[str, Incoming] = {}
    for item in items:
        unique[item.external_id] = item
    return list(unique.values())


def _envelope_items(data: dict[str, Any], *, brand_channel_id: str) -> list[Incoming]:
    """Our poll envelope → the items of its threads, its extra replies and its deletions."""
    status = _str(data.get("moderationStatus"), 40) or "published"
    items: list[Incoming] = []
    threads = data.get("threads")
    if threads is not None:
        for thread in iter_threads(threads):
            items += thread_items(thread, brand_channel_id=brand_channel_id, default_status=status)
    for response in _envelope_list(data, "replies", "a list of commentListResponse"):
        items += [
            comment_item(c, brand_channel_id=brand_channel_id, default_status=status)
            for c in _list_items(response, "commentListResponse")
        ]
    deleted = _envelope_list(data, "deleted", "a list of comment ids")
    if not all(isinstance(i, str) and i for i in deleted):
        raise BadPayload("deleted must be a list of comment ids")
    items += deletion_items(deleted)
    return items


def _envelope_list(data: dict[str, Any], key: str, what: str) -> list[Any]:
    """The envelope's list under `key` (empty when absent); BadPayload when it is not a list."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadPayload(f"{key} must be {what}")
    return value


def deletion_items(comment_ids: list[str]) -> list[Incoming]:
    """Comments a sweep no longer lists: deleted on YouTube (by their author or a moderator)."""
    return [
        Incoming(external_id=i[:200], kind="reply" if "." in i else "comment", op=Op.DELETE)
        for i in comment_ids
    ]


def parse_body(body: bytes, *, brand_channel_id: str) -> list[Incoming]:
    """Raw bytes → Incoming items; BadPayload for anything malformed."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadPayload(f"not JSON: {exc}") from exc
    return page_items(data, brand_channel_id=brand_channel_id)


def activity_time(comment: Any) -> datetime | None:
    """The latest of a comment's publishedAt and updatedAt (None when it has neither)."""
    if not isinstance(comment, dict) or not isinstance(comment.get("snippet"), dict):
        return None
    snippet = comment["snippet"]
    times = [
        t
        for t in (parse_time(snippet.get("publishedAt")), parse_time(snippet.get("updatedAt")))
        if t
    ]
    return max(times) if times else None
