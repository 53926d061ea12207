"""Discourse webhook payloads → `Incoming` items. Pure: no database, no network.

A delivery carries one object under a key named after its event type
(`X-Discourse-Event-Type`): `{"post": …}` (WebHookPostSerializer),
`{"topic": …}` (WebHookTopicViewSerializer), `{"flag": {…, "post": …}}`
(WebHookFlagSerializer) or `{"ping": "OK"}`. The rules:

* a topic is the content interactions hang under (`PostRef`, id = topic id);
  its first post is the brand's content when staff (or the API user) wrote
  it, and then is no message; a topic opened by a member is a thread whose
  first post is an inbound `comment`;
* every other regular post is a `comment`, or a `reply` when it answers a
  post (`reply_to_post_number`); its id is the post id, so an edit (a newer
  `version`) updates the same message;
* a post in a personal message topic is a private `message`, threaded by
  topic id;
* the API user's own posts are echoes of our replies (`from_brand`);
* whispers, moderator actions and small actions ("closed this topic") are
  not interactions: skipped;
* `post_destroyed`, or a post with `deleted_at` / `user_deleted`, deletes it;
  `hidden` follows the post (a flag event re-sends the flagged post);
* topic events are validated and acknowledged; the posts carry everything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cercle.connectors.base import Author, BadPayload, Incoming, Op, PostRef
from cercle.connectors.text import clean, html_to_text

MAX_TEXT = 65_000  # Discourse's own max_post_length is 32 000 by default
REGULAR = 1  # Post.types[:regular]; 2 moderator_action, 3 small_action, 4 whisper
PRIVATE_MESSAGE = "private_message"
DELETE_EVENTS = frozenset({"post_destroyed"})
# Event types we act on; anything else a forum sends (user, category, group…) is acknowledged.
HANDLED_TYPES = frozenset({"post", "topic", "flag", "ping"})


def _obj(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise BadPayload(f"{what} must be an object")
    return value


def _id(value: Any, what: str, *, required: bool = True) -> str:
    if value is None or value == "":
        if required:
            raise BadPayload(f"{what} is missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadPayload(f"{what} must be an id")
    text = str(value)
    # System users have negative ids (-1 "system", -2 "discobot").
    if not text.lstrip("-").isdigit() or len(text) > 20:
        raise BadPayload(f"{what} is not a Discourse id: {text[:20]!r}")
    return text


def _int(value: Any, what: str, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadPayload(f"{what} must be a number")
    return value


def _str(value: Any, limit: int = 500) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadPayload(f"expected a string, got {type(value).__name__}")
    return clean(value[:limit])


def _time(value: Any) -> datetime | None:
    text = _str(value, 40)
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadPayload(f"bad time {text!r}") from exc


def _url(site: str, path: str) -> str:
    return f"{site}{path}" if site else ""


def _avatar(site: str, template: str) -> str:
    """`/user_avatar/forum/camille/{size}/12_2.png` → an absolute URL at 96 px (same site or https)."""
    if not template:
        return ""
    url = template.replace("{size}", "96")
    if url.startswith("//"):
        url = "https:" + url
    elif url.startswith("/"):
        url = _url(site, url)
    return url if url.startswith(("https://", "http://")) else ""


def _text(post: Mapping[str, Any]) -> str:
    raw = post.get("raw")
    if isinstance(raw, str):
        return _str(raw, MAX_TEXT).strip()
    # Older forums leave `raw` out of the webhook: the text of the rendered HTML.
    return html_to_text(_str(post.get("cooked"), MAX_TEXT))


def post_item(
    post: Mapping[str, Any], event: str, *, site: str, brand_username: str
) -> Incoming | None:
    """One post (as WebHookPostSerializer or /posts.json gives it) → an Incoming, or None to skip."""
    post_id = _id(post.get("id"), "post.id")
    topic_id = _id(post.get("topic_id"), "post.topic_id")
    number = _int(post.get("post_number"), "post.post_number", 0)
    if number < 0:
        raise BadPayload("post.post_number must be positive")
    if _int(post.get("post_type"), "post.post_type", REGULAR) != REGULAR:
        return None
    username = _str(post.get("username"), 60)
    user_id = _id(post.get("user_id"), "post.user_id", required=False)
    slug = _str(post.get("topic_slug"), 300) or "-"
    is_private = _str(post.get("topic_archetype"), 40) == PRIVATE_MESSAGE
    from_brand = bool(username) and username.lower() == brand_username.lower()
    staff = post.get("staff") is True or post.get("admin") is True or post.get("moderator") is True
    url = _url(site, f"/t/{slug}/{topic_id}/{number}" if number else f"/p/{post_id}")
    deleted = (
        event in DELETE_EVENTS or bool(post.get("deleted_at")) or post.get("user_deleted") is True
    )
    if number == 1 and not is_private and (staff or from_brand):
        return None  # the brand's own topic: the content, not an interaction
    if is_private:
        kind = "message"
    elif number > 1 and post.get("reply_to_post_number"):
        kind = "reply"
    else:
        kind = "comment"
    if deleted:
        return Incoming(external_id=post_id, kind=kind, op=Op.DELETE)
    author = Author(
        external_id=user_id or f"username:{username}",
        name=_str(post.get("name"), 200) or username,
        handle=username,
        avatar_url=_avatar(site, _str(post.get("avatar_template"), 500)),
        profile_url=_url(site, f"/u/{username}") if username else "",
    )
    topic = PostRef(
        external_id=topic_id,
        text=_str(post.get("topic_title"), 1000),
        url=_url(site, f"/t/{slug}/{topic_id}"),
    )
    return Incoming(
        external_id=post_id,
        kind=kind,
        author=author,
        text=_text(post),
        sent_at=_time(post.get("created_at")),
        post=None if is_private else topic,
        thread_ref=topic_id if is_private else "",
        is_private=is_private,
        url=url,
        from_brand=from_brand,
        is_hidden=post.get("hidden") is True,
    )


def _opened_by_brand(topic: Mapping[str, Any], brand_username: str) -> bool:
    """Whether the brand opened the topic: its first post by staff, or by the API user.

    A topic that tells neither (no `post_stream`, no `details.created_by`) is taken
    as the brand's: its post is one Cercle already keeps as such.
    """
    details = topic.get("details")
    creator = details.get("created_by") if isinstance(details, dict) else None
    if isinstance(creator, dict) and _str(creator.get("username"), 60) == brand_username:
        return True
    stream = topic.get("post_stream")
    posts = stream.get("posts") if isinstance(stream, dict) else None
    first = next(
        (
            p
            for p in (posts if isinstance(posts, list) else [])
            if isinstance(p, dict) and p.get("post_number") == 1
        ),
        None,
    )
    if first is not None:
        return first.get("staff") is True or _str(first.get("username"), 60) == brand_username
    return not isinstance(creator, dict)


def topic_post(topic: Any, asked: str, *, site: str, brand_username: str = "") -> PostRef | None:
    """A topic the brand opened, read by id (`GET /t/{id}.json`): title, link, `created_at`.

    https://docs.discourse.org/#tag/Topics/operation/getTopic ; a topic of another
    id, one a member opened (not the brand's content: its time says nothing of
    when the brand publishes), or of the wrong shape, is left out.
    """
    if not isinstance(topic, dict):
        return None
    try:
        if _id(topic.get("id"), "topic id") != asked or not _opened_by_brand(topic, brand_username):
            return None
        slug = _str(topic.get("slug"), 200)
        return PostRef(
            external_id=asked,
            text=_str(topic.get("title"), 1000),
            url=_url(site, f"/t/{slug}/{asked}") if slug else _url(site, f"/t/{asked}"),
            published_at=_time(topic.get("created_at")),
        )
    except BadPayload:
        return None


def load(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadPayload(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadPayload("a Discourse delivery is a JSON object")
    return data


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """Discourse's "Ping" button: event type `ping`, body `{"ping":"OK"}`."""
    if headers.get("x-discourse-event-type", "") == "ping":
        return True
    try:
        return load(body).keys() == {"ping"}
    except BadPayload:
        return False


