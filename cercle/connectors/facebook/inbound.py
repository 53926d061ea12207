"""Facebook webhook and Graph payloads → Incoming items. Pure: no DB, no network.

Webhook deliveries (https://developers.facebook.com/docs/graph-api/webhooks/reference/page/)
are `{"object": "page", "entry": [...]}`; each entry carries either `changes`
(Page fields: `feed`, `mention`) or `messaging` (Messenger events). Anything we
do not turn into an item (reactions, likes, reads, deliveries, our own posts)
is skipped, never an error; a payload of the wrong shape is a BadPayload.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from cercle.connectors.base import POST_KIND, Author, BadPayload, Incoming, Op, PostRef
from cercle.connectors.meta.webhooks import entries_of, load_delivery

WEB_BASE = "https://www.facebook.com"
# The `object` of Page webhook deliveries.
WEBHOOK_OBJECT = "page"

# Feed verbs → what they mean for our copy of the item.
_FEED_VERBS = {
    "add": Op.UPSERT,
    "edited": Op.UPSERT,
    "edit": Op.UPSERT,
    "hide": Op.UPSERT,
    "unhide": Op.UPSERT,
    "remove": Op.DELETE,
    "delete": Op.DELETE,
}
# Feed items posted *to* the page by someone else: a visitor post is a mention of the page.
_VISITOR_POST_ITEMS = {"post", "status", "photo", "video"}
MAX_TEXT = 60_000


def loads(body: bytes) -> Any:
    """Decode a JSON body, as BadPayload when it is not JSON."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadPayload(f"not JSON: {exc}") from exc


def text(value: Any, limit: int = MAX_TEXT) -> str:
    """A string field (Facebook sends ids as numbers in some payloads)."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadPayload(f"expected a string, got {type(value).__name__}")
    return str(value)[:limit]


def obj(value: Any, what: str) -> dict[str, Any]:
    """A JSON object, or BadPayload naming `what` was wrong."""
    if not isinstance(value, dict):
        raise BadPayload(f"{what} must be an object")
    return value


def optional_obj(value: Any, what: str) -> dict[str, Any]:
    return {} if value is None else obj(value, what)


def array(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadPayload(f"{what} must be a list")
    return value


def timestamp(value: Any) -> datetime | None:
    """Facebook times: epoch seconds (feed), epoch milliseconds (Messenger) or ISO 8601 (Graph)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadPayload(f"bad time {value!r}")
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise BadPayload(f"bad time {value!r}") from exc
    if isinstance(value, str):
        raw = value.strip()
        if raw.isdigit():
            return timestamp(int(raw))
        # Graph writes "+0000"; fromisoformat on 3.11 wants "+00:00".
        if len(raw) > 5 and raw[-5] in "+-" and raw[-4:].isdigit():
            raw = f"{raw[:-2]}:{raw[-2:]}"
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise BadPayload(f"bad time {value!r}") from exc
        if parsed.tzinfo is None:
            raise BadPayload(f"time without zone {value!r}")
        return parsed
    raise BadPayload(f"bad time {value!r}")


def post_url(post_id: str) -> str:
    """A link that opens a Page post (`{page-id}_{post-id}` redirects to the post)."""
    return f"{WEB_BASE}/{post_id}" if post_id else ""


def comment_url(post_id: str, comment_id: str) -> str:
    """A link that opens a post scrolled to one comment."""
    if not post_id:
        return f"{WEB_BASE}/{comment_id}"
    return f"{post_url(post_id)}?comment_id={comment_id}"


def _author(value: dict[str, Any]) -> Author | None:
    """The author of a feed change: `from` (current API) or `sender_id`/`sender_name` (older)."""
    sender = optional_obj(value.get("from"), "from")
    external_id = text(sender.get("id"), 200) or text(value.get("sender_id"), 200)
    if not external_id:
        return None
    name = text(sender.get("name"), 200) or text(value.get("sender_name"), 200)
    return Author(external_id=external_id, name=name, profile_url=f"{WEB_BASE}/{external_id}")


