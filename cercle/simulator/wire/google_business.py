"""The Google Business Profile wire: SimEvent reviews as a location's reviews on a v4 API double.

Google pushes nothing for reviews: the wire keeps Review resources (opaque
`reviewId`, `starRating` ONE…FIVE, `createTime` with nanoseconds, `updateTime`)
that `GET /v4/{location}/reviews` lists most recently updated first, page by
page with an opaque `nextPageToken`, with `averageRating` and
`totalReviewCount`, like the documented `ListReviewsResponse`. It answers the
owner's reply as an upsert (`PUT …/reviews/{id}/reply`, a second PUT replaces
the first), `DELETE …/reply` and `GET …/reviews/{id}` (reconciliation), refuses
a wrong token with Google's `UNAUTHENTICATED` error, and enforces the edits per
minute per profile with `RESOURCE_EXHAUSTED`. Every other kind of item has no
Google review equivalent and is not sent; an edited review (op "edit") gets a
newer `updateTime`; a deleted one leaves the list.

Shapes: https://developers.google.com/my-business/reference/rest/v4/accounts.locations.reviews
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any, ClassVar

from .base import (
    ActionListener,
    ChannelSetup,
    FakeRequest,
    FakeResponse,
    SimAction,
    SimEvent,
    Wire,
)

ACCOUNT = "accounts/108294756031"
LOCATION = f"{ACCOUNT}/locations/4893071155624819245"
TOKEN_PREFIX = "sim-google-"
STARS = {1: "ONE", 2: "TWO", 3: "THREE", 4: "FOUR", 5: "FIVE"}
NUMBERS = {name: number for number, name in STARS.items()}
DEFAULT_PAGE_SIZE = 10  # reviews.list's default; at most 50
MAX_PAGE_SIZE = 50
EDITS_PER_MINUTE = 10  # per profile, https://developers.google.com/my-business/content/limits
# The demo polls the reviews often so that a visitor sees them arrive.
DEMO_POLL_SECONDS = 20


def _time(when: datetime, nanos: int = 0) -> str:
    """RFC 3339 in UTC with nine fractional digits, as Google writes `createTime`."""
    moment = when.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}{nanos:03d}Z"


def _error(status: int, code: str, message: str) -> FakeResponse:
    body = {"error": {"code": status, "message": message, "status": code}}
    return FakeResponse(status=status, body=json.dumps(body).encode())


def _json(data: dict[str, Any]) -> FakeResponse:
    return FakeResponse(
        status=200,
        body=json.dumps(data, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=UTF-8"},
    )


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    prefix, _, number = text.partition(":")
    return int(number) if prefix == "offset" and number.isdigit() else None


class GoogleBusinessWire(Wire):
    """Plays one Business Profile location's reviews (thread-safe: the fake server is threaded)."""

    platform = "google_business"
    # The backfill's team answers at most this many reviews: every reply is an edit, and
    # Google allows EDITS_PER_MINUTE per profile (the backfill delivers within a minute).
    backfill_replies: ClassVar[int | None] = EDITS_PER_MINUTE

    def __init__(self, channel_key: str, api_base: str, on_action: ActionListener) -> None:
        super().__init__(channel_key, api_base, on_action)
        self.token = f"{TOKEN_PREFIX}{channel_key}"
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.reviews: dict[str, dict[str, Any]] = {}  # reviewId → Review
        self.review_of: dict[str, str] = {}  # simulator id → reviewId
        self.sim_of: dict[str, str] = {}  # reviewId → simulator id
        self._edits: deque[float] = deque()  # monotonic times of the last minute's edits
        self.revoked = False  # tests flip it to play a revoked grant

    def setup(self) -> ChannelSetup:
        return ChannelSetup(
            external_id=LOCATION,
            config={
                "api_base": self.api_base,
                "location": LOCATION,
                "poll_interval": DEMO_POLL_SECONDS,
            },
            credentials={"access_token": self.token, "location": LOCATION},
        )

    # --- the location's state ---------------------------------------------------------

    def _new_id(self) -> str:
        # Opaque, URL-safe, like Google's review ids (e.g. "AbFvOqnQ7Vd0v5r3yGx1nQ").
        raw = f"lumen-review-{next(self._ids):08d}".encode()
        return "AbFvOq" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def webhooks(self, events: list[SimEvent]) -> list[Any]:
        return []  # Google does not push reviews: the connector polls

    def publish(self, events: list[SimEvent]) -> None:
        with self._lock:
            for event in events:
                if event.type == "review" and not event.from_brand:
                    self._apply(event)

    def _apply(self, event: SimEvent) -> None:
        known = self.review_of.get(event.id)
        if event.op == "delete":
            if known:
                self.reviews.pop(known, None)
            return
        if known:
            if event.op == "edit" and known in self.reviews:
                review = self.reviews[known]
                review["comment"] = event.text
                if event.rating in STARS:
                    review["starRating"] = STARS[event.rating]
                review["updateTime"] = _time(event.created_at)
            return
        if event.op != "create":
            return
        review_id = self._new_id()
        nanos = sum(map(ord, event.id)) % 1000  # Google's times carry nanoseconds
        reviewer: dict[str, Any] = {"displayName": event.author.name, "isAnonymous": False}
        if event.author.avatar:
            reviewer["profilePhotoUrl"] = event.author.avatar
        self.reviews[review_id] = {
            "name": f"{LOCATION}/reviews/{review_id}",
            "reviewId": review_id,
            "reviewer": reviewer,
            "starRating": STARS.get(event.rating or 0, "STAR_RATING_UNSPECIFIED"),
            "comment": event.text,
            "createTime": _time(event.created_at, nanos),
            "updateTime": _time(event.created_at, nanos),
        }
        self.review_of[event.id] = review_id
        self.sim_of[review_id] = event.id

    # --- the API -------------------------------------------------------------------------

    def handle(self, request: FakeRequest) -> FakeResponse:
        if self.revoked or request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            )
        prefix = f"/v4/{LOCATION}/reviews"
        if request.path == prefix and request.method == "GET":
            return self._list(request)
        if not request.path.startswith(prefix + "/"):
            return _error(404, "NOT_FOUND", "Requested entity was not found.")
        rest = request.path[len(prefix) + 1 :].split("/")
        review_id = rest[0]
        if rest == [review_id] and request.method == "GET":
            with self._lock:
                review = self.reviews.get(review_id)
            if review is None:
                return _error(404, "NOT_FOUND", "Requested entity was not found.")
            return _json(review)
        if rest == [review_id, "reply"] and request.method == "PUT":
            return self._put_reply(review_id, request)
        if rest == [review_id, "reply"] and request.method == "DELETE":
            return self._delete_reply(review_id)
        return _error(404, "NOT_FOUND", "Requested entity was not found.")

    def _list(self, request: FakeRequest) -> FakeResponse:
        """`ListReviewsResponse`, most recently updated first (the only order the connector asks)."""
        try:
            size = int((request.query.get("pageSize") or [str(DEFAULT_PAGE_SIZE)])[0])
        except ValueError:
            return _error(400, "INVALID_ARGUMENT", "Invalid value for pageSize.")
        size = max(1, min(MAX_PAGE_SIZE, size))
        token = (request.query.get("pageToken") or [""])[0]
        offset = _offset(token) if token else 0
        if offset is None:
            return _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        with self._lock:
            ordered = sorted(
                self.reviews.values(), key=lambda r: (r["updateTime"], r["reviewId"]), reverse=True
            )
            page = [json.loads(json.dumps(r)) for r in ordered[offset : offset + size]]
            rated = [NUMBERS[r["starRating"]] for r in ordered if r["starRating"] in NUMBERS]
        data: dict[str, Any] = {
            "reviews": page,
            "averageRating": round(sum(rated) / len(rated), 1) if rated else 0,
            "totalReviewCount": len(ordered),
        }
        if offset + size < len(ordered):
            data["nextPageToken"] = _page_token(offset + size)
        if not page:
            del data["reviews"]  # Google leaves the field out of an empty page
        return _json(data)

    def _spend_edit(self) -> bool:
        """Count an edit against the profile's minute; False when the minute is spent."""
        now = time.monotonic()
        while self._edits and now - self._edits[0] >= 60:
            self._edits.popleft()
        if len(self._edits) >= EDITS_PER_MINUTE:
            return False
        self._edits.append(now)
        return True

    def _put_reply(self, review_id: str, request: FakeRequest) -> FakeResponse:
        try:
            data = json.loads(request.body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            data = None
        comment = data.get("comment") if isinstance(data, dict) else None
        if not isinstance(comment, str) or not comment.strip():
            return _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        if len(comment.encode()) > 4096:
            return _error(400, "INVALID_ARGUMENT", "The reply exceeds 4096 bytes.")
        with self._lock:
            review = self.reviews.get(review_id)
            if review is None:
                return _error(404, "NOT_FOUND", "Requested entity was not found.")
            if not self._spend_edit():
                return _error(
                    429, "RESOURCE_EXHAUSTED", "Quota exceeded for edits per minute per profile."
                )
            reply = {"comment": comment, "updateTime": _time(datetime.now(UTC))}
            review["reviewReply"] = reply  # an upsert: the business has one reply per review
            target = self.sim_of.get(review_id, review_id)
        self.on_action(
            SimAction(kind="reply", target_id=target, text=comment, created_id=f"{review_id}/reply")
        )
        return _json(reply)

    def _delete_reply(self, review_id: str) -> FakeResponse:
        with self._lock:
            review = self.reviews.get(review_id)
            if review is None or "reviewReply" not in review:
                return _error(404, "NOT_FOUND", "Requested entity was not found.")
            if not self._spend_edit():
                return _error(
                    429, "RESOURCE_EXHAUSTED", "Quota exceeded for edits per minute per profile."
                )
            del review["reviewReply"]
            target = self.sim_of.get(review_id, review_id)
        self.on_action(SimAction(kind="delete", target_id=target))
        return _json({})