def parse_webhook(
    body: bytes, headers: Mapping[str, str], *, site: str, brand_username: str
) -> list[Incoming]:
    """One webhook delivery → its items (none for pings, topics and events we do not use)."""
    data = load(body)
    event_type = headers.get("x-discourse-event-type", "") or next(iter(data), "")
    event = headers.get("x-discourse-event", "")
    if event_type not in HANDLED_TYPES or event_type == "ping":
        return []
    payload = _obj(data.get(event_type), event_type)
    if event_type == "topic":
        _id(payload.get("id"), "topic.id")
        return []
    if event_type == "flag":
        _id(payload.get("id"), "flag.id")
        flagged = payload.get("post")
        if flagged is None:  # the post is gone
            return []
        payload = _obj(flagged, "flag.post")
    item = post_item(payload, event, site=site, brand_username=brand_username)
    return [item] if item is not None else []


def parse_latest(body: bytes, *, site: str, brand_username: str, after: int = 0) -> list[Incoming]:
    """A `GET /posts.json` page (`latest_posts`, newest first) → items with an id above `after`."""
    data = load(body)
    posts = data.get("latest_posts")
    if not isinstance(posts, list):
        raise BadPayload("latest_posts must be a list")
    items: list[Incoming] = []
    for raw in reversed(posts):
        post = _obj(raw, "a post")
        if int(_id(post.get("id"), "post.id")) <= after:
            continue
        item = post_item(post, "", site=site, brand_username=brand_username)
        if item is not None:
            items.append(item)
    return items


def post_ids(body: bytes) -> list[int]:
    data = load(body)
    posts = data.get("latest_posts")
    return [
        int(p["id"])
        for p in posts or []
        if isinstance(p, dict) and isinstance(p.get("id"), int) and not isinstance(p["id"], bool)
    ]