def parse_webhook(body: bytes, page_id: str) -> list[Incoming]:
    """The items of one webhook delivery for the Page `page_id`, in order.

    Entries for other Pages belong to other channels (one Meta app serves many
    Pages) and are skipped; "written by the brand" means written by `page_id`.
    """
    data = load_delivery(body, WEBHOOK_OBJECT)
    items: list[Incoming] = []
    for entry in entries_of(data, {page_id}):
        first = len(items)
        for change_value in array(entry.get("changes"), "changes"):
            change = obj(change_value, "a change")
            field = text(change.get("field"), 64)
            value = obj(change.get("value"), "change value")
            if field == "feed":
                items.extend(_feed(page_id, value))
            elif field == "mention":
                items.extend(_mention(page_id, value))
            elif field == "ratings":
                items.extend(_rating(value))
        for event_value in array(entry.get("messaging"), "messaging"):
            items.extend(_messaging(page_id, obj(event_value, "a messaging event")))
        items[first:] = _versioned(items[first:], timestamp(entry.get("time")))
    return items


def _versioned(items: list[Incoming], changed_at: datetime | None) -> list[Incoming]:
    """The items of one entry with the entry's time as their version, where they have none."""
    if changed_at is None:
        return items
    return [i if i.changed_at else replace(i, changed_at=changed_at) for i in items]


def _feed(page_id: str, value: dict[str, Any]) -> list[Incoming]:
    item = text(value.get("item"), 64)
    verb = text(value.get("verb"), 64)
    op = _FEED_VERBS.get(verb)
    if op is None:
        return []  # block/mute and other verbs that change nothing we keep
    author = _author(value)
    from_brand = author is not None and author.external_id == page_id
    post_id = text(value.get("post_id"), 200)
    if item == "comment":
        comment_id = text(value.get("comment_id"), 200)
        if not comment_id or not post_id:
            raise BadPayload("comment change without comment_id or post_id")
        parent_id = text(value.get("parent_id"), 200)
        is_reply = bool(parent_id) and parent_id != post_id
        post = optional_obj(value.get("post"), "post")
        return [
            Incoming(
                external_id=comment_id,
                kind="reply" if is_reply else "comment",
                op=op,
                author=author,
                text=text(value.get("message")),
                sent_at=timestamp(value.get("created_time")),
                post=PostRef(
                    external_id=post_id,
                    url=text(post.get("permalink_url"), 500) or post_url(post_id),
                ),
                parent_external_id=parent_id if is_reply else "",
                url=comment_url(post_id, comment_id),
                from_brand=from_brand,
                is_hidden=verb == "hide",
            )
        ]
    if item == "share":
        if not post_id:
            raise BadPayload("share change without post_id")
        if from_brand:
            return []  # the Page sharing something is our own content
        return [
            Incoming(
                external_id=post_id,
                kind="share",
                op=op,
                author=author,
                text=text(value.get("message")),
                sent_at=timestamp(value.get("created_time")),
                url=text(value.get("link"), 500) or post_url(post_id),
            )
        ]
    if item in _VISITOR_POST_ITEMS:
        if not post_id:
            raise BadPayload(f"{item} change without post_id")
        if from_brand:
            return _own_post(post_id, op, value)
        if author is None and op == Op.UPSERT:
            return []  # the Page's own posts are Posts, not interactions
        return [
            Incoming(
                external_id=post_id,
                kind="mention",
                op=op,
                author=author,
                text=text(value.get("message")),
                sent_at=timestamp(value.get("created_time")),
                url=post_url(post_id),
                is_hidden=verb == "hide" or value.get("is_hidden") is True,
            )
        ]
    return []  # reactions, likes, events, ratings…: nothing to answer


