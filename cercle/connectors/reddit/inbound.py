"""Reddit listings → `Incoming` items. Pure: no database, no network.

A polled page is stored as
`{"reddit_poll": {"username": <the brand's account>, "inbox": <GET /message/inbox>,
"comments": <GET /r/{subreddit}/comments or null>}}`, each listing as Reddit sent it.

* inbox `t1` with subject `username mention` → `mention` (its own conversation);
* inbox `t1` `post reply` → `comment` under the brand's post; `comment reply` →
  `reply` under the post, its parent the brand's comment;
* inbox `t4` (private message) → private `message`, in the thread of its first
  message (`first_message_name`, or its own name when it starts the thread);
  messages without an author (sent by a subreddit, by Reddit) are skipped;
* subreddit `t1` → `comment` (parent a post) or `reply` (parent a comment) under
  the post; the brand's own are echoes; removed ones (`banned_by`) are hidden;
  `[deleted]` ones are deletions.

Docs: https://www.reddit.com/dev/api/ (listings, things: t1 comment, t3 link, t4 message).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from cercle.connectors.base import Author, BadPayload, Incoming, Op, PostRef
from cercle.connectors.text import clean

ENVELOPE = "reddit_poll"
WEB = "https://www.reddit.com"
MAX_TEXT = 40_000
GONE = frozenset({"[deleted]", "[removed]"})
_POST_IN_PATH = re.compile(r"/comments/([a-z0-9]+)/")


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadPayload(f"Reddit {what} is not an object")
    return value


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return clean(value) if isinstance(value, str) else ""


def _time(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def children(listing: Any, what: str) -> list[dict[str, Any]]:
    """The things of a Listing (`{"kind": "Listing", "data": {"children": [...]}}`)."""
    data = _obj(_obj(listing, what).get("data"), f"{what} data")
    items = data.get("children")
    if not isinstance(items, list):
        raise BadPayload(f"Reddit {what} has no children")
    return [_obj(c, f"{what} child") for c in items]


def newest_name(listing: Any, what: str) -> str:
    """The fullname of a listing's first (newest) thing, "" when empty."""
    things = children(listing, what)
    if not things:
        return ""
    return _str(_obj(things[0].get("data"), "thing"), "name")


def _author(data: dict[str, Any]) -> Author | None:
    name = _str(data, "author")
    if not name or name in GONE:
        return None
    return Author(external_id=name, name=name, handle=name, profile_url=f"{WEB}/user/{name}")


def _link(path: str) -> str:
    return f"{WEB}{path}" if path.startswith("/") else path


def _post_from_path(path: str) -> str:
    match = _POST_IN_PATH.search(path)
    return f"t3_{match.group(1)}" if match else ""


def _text(data: dict[str, Any]) -> str:
    return _str(data, "body")[:MAX_TEXT]


def _name(data: dict[str, Any]) -> str:
    name = _str(data, "name")
    if not name.startswith(("t1_", "t4_")) or len(name) > 40:
        raise BadPayload(f"not a Reddit comment or message: {name[:40]!r}")
    return name


def parse_inbox_thing(thing: dict[str, Any], brand: str) -> list[Incoming]:
    kind = thing.get("kind")
    data = _obj(thing.get("data"), "inbox thing")
    if kind not in ("t1", "t4"):
        return []
    name = _name(data)
    author = _author(data)
    if author is None:
        return []
    from_brand = author.external_id.lower() == brand.lower()
    sent_at = _time(data.get("created_utc"))
    if kind == "t4":
        return [
            Incoming(
                external_id=name,
                kind="message",
                is_private=True,
                thread_ref=_str(data, "first_message_name") or name,
                author=author,
                text=_text(data),
                sent_at=sent_at,
                from_brand=from_brand,
            )
        ]
    context = _str(data, "context")
    url = _link(context.split("?", 1)[0]) if context else ""
    subject = _str(data, "subject")
    parent = _str(data, "parent_id")
    post_id = _str(data, "link_id") or _post_from_path(context)
    common: dict[str, Any] = {
        "external_id": name,
        "author": author,
        "text": _text(data),
        "sent_at": sent_at,
        "url": url,
        "from_brand": from_brand,
    }
    if subject == "username mention" or not post_id:
        return [Incoming(kind="mention", **common)]
    post = PostRef(external_id=post_id, text=_str(data, "link_title"))
    if subject == "comment reply":
        return [Incoming(kind="reply", post=post, parent_external_id=parent, **common)]
    return [Incoming(kind="comment", post=post, parent_external_id=parent, **common)]


