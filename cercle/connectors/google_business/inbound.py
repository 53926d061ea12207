"""Google reviews → `Incoming` items. Pure: no database, no network.

A polled page is stored as `{"google_reviews_poll": {"location": <name>,
"reviews": [<the reviews read>]}}`. Each review is a `review` with its star
rating (ONE…FIVE → 1…5) as the message's `rating`: its own conversation. An
edited review (a newer `updateTime`) updates the same message. Reviewers have
no stable id in the API: each review's author is its own identity
(`review:<reviewId>`), with the reviewer's display name.

Docs: https://developers.google.com/my-business/reference/rest/v4/accounts.locations.reviews
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from cercle.connectors.base import Author, BadPayload, Incoming
from cercle.connectors.text import clean

ENVELOPE = "google_reviews_poll"
STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
MAX_TEXT = 10_000


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadPayload(f"Google {what} is not an object")
    return value


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return clean(value) if isinstance(value, str) else ""


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 with up to nine fractional digits (Python reads six)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = f"{head}.{tail[: min(digits, 6)]}{tail[digits:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadPayload(f"unreadable Google time {value[:40]!r}") from exc
    return moment if moment.tzinfo else None


def review_id(review: dict[str, Any]) -> str:
    value = _str(review, "reviewId") or _str(review, "name").rsplit("/", 1)[-1]
    if not value or len(value) > 200:
        raise BadPayload("Google review without an id")
    return value


def parse_review(review: Any, location_url: str = "") -> Incoming:
    data = _obj(review, "review")
    rid = review_id(data)
    reviewer = data.get("reviewer")
    reviewer = reviewer if isinstance(reviewer, dict) else {}
    anonymous = reviewer.get("isAnonymous") is True
    name = _str(reviewer, "displayName") if not anonymous else ""
    rating = STARS.get(_str(data, "starRating"))
    return Incoming(
        external_id=rid,
        kind="review",
        author=Author(
            external_id=f"review:{rid}",
            name=name or "Anonymous",
            avatar_url=_str(reviewer, "profilePhotoUrl") if not anonymous else "",
        ),
        text=_str(data, "comment")[:MAX_TEXT],
        sent_at=parse_time(data.get("createTime")),
        changed_at=parse_time(data.get("updateTime")) or parse_time(data.get("createTime")),
        rating=rating,
        url=location_url,
    )


def reviews_of(page: Any) -> list[Any]:
    data = _obj(page, "reviews page")
    reviews = data.get("reviews", [])
    if not isinstance(reviews, list):
        raise BadPayload("Google's reviews are not a list")
    return reviews


def load(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadPayload("Google answered with something that is not JSON") from exc


def envelope(location: str, reviews: list[Any]) -> bytes:
    return json.dumps(
        {ENVELOPE: {"location": location, "reviews": reviews}}, ensure_ascii=False
    ).encode()


def parse_poll(body: bytes) -> list[Incoming]:
    page = _obj(_obj(load(body), "page").get(ENVELOPE), "polled page")
    reviews = page.get("reviews")
    if not isinstance(reviews, list):
        raise BadPayload("the polled page has no reviews list")
    return [parse_review(r) for r in reviews]
