"""Instagram webhook and API JSON → `Incoming` items. Pure: no database, no network.

Webhook deliveries (`object` = "instagram") carry, per `entry` (one per
Instagram professional account, `entry.id` = its IG user id):

* `changes[]` with `field` = `comments` / `live_comments`
  (`value` = {id, text, from: {id, username}, media: {id, media_product_type}, parent_id?})
  or `mentions` (`value` = {comment_id?, media_id});
* `messaging[]` (and `standby[]` under the handover protocol) with
  {sender: {id}, recipient: {id}, timestamp (ms), message: {mid, text?, attachments?,
  is_echo?, is_deleted?}} or {…, message_edit: {mid, text, num_edit}}.

Fields we do not read (story_insights, reactions, read receipts…) are ignored,
so Meta never sees an error for a field the channel happens to be subscribed to.
Malformed values of the fields we read raise BadPayload, never KeyError.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from cercle.connectors.base import Author, BadPayload, Incoming, Op, PostRef
from cercle.connectors.meta.webhooks import entries_of, load_delivery

# The `object` of Instagram webhook deliveries.
WEBHOOK_OBJECT = "instagram"

COMMENT_FIELDS = frozenset({"comments", "live_comments"})
MENTION_FIELD = "mentions"
# Mentions live on other accounts' media: their ids carry the media id (see mention_id).
MENTION_PREFIX = "mention:"
MESSAGING_KEYS = ("messaging", "standby")
# Attachment types that make a DM a share of content, or a story mention.
SHARE_ATTACHMENTS = frozenset({"share", "ig_reel", "reel", "ig_post", "story_share"})
MENTION_ATTACHMENTS = frozenset({"story_mention"})
PROFILE_URL = "https://www.instagram.com/{username}/"
# Instagram usernames: letters, digits, dots and underscores (anything else is not linked).
USERNAME = re.compile(r"[A-Za-z0-9._]{1,30}")
MAX_TEXT = 10_000
MAX_ID = 200


def _str(value: Any, limit: int = MAX_TEXT, *, what: str = "value") -> str:
    """A string (or number, as ids sometimes are) from untrusted JSON, cut to `limit`."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadPayload(f"{what}: expected a string, got {type(value).__name__}")
    return str(value)[:limit]