def is_post_name(value: str) -> bool:
    """Whether `value` is a submission's fullname (`t3_` and base-36 digits)."""
    return len(value) <= 40 and value.startswith("t3_") and value[3:].isalnum()


def info_posts(listing: Any, asked: set[str], brand: str = "") -> list[PostRef]:
    """The brand's submissions in an `/api/info?id=t3_…` Listing: title, permalink, `created_utc`.

    https://www.reddit.com/dev/api/#GET_api_info ; only `t3` things whose name
    was asked are kept, and when `brand` is known only those it wrote (a member's
    submission is not the brand's content); a malformed child is left out.
    """
    try:
        things = children(listing, "info listing")
    except BadPayload:
        return []
    refs: list[PostRef] = []
    for thing in things:
        if thing.get("kind") != "t3" or not isinstance(thing.get("data"), dict):
            continue
        data = thing["data"]
        name = _str(data, "name")
        if name not in asked or (brand and _str(data, "author").lower() != brand.lower()):
            continue
        permalink = _str(data, "permalink")
        refs.append(
            PostRef(
                external_id=name,
                text=_str(data, "title")[:MAX_TEXT],
                url=_link(permalink) if permalink.startswith("/") else "",
                published_at=_time(data.get("created_utc")),
            )
        )
    return refs


def parse_comment(thing: dict[str, Any], brand: str) -> list[Incoming]:
    """A comment of the subreddit's listing."""
    if thing.get("kind") != "t1":
        return []
    data = _obj(thing.get("data"), "comment")
    name = _name(data)
    if _str(data, "author") in GONE and _text(data) in GONE:
        return [Incoming(external_id=name, kind="comment", op=Op.DELETE)]
    author = _author(data)
    if author is None:
        return []
    parent = _str(data, "parent_id")
    post_id = _str(data, "link_id")
    subreddit = _str(data, "subreddit")
    permalink = _str(data, "permalink")
    post_url = _str(data, "link_permalink") or (
        f"{WEB}/r/{subreddit}/comments/{post_id[3:]}/" if post_id.startswith("t3_") else ""
    )
    edited = _time(data.get("edited"))
    return [
        Incoming(
            external_id=name,
            kind="comment" if parent.startswith("t3_") else "reply",
            author=author,
            text=_text(data),
            sent_at=_time(data.get("created_utc")),
            post=PostRef(external_id=post_id, text=_str(data, "link_title"), url=post_url)
            if post_id
            else None,
            parent_external_id=parent,
            url=_link(permalink) if permalink else "",
            from_brand=author.external_id.lower() == brand.lower(),
            is_hidden=bool(data.get("banned_by")) or data.get("removed") is True,
            changed_at=edited or _time(data.get("created_utc")),
        )
    ]


def parse_listings(inbox: Any, comments: Any, brand: str) -> list[Incoming]:
    items: list[Incoming] = []
    if inbox is not None:
        for thing in children(inbox, "inbox"):
            items += parse_inbox_thing(thing, brand)
    if comments is not None:
        for thing in children(comments, "comments"):
            items += parse_comment(thing, brand)
    return items


def load(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadPayload(f"Reddit's {what} is not JSON") from exc


def envelope(brand: str, inbox: Any, comments: Any) -> bytes:
    return json.dumps(
        {ENVELOPE: {"username": brand, "inbox": inbox, "comments": comments}},
        ensure_ascii=False,
    ).encode()


def parse_poll(body: bytes) -> list[Incoming]:
    page = _obj(_obj(load(body, "page"), "page").get(ENVELOPE), "polled page")
    brand = page.get("username")
    return parse_listings(
        page.get("inbox"), page.get("comments"), brand if isinstance(brand, str) else ""
    )


def parse_search(listing: Any, since: datetime | None = None) -> list[Incoming]:
    """A `/search` Listing of posts (t3) → one "mention" each, none older than `since`."""
    items: list[Incoming] = []
    for thing in children(listing, "search"):
        if thing.get("kind") != "t3":
            continue
        data = _obj(thing.get("data"), "post")
        name = _str(data, "name")
        author = _author(data)
        if not name.startswith("t3_") or len(name) > 40 or author is None:
            continue
        sent_at = _time(data.get("created_utc"))
        if since is not None and sent_at is not None and sent_at < since:
            continue
        title, body = _str(data, "title"), _str(data, "selftext")
        permalink = _str(data, "permalink")
        items.append(
            Incoming(
                external_id=name,
                kind="mention",
                author=author,
                text=(f"{title}\n\n{body}" if body else title)[:MAX_TEXT],
                sent_at=sent_at,
                url=_link(permalink) if permalink else "",
            )
        )
    return items
