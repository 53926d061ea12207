"""Mastodon notifications → `Incoming` items. Pure: no database, no network.

What arrives here is a polled page, stored as
`{"mastodon_poll": {"account_id": <the brand's account id>, "notifications": [...]}}`
(the `notifications` list is `GET /api/v1/notifications` as the instance sent it).

* a `mention` whose status is `visibility: direct` is a private `message`, in the
  thread of its author (`thread_ref` = the author's account id);
* a `mention` answering one of the brand's statuses is a `reply` under that status;
* any other `mention` is a `mention` (its own conversation);
* `favourite` and `reblog` (a boost) are a `share` of the brand's status, one per
  person and status, so the same favourite seen twice is one item;
* other types (follow, poll, update, admin.*…) are not interactions: skipped.

Docs: https://docs.joinmastodon.org/entities/Notification/ and
https://docs.joinmastodon.org/entities/Status/
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cercle.connectors.base import Author, BadPayload, Incoming, PostRef
from cercle.connectors.text import clean, html_to_text

ENVELOPE = "mastodon_poll"
MAX_TEXT = 25_000
SHARE_TYPES = frozenset({"favourite", "reblog"})


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadPayload(f"Mastodon {what} is not an object")
    return value


def _id(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value):
        raise BadPayload(f"Mastodon {what} has no id")
    text = str(value)
    if len(text) > 64:
        raise BadPayload(f"Mastodon {what} id is too long")
    return text


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return clean(value) if isinstance(value, str) else ""


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadPayload(f"unreadable Mastodon time {value[:40]!r}") from exc
    return moment if moment.tzinfo else None


def author(account: dict[str, Any]) -> Author:
    return Author(
        external_id=_id(account.get("id"), "account"),
        name=_str(account, "display_name") or _str(account, "username"),
        handle=_str(account, "acct"),
        avatar_url=_str(account, "avatar_static") or _str(account, "avatar"),
        profile_url=_str(account, "url"),
    )


def status_text(status: dict[str, Any]) -> str:
    """Plain text of a status: its content warning first, then its HTML content as text."""
    content = status.get("content")
    text = html_to_text(content) if isinstance(content, str) else ""
    spoiler = _str(status, "spoiler_text").strip()
    if spoiler:
        text = f"[{spoiler}]\n\n{text}" if text else f"[{spoiler}]"
    return text[:MAX_TEXT]


def status_post(status: Any, asked: str, brand_id: str) -> PostRef | None:
    """One of the brand's statuses read by id (`GET /api/v1/statuses/:id`), or None.

    https://docs.joinmastodon.org/entities/Status/ ; a status of another id, or
    written by another account than `brand_id` (a reply's parent may be the
    community's), is not the brand's post; a malformed one is left out.
    """
    if not isinstance(status, dict):
        return None
    try:
        if _id(status.get("id"), "status") != asked:
            return None
        account = _obj(status.get("account"), "account")
        if brand_id and _id(account.get("id"), "account") != brand_id:
            return None
        return PostRef(
            external_id=asked,
            text=status_text(status),
            url=_str(status, "url") or _str(status, "uri"),
            published_at=_time(status.get("created_at")),
        )
    except BadPayload:
        return None


def parse_notification(notification: Any, brand_id: str) -> list[Incoming]:
    """One Notification entity → zero or one item."""
    data = _obj(notification, "notification")
    kind = data.get("type")
    if kind != "mention" and kind not in SHARE_TYPES:
        return []
    account = author(_obj(data.get("account"), "notification account"))
    status = _obj(data.get("status"), "notification status")
    status_id = _id(status.get("id"), "status")
    status_account = _obj(status.get("account"), "status account")
    url = _str(status, "url") or _str(status, "uri")
    if kind in SHARE_TYPES:
        post = PostRef(
            external_id=status_id,
            text=status_text(status)[:500],
            url=url,
            published_at=_time(status.get("created_at")),
        )
        return [
            Incoming(
                external_id=f"{kind}:{account.external_id}:{status_id}",
                kind="share",
                author=account,
                sent_at=_time(data.get("created_at")),
                post=post,
                url=url,
            )
        ]
    writer = author(status_account)
    common: dict[str, Any] = {
        "external_id": status_id,
        "author": writer,
        "text": status_text(status),
        "sent_at": _time(status.get("created_at")),
        "url": url,
        "changed_at": _time(status.get("edited_at")) or _time(status.get("created_at")),
        "from_brand": bool(brand_id) and writer.external_id == brand_id,
    }
    parent = status.get("in_reply_to_id")
    parent_id = str(parent) if isinstance(parent, str | int) and str(parent) else ""
    if status.get("visibility") == "direct":
        return [
            Incoming(
                kind="message",
                is_private=True,
                thread_ref=writer.external_id,
                parent_external_id=parent_id,
                **common,
            )
        ]
    answers_brand = str(status.get("in_reply_to_account_id") or "") == brand_id
    if parent_id and brand_id and answers_brand:
        return [
            Incoming(
                kind="reply",
                post=PostRef(external_id=parent_id),
                parent_external_id=parent_id,
                **common,
            )
        ]
    return [Incoming(kind="mention", **common)]


def parse_notifications(notifications: Iterable[Any], brand_id: str) -> list[Incoming]:
    items: list[Incoming] = []
    for notification in notifications:
        items += parse_notification(notification, brand_id)
    return items


def load_list(body: bytes) -> list[Any]:
    """A `GET /api/v1/notifications` answer: a JSON list."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadPayload("Mastodon answered with something that is not JSON") from exc
    if not isinstance(data, list):
        raise BadPayload("Mastodon's notifications are not a list")
    return data


def envelope(brand_id: str, notifications: list[Any]) -> bytes:
    """The raw page kept with the polled items (replayed by `parse_poll`)."""
    return json.dumps(
        {ENVELOPE: {"account_id": brand_id, "notifications": notifications}}, ensure_ascii=False
    ).encode()


def parse_poll(body: bytes) -> list[Incoming]:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadPayload("not JSON") from exc
    page = _obj(_obj(data, "page").get(ENVELOPE), "polled page")
    notifications = page.get("notifications")
    if not isinstance(notifications, list):
        raise BadPayload("the polled page has no notifications list")
    brand = page.get("account_id")
    return parse_notifications(notifications, str(brand) if isinstance(brand, str | int) else "")


def parse_search(answer: Any, since: datetime | None = None) -> list[Incoming]:
    """A `/api/v2/search` answer → one "mention" per public status, none older than `since`."""
    statuses = _obj(answer, "search answer").get("statuses")
    if not isinstance(statuses, list):
        raise BadPayload("Mastodon search answer has no statuses")
    items: list[Incoming] = []
    for entry in statuses:
        status = _obj(entry, "status")
        if status.get("visibility") not in ("public", "unlisted"):
            continue
        sent_at = _time(status.get("created_at"))
        if since is not None and sent_at is not None and sent_at < since:
            continue
        items.append(
            Incoming(
                external_id=_id(status.get("id"), "status"),
                kind="mention",
                author=author(_obj(status.get("account"), "status account")),
                text=status_text(status),
                sent_at=sent_at,
                url=_str(status, "url") or _str(status, "uri"),
            )
        )
    return items