def _own_post(post_id: str, op: Op, value: dict[str, Any]) -> list[Incoming]:
    """The Page published (or edited) a post: its details, stored on the Post, no message.

    An unpublished post (`published: 0`, a draft or a scheduled post) has no
    publication time yet and a removed one nothing to store.
    """
    if op != Op.UPSERT or value.get("published") in (0, "0"):
        return []
    ref = PostRef(
        external_id=post_id,
        text=text(value.get("message")),
        url=text(value.get("link"), 500) if _is_post_link(value.get("link")) else "",
        published_at=timestamp(value.get("created_time")),
    )
    return [
        Incoming(
            external_id=post_id, kind=POST_KIND, post=replace(ref, url=ref.url or post_url(post_id))
        )
    ]


def _is_post_link(value: Any) -> bool:
    """A `link` of a feed change is the post's own page only when it is on Facebook."""
    return isinstance(value, str) and value.startswith(WEB_BASE + "/")


def graph_post(data: Any, asked: str) -> PostRef | None:
    """A Page post read with `fields=message,created_time,permalink_url`, or None when unusable.

    https://developers.facebook.com/docs/graph-api/reference/post/ ; a post of
    another id than `asked`, or without an id, is not the one asked for.
    """
    if not isinstance(data, dict):
        return None
    try:
        if text(data.get("id"), 200) != asked:
            return None
        link = text(data.get("permalink_url"), 500)
        return PostRef(
            external_id=asked,
            text=text(data.get("message")),
            url=link if link.startswith(("https://", "http://")) else post_url(asked),
            published_at=timestamp(data.get("created_time")),
        )
    except BadPayload:
        return None


def _mention(page_id: str, value: dict[str, Any]) -> list[Incoming]:
    """The Page was @-mentioned in a post or a comment elsewhere: its own conversation."""
    item = text(value.get("item"), 64)
    op = _FEED_VERBS.get(text(value.get("verb"), 64) or "add")
    if op is None:
        return []
    post_id = text(value.get("post_id"), 200)
    if item == "comment":
        external_id = text(value.get("comment_id"), 200)
        url = comment_url(post_id, external_id)
    elif item == "post":
        external_id = post_id
        url = post_url(post_id)
    else:
        return []
    if not external_id:
        raise BadPayload("mention without comment_id or post_id")
    author = _author(value)
    return [
        Incoming(
            external_id=external_id,
            kind="mention",
            op=op,
            author=author,
            text=text(value.get("message")),
            sent_at=timestamp(value.get("created_time")),
            url=url,
            from_brand=author is not None and author.external_id == page_id,
        )
    ]


def _rating(value: dict[str, Any]) -> list[Incoming]:
    """A Page recommendation (review): `rating` 1..5 where Facebook still sends one."""
    if text(value.get("item"), 64) != "rating":
        return []  # comments and likes on reviews
    op = _FEED_VERBS.get(text(value.get("verb"), 64) or "add")
    story_id = text(value.get("open_graph_story_id"), 200)
    if op is None:
        return []
    if not story_id:
        raise BadPayload("rating without open_graph_story_id")
    reviewer = text(value.get("reviewer_id"), 200)
    rating = value.get("rating")
    if rating is not None and (
        isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5
    ):
        raise BadPayload("rating must be an integer from 1 to 5")
    return [
        Incoming(
            external_id=story_id,
            kind="review",
            op=op,
            author=Author(external_id=reviewer, name=text(value.get("reviewer_name"), 200))
            if reviewer
            else None,
            text=text(value.get("review_text")),
            sent_at=timestamp(value.get("created_time")),
            rating=rating,
            url=post_url(story_id),
        )
    ]


def _attachment_text(message: dict[str, Any]) -> str:
    """A readable stand-in for attachments-only messages ("[image] https://…")."""
    parts = []
    for attachment_value in array(message.get("attachments"), "attachments"):
        attachment = obj(attachment_value, "an attachment")
        kind = text(attachment.get("type"), 32) or "file"
        payload = optional_obj(attachment.get("payload"), "attachment payload")
        url = payload.get("url")
        parts.append(f"[{kind}] {text(url, 500)}".strip() if isinstance(url, str) else f"[{kind}]")
    return "\n".join(parts)


