"""Website payloads → `Incoming` items. Pure: no database, no network.

Two shapes arrive here (README.md documents both):

* a site's signed webhook (`source="webhook"`): `{"items": [ {id, type, text,
  author, page, parent_id, thread_id, rating, created_at, deleted}, … ]}`;
  ids, threads and authors are namespaced `s:` so a site can never write into
  a widget visitor's thread;
* a widget submission, written by the widget view (`source="widget"`):
  `{"widget": {id, visitor, type, text, name, page, created_at}}`; every
  visitor has one private thread (`w:<visitor>`), where comments and contact
  messages both land and where the brand's answers are read back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cercle.connectors.base import Author, BadPayload, Incoming, Op, PostRef
from cercle.connectors.text import clean

MAX_TEXT = 10_000
MAX_ITEMS = 100
SITE_PREFIX = "s:"
WIDGET_PREFIX = "w:"
SITE_KINDS = frozenset({"comment", "reply", "message", "review", "mention"})
WIDGET_KINDS = {"comment": "comment", "contact": "message"}
_ID = re.compile(r"^[A-Za-z0-9._:@/-]{1,150}$")
_VISITOR = re.compile(r"^[0-9a-f]{32}$")


def load(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadPayload(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadPayload("the body must be a JSON object")
    return data


def _obj(value: Any, what: str, *, required: bool = True) -> Mapping[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise BadPayload(f"{what} must be an object")
    return value


def _str(value: Any, what: str, limit: int = 500) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadPayload(f"{what} must be a string")
    if len(value) > limit:
        raise BadPayload(f"{what} is longer than {limit} characters")
    return clean(value).strip()


def _id(value: Any, what: str, *, required: bool = True) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = _str(value, what, 150)
    if not text:
        if required:
            raise BadPayload(f"{what} is missing")
        return ""
    if not _ID.match(text):
        raise BadPayload(f"{what} may hold letters, digits and . _ : @ / - only")
    return text


def _url(value: Any, what: str) -> str:
    text = _str(value, what, 500)
    if text and not text.lower().startswith(("https://", "http://")):
        raise BadPayload(f"{what} must be an http(s) URL")
    return text


def _time(value: Any, what: str) -> datetime | None:
    text = _str(value, what, 40)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadPayload(f"{what} is not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise BadPayload(f"{what} needs a time zone (e.g. Z)")
    return moment


def _page(value: Any) -> PostRef | None:
    page = _obj(value, "page", required=False)
    url = _url(page.get("url"), "page.url")
    if not url:
        return None
    return PostRef(external_id=url, text=_str(page.get("title"), "page.title", 300), url=url)


def _site_item(raw: Any) -> Incoming:
    item = _obj(raw, "an item")
    external_id = SITE_PREFIX + _id(item.get("id"), "id")
    kind = _str(item.get("type"), "type", 20) or "comment"
    if kind not in SITE_KINDS:
        raise BadPayload(f"type must be one of {', '.join(sorted(SITE_KINDS))}")
    if item.get("deleted") is True:
        return Incoming(external_id=external_id, kind=kind, op=Op.DELETE)
    author_data = _obj(item.get("author"), "author")
    author = Author(
        external_id=SITE_PREFIX + _id(author_data.get("id"), "author.id"),
        name=_str(author_data.get("name"), "author.name", 200),
        handle=_str(author_data.get("handle"), "author.handle", 100),
        avatar_url=_url(author_data.get("avatar_url"), "author.avatar_url"),
        profile_url=_url(author_data.get("url"), "author.url"),
    )
    text = _str(item.get("text"), "text", MAX_TEXT)
    rating: int | None = None
    if kind == "review":
        value = item.get("rating")
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            raise BadPayload("a review needs a rating from 1 to 5")
        rating = value
    elif not text:
        raise BadPayload("text is empty")
    thread = _id(item.get("thread_id"), "thread_id", required=False)
    parent = _id(item.get("parent_id"), "parent_id", required=False)
    return Incoming(
        external_id=external_id,
        kind=kind,
        author=author,
        text=text,
        sent_at=_time(item.get("created_at"), "created_at"),
        post=_page(item.get("page")),
        parent_external_id=SITE_PREFIX + parent if parent else "",
        thread_ref=SITE_PREFIX + thread if thread else "",
        is_private=bool(thread) or kind == "message",
        rating=rating,
        url=_url(item.get("url"), "url"),
    )


def parse_site(body: bytes) -> list[Incoming]:
    """A site's signed delivery: `{"items": [...]}` (1 to 100 items)."""
    items = load(body).get("items")
    if not isinstance(items, list) or not items:
        raise BadPayload('expected {"items": [ … ]} with at least one item')
    if len(items) > MAX_ITEMS:
        raise BadPayload(f"at most {MAX_ITEMS} items per delivery")
    return [_site_item(raw) for raw in items]


def visitor_thread(visitor: str) -> str:
    """The thread reference of a widget visitor (from the hash of its token)."""
    return WIDGET_PREFIX + visitor


def parse_widget(body: bytes) -> list[Incoming]:
    """A widget submission as the widget view stored it."""
    data = _obj(load(body).get("widget"), "widget")
    visitor = _str(data.get("visitor"), "visitor", 64)
    if not _VISITOR.match(visitor):
        raise BadPayload("widget.visitor must be 32 hex characters")
    kind = WIDGET_KINDS.get(_str(data.get("type"), "type", 20))
    if kind is None:
        raise BadPayload("widget.type must be comment or contact")
    text = _str(data.get("text"), "text", MAX_TEXT)
    if not text:
        raise BadPayload("text is empty")
    return [
        Incoming(
            external_id=WIDGET_PREFIX + _id(data.get("id"), "widget.id"),
            kind=kind,
            author=Author(
                external_id=WIDGET_PREFIX + visitor,
                name=_str(data.get("name"), "name", 100),
            ),
            text=text,
            sent_at=_time(data.get("created_at"), "created_at"),
            post=_page(data.get("page")),
            thread_ref=visitor_thread(visitor),
            is_private=True,
        )
    ]