def _id(value: Any, what: str) -> str:
    result = _str(value, MAX_ID, what=what)
    if not result:
        raise BadPayload(f"missing {what}")
    return result


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadPayload(f"{what} must be an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadPayload(f"{what} must be a list")
    return value


def parse_time(value: Any) -> datetime | None:
    """Meta's times: epoch seconds (entry.time), epoch milliseconds (messaging timestamp) or ISO 8601."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadPayload("bad time")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 100_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise BadPayload(f"bad time {value!r}") from exc
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value[:64])
        except ValueError as exc:
            raise BadPayload(f"bad time {value[:64]!r}") from exc
        if parsed.tzinfo is None:
            raise BadPayload(f"time without zone {value[:64]!r}")
        return parsed
    raise BadPayload(f"bad time of type {type(value).__name__}")


def load(body: bytes) -> dict[str, Any]:
    """The JSON object of a delivery; BadPayload when it is not one."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadPayload(f"not JSON: {exc}") from exc
    return _obj(data, "the payload")


def parse_webhook(body: bytes, account_ids: Iterable[str]) -> list[Incoming]:
    """The items of one webhook delivery for the brand's accounts `account_ids`.

    Entries for other accounts belong to other channels (one Meta app serves
    many accounts) and are skipped; "written by the brand" means written by one
    of `account_ids`, never by whatever account an entry names.
    """
    data = load_delivery(body, WEBHOOK_OBJECT)
    ours = {a for a in account_ids if a}
    items: list[Incoming] = []
    for entry in entries_of(data, ours):
        sent_at = parse_time(entry.get("time"))
        for raw_change in _list(entry.get("changes"), "entry.changes"):
            change = _obj(raw_change, "a change")
            item = _change_item(change, sent_at, ours)
            if item is not None:
                items.append(item)
        for key in MESSAGING_KEYS:
            for raw_event in _list(entry.get(key), f"entry.{key}"):
                item = messaging_item(_obj(raw_event, "a messaging event"), ours)
                if item is not None:
                    items.append(item)
    return items


def _change_item(
    change: Mapping[str, Any], sent_at: datetime | None, brand: set[str]
) -> Incoming | None:
    field = change.get("field")
    if field in COMMENT_FIELDS:
        value = _obj(change.get("value"), "comments value")
        media = _obj(value.get("media"), "comments value.media")
        post = PostRef(external_id=_id(media.get("id"), "media.id"))
        return comment_item(value, post, brand, sent_at=sent_at)
    if field == MENTION_FIELD:
        return mention_item(_obj(change.get("value"), "mentions value"), sent_at)
    return None  # a field we do not read


def _author(raw: Any) -> Author:
    person = _obj(raw, "from")
    username = _str(person.get("username"), MAX_ID, what="from.username")
    return Author(
        external_id=_id(person.get("id"), "from.id"),
        name=username,
        handle=username,
        profile_url=PROFILE_URL.format(username=username) if USERNAME.fullmatch(username) else "",
    )


def comment_item(
    value: Mapping[str, Any], post: PostRef, brand: set[str], *, sent_at: datetime | None = None
) -> Incoming:
    """A comment or a reply (it has a `parent_id`) under the brand's media `post`.

    Used for webhook values and for comments listed by the API while polling
    (which add `timestamp`, `hidden` and `username`).
    """
    comment_id = _id(value.get("id"), "comment id")
    if value.get("from") is not None:
        author = _author(value.get("from"))
    elif value.get("username"):
        # Older API answers give only the username; it is stable enough to thread on.
        username = _str(value.get("username"), MAX_ID, what="username")
        author = Author(external_id=f"username:{username}", name=username, handle=username)
    else:
        raise BadPayload("comment without author")
    parent = _str(value.get("parent_id"), MAX_ID, what="parent_id")
    when = parse_time(value.get("timestamp")) or sent_at
    hidden = value.get("hidden")
    if hidden is not None and not isinstance(hidden, bool):
        raise BadPayload("hidden must be a boolean")
    return Incoming(
        external_id=comment_id,
        kind="reply" if parent else "comment",
        author=author,
        text=_str(value.get("text"), what="text"),
        sent_at=when,
        post=post,
        parent_external_id=parent,
        from_brand=author.external_id in brand,
        is_hidden=bool(hidden),
        changed_at=sent_at,  # the webhook's entry.time (None when listed by a poll)
    )


def mention_id(media_id: str, comment_id: str = "") -> str:
    """Our external id of a mention: it names the media (and comment) so a reply can be routed.

    Answering a mention goes through `POST /{ig-user-id}/mentions` with the
    media id and comment id, not through the comment's own edge: the media is
    another account's, so both ids must travel with the item.
    """
    return (
        f"{MENTION_PREFIX}{media_id}:{comment_id}" if comment_id else f"{MENTION_PREFIX}{media_id}"
    )


def split_mention_id(external_id: str) -> tuple[str, str] | None:
    """(media id, comment id or "") of a mention's external id; None for any other item."""
    if not external_id.startswith(MENTION_PREFIX):
        return None
    media_id, _sep, comment_id = external_id.removeprefix(MENTION_PREFIX).partition(":")
    return (media_id, comment_id) if media_id else None


def mention_item(value: Mapping[str, Any], sent_at: datetime | None) -> Incoming:
    """The brand was @mentioned in a comment (`comment_id`) or a caption (only `media_id`).

    The notification carries ids only: the text and author need a fetch
    (`GET /{ig-user-id}?fields=mentioned_comment.comment_id(…)`), which is network,
    so the item is emitted with what the payload has and enriched by a later fetch.
    The media is someone else's, so it is not a Post of ours: a mention is its own conversation.
    """
    media_id = _id(value.get("media_id"), "mentions media_id")
    comment_id = _str(value.get("comment_id"), MAX_ID, what="mentions comment_id")
    return Incoming(
        external_id=mention_id(media_id, comment_id),
        kind="mention",
        sent_at=sent_at,
        changed_at=sent_at,
        needs_enrichment=True,
    )


def mentioned_item(external_id: str, node: Mapping[str, Any]) -> Incoming | None:
    """The full mention behind an id-only webhook, from `InstagramClient.mentioned`; None if gone."""
    if not node.get("id"):
        return None
    username = _str(node.get("username"), MAX_ID, what="username")
    media = node.get("media")
    permalink = node.get("permalink") or (media.get("permalink") if isinstance(media, dict) else "")
    return Incoming(
        external_id=external_id,
        kind="mention",
        author=Author(
            external_id=f"username:{username}" if username else f"mention:{external_id}",
            name=username,
            handle=username,
            profile_url=PROFILE_URL.format(username=username)
            if USERNAME.fullmatch(username)
            else "",
        )
        if username
        else None,
        text=_str(node.get("text") or node.get("caption"), what="text"),
        sent_at=parse_time(node.get("timestamp")),
        url=_str(permalink, 500, what="permalink"),
    )


def tagged_media_item(media: Mapping[str, Any]) -> Incoming:
    """A media another account tagged the brand in, as listed by `GET /{ig-user-id}/tags`."""
    media_id = _id(media.get("id"), "tagged media id")
    username = _str(media.get("username"), MAX_ID, what="username")
    return Incoming(
        external_id=mention_id(media_id),
        kind="mention",
        author=Author(
            external_id=f"username:{username}" if username else f"media:{media_id}",
            name=username,
            handle=username,
            profile_url=PROFILE_URL.format(username=username)
            if USERNAME.fullmatch(username)
            else "",
        ),
        text=_str(media.get("caption"), what="caption"),
        sent_at=parse_time(media.get("timestamp")),
        url=_str(media.get("permalink"), 500, what="permalink"),
    )


def _attachments_text(message: Mapping[str, Any]) -> tuple[str, set[str]]:
    lines: list[str] = []
    types: set[str] = set()
    for raw in _list(message.get("attachments"), "attachments"):
        attachment = _obj(raw, "an attachment")
        kind = _str(attachment.get("type"), 40, what="attachment type") or "file"
        types.add(kind)
        payload = attachment.get("payload")
        url = (
            _str(payload.get("url"), 2000, what="attachment url")
            if isinstance(payload, dict)
            else ""
        )
        lines.append(f"[{kind}] {url}".strip())
    return "\n".join(lines), types


def messaging_item(event: Mapping[str, Any], brand: set[str]) -> Incoming | None:
    """One direct message, its edit, its deletion or our own echo; None for reads, reactions…"""
    sender = _id(_obj(event.get("sender"), "sender").get("id"), "sender.id")
    recipient = _id(_obj(event.get("recipient"), "recipient").get("id"), "recipient.id")
    sent_at = parse_time(event.get("timestamp"))
    if isinstance(event.get("message_edit"), dict):
        edit = event["message_edit"]
        mid = _id(edit.get("mid"), "message_edit.mid")
        echo = sender in brand
        return Incoming(
            external_id=mid,
            kind="message",
            author=Author(external_id=sender),
            text=_str(edit.get("text"), what="message_edit.text"),
            sent_at=sent_at,
            thread_ref=recipient if echo else sender,
            is_private=True,
            from_brand=echo,
            changed_at=sent_at,
        )
    if event.get("message") is None:
        return None
    message = _obj(event.get("message"), "message")
    mid = _id(message.get("mid"), "message.mid")
    is_echo = message.get("is_echo") is True or sender in brand
    thread = recipient if is_echo else sender
    if message.get("is_deleted") is True:
        return Incoming(
            external_id=mid,
            kind="message",
            op=Op.DELETE,
            thread_ref=thread,
            is_private=True,
            changed_at=sent_at,
        )
    text = _str(message.get("text"), what="message.text")
    extra, types = _attachments_text(message)
    kind = "message"
    if types & MENTION_ATTACHMENTS:
        kind = "mention"
    elif types & SHARE_ATTACHMENTS:
        kind = "share"
    reply_to = message.get("reply_to")
    parent = ""
    if isinstance(reply_to, dict):
        parent = _str(reply_to.get("mid"), MAX_ID, what="reply_to.mid")
    return Incoming(
        external_id=mid,
        kind=kind,
        author=Author(external_id=sender),
        text="\n".join(part for part in (text, extra) if part),
        sent_at=sent_at,
        parent_external_id=parent,
        thread_ref=thread,
        is_private=True,
        from_brand=is_echo,
        changed_at=sent_at,
    )


def media_post(media: Mapping[str, Any]) -> PostRef:
    """A PostRef from an IG Media object listed by `GET /{ig-user-id}/media`."""
    return PostRef(
        external_id=_id(media.get("id"), "media id"),
        text=_str(media.get("caption"), what="caption"),
        url=_str(media.get("permalink"), 500, what="permalink"),
        thumbnail_url=_str(
            media.get("thumbnail_url") or media.get("media_url"), 500, what="thumbnail"
        ),
        published_at=parse_time(media.get("timestamp")),
    )


def media_details(data: Any, asked: str) -> PostRef | None:
    """The details of the media `asked` read by post enrichment, or None when unusable.

    `GET /{ig-media-id}?fields=id,caption,permalink,timestamp,…`: an answer for
    another id, or of the wrong shape, is not used.
    """
    if not isinstance(data, Mapping):
        return None
    try:
        ref = media_post(data)
    except BadPayload:
        return None
    return ref if ref.external_id == asked else None


def polled_comments(
    comments_page: Mapping[str, Any], post: PostRef, brand: set[str]
) -> list[Incoming]:
    """Comments (and their expanded replies) of one media, as listed by `GET /{media-id}/comments`."""
    items: list[Incoming] = []
    for raw in _list(comments_page.get("data"), "comments data"):
        comment = _obj(raw, "a comment")
        items.append(comment_item(comment, post, brand))
        replies = comment.get("replies")
        if isinstance(replies, dict):
            for raw_reply in _list(replies.get("data"), "replies data"):
                reply = dict(_obj(raw_reply, "a reply"))
                # Replies listed under a comment do not always repeat parent_id.
                reply.setdefault("parent_id", comment.get("id"))
                items.append(comment_item(reply, post, brand))
    return items