def _messaging(page_id: str, event: dict[str, Any]) -> list[Incoming]:
    """One Messenger event: a message, our echo, an edit or an unsend; others are skipped."""
    sender = text(optional_obj(event.get("sender"), "sender").get("id"), 200)
    recipient = text(optional_obj(event.get("recipient"), "recipient").get("id"), 200)
    # The thread is the person's page-scoped id (PSID), whichever side they are on.
    person = sender if sender and sender != page_id else recipient
    sent_at = timestamp(event.get("timestamp"))
    if "message_edit" in event:
        edit = obj(event["message_edit"], "message_edit")
        mid = text(edit.get("mid"), 200)
        if not mid:
            raise BadPayload("message_edit without mid")
        return [
            Incoming(
                external_id=mid,
                kind="message",
                author=Author(external_id=sender) if sender else None,
                text=text(edit.get("text")),
                sent_at=sent_at,
                thread_ref=person,
                is_private=True,
                from_brand=sender == page_id,
            )
        ]
    if "message" not in event:
        return []  # deliveries, reads, reactions, postbacks, optins…
    message = obj(event["message"], "message")
    mid = text(message.get("mid"), 200)
    if not mid:
        raise BadPayload("message without mid")
    if not person:
        raise BadPayload("message without sender or recipient")
    if message.get("is_deleted") is True:
        return [
            Incoming(
                external_id=mid, kind="message", op=Op.DELETE, thread_ref=person, is_private=True
            )
        ]
    is_echo = message.get("is_echo") is True
    body = text(message.get("text")) or _attachment_text(message)
    reply_to = optional_obj(message.get("reply_to"), "reply_to")
    return [
        Incoming(
            external_id=mid,
            kind="message",
            author=Author(external_id=page_id if is_echo else person),
            text=body,
            sent_at=sent_at,
            parent_external_id=text(reply_to.get("mid"), 200),
            thread_ref=person,
            is_private=True,
            from_brand=is_echo,
        )
    ]


def parse_feed_page(
    body: bytes, page_id: str, since: datetime | None
) -> tuple[list[Incoming], datetime | None]:
    """Comments of a polled `/{page-id}/feed?fields=…comments{…}` answer, newer than `since`.

    Returns the items and the newest comment time seen (the next cursor).
    """
    data = obj(loads(body), "the feed")
    items: list[Incoming] = []
    newest = since
    for post_value in array(data.get("data"), "data"):
        post = obj(post_value, "a post")
        post_id = text(post.get("id"), 200)
        if not post_id:
            raise BadPayload("post without id")
        ref = PostRef(
            external_id=post_id,
            text=text(post.get("message")),
            url=text(post.get("permalink_url"), 500) or post_url(post_id),
            published_at=timestamp(post.get("created_time")),
        )
        comments = optional_obj(post.get("comments"), "comments")
        for comment_value in array(comments.get("data"), "comments.data"):
            comment = obj(comment_value, "a comment")
            item = graph_comment(comment, ref, page_id)
            if item.sent_at is not None:
                if since is not None and item.sent_at < since:
                    continue
                newest = item.sent_at if newest is None else max(newest, item.sent_at)
            items.append(item)
    return items, newest


def graph_comment(comment: dict[str, Any], post: PostRef, page_id: str) -> Incoming:
    """A Graph API Comment node (https://developers.facebook.com/docs/graph-api/reference/comment/)."""
    comment_id = text(comment.get("id"), 200)
    if not comment_id:
        raise BadPayload("comment without id")
    author = _author(comment)
    parent = text(optional_obj(comment.get("parent"), "parent").get("id"), 200)
    return Incoming(
        external_id=comment_id,
        kind="reply" if parent else "comment",
        author=author,
        text=text(comment.get("message")),
        sent_at=timestamp(comment.get("created_time")),
        post=post,
        parent_external_id=parent,
        url=text(comment.get("permalink_url"), 500) or comment_url(post.external_id, comment_id),
        from_brand=author is not None and author.external_id == page_id,
        is_hidden=comment.get("is_hidden") is True,
    )
