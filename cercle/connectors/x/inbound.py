"""X payloads → `Incoming` items. Pure: no database, no network.

Two wire shapes arrive here:

* Account Activity webhooks (v1.1-shaped objects): `tweet_create_events`,
  `tweet_delete_events`, `direct_message_events`, keyed by `for_user_id` (the
  subscribed brand account);
* our polled pages, stored as `{"x_poll": {"mentions": <GET /2/users/:id/mentions
  answer>, "dm_events": <GET /2/dm_events answer or null>}}` (API v2 objects).

The same rules apply to both, so an item is threaded alike whichever way it came:

* a retweet is a `share` (of the brand's post when it is the brand's);
* a quote of the brand's post is a `share` with text, under that post; a quote of
  anyone else's post that names the brand is a `mention`;
* a reply to a brand's post is a `reply` under that post (the post directly
  answered), its parent that post;
* anything else naming the brand is a `mention`;
* a DM is a `message` in the thread of its DM conversation id (for one-to-one
  conversations X's id is "<smaller user id>-<larger user id>", which we
  rebuild for webhook DMs that do not carry it);
* the brand's own replies and DMs are echoes (`from_brand`); its own new posts,
  retweets and quotes are not interactions and are skipped;
* an edited post keeps the id of its first version, so the edit updates it.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from cercle.connectors.base import Author, BadPayload, Incoming, Op, PostRef

WEB = "https://x.com"
MAX_TEXT = 25_000
ACTIVITY_KEYS = (
    "tweet_create_events",
    "tweet_delete_events",
    "direct_message_events",
    "favorite_events",
    "follow_events",
    "unfollow_events",
    "block_events",
    "unblock_events",
    "mute_events",
    "unmute_events",
    "user_event",
    "direct_message_indicate_typing_events",
    "direct_message_mark_read_events",
)


# --- validation helpers --------------------------------------------------------------


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


def _id(value: Any, what: str, *, required: bool = True) -> str:
    """An X id: a decimal string (numbers are accepted, as v1.1 also sends them)."""
    if value is None or value == "":
        if required:
            raise BadPayload(f"{what} is missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadPayload(f"{what} must be an id")
    text = str(value)
    if not text.isdigit() or len(text) > 40:
        raise BadPayload(f"{what} is not an X id: {text[:40]!r}")
    return text


def _str(value: Any, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadPayload(f"expected a string, got {type(value).__name__}")
    return value[:limit]


def _text(value: Any) -> str:
    # X escapes &, < and > in post text; we store what the person typed and escape on output.
    return html.unescape(_str(value))


def _epoch_ms(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value)
    if not text.isdigit():
        raise BadPayload(f"bad timestamp {text[:40]!r}")
    return datetime.fromtimestamp(int(text) / 1000, tz=UTC)


def _v1_time(value: Any) -> datetime | None:
    """v1.1 `created_at`: "Wed Oct 10 20:19:24 +0000 2018"."""
    if not value:
        return None
    text = _str(value, 64)
    try:
        parts = text.split()
        # Reorder to RFC 2822 ("Wed, 10 Oct 2018 20:19:24 +0000") for the stdlib parser.
        parsed = parsedate_to_datetime(
            f"{parts[0]}, {parts[2]} {parts[1]} {parts[5]} {parts[3]} {parts[4]}"
        )
    except (IndexError, TypeError, ValueError) as exc:
        raise BadPayload(f"bad created_at {text!r}") from exc
    return parsed.astimezone(UTC)


def _v2_time(value: Any) -> datetime | None:
    """v2 `created_at`: ISO 8601 with a Z ("2022-10-07T22:43:18.000Z")."""
    if not value:
        return None
    text = _str(value, 64)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadPayload(f"bad created_at {text!r}") from exc
    if parsed.tzinfo is None:
        raise BadPayload(f"created_at without zone {text!r}")
    return parsed


def tweet_url(tweet_id: str, handle: str = "") -> str:
    """The public link of a post (the handle-less form works for every post)."""
    return f"{WEB}/{handle}/status/{tweet_id}" if handle else f"{WEB}/i/web/status/{tweet_id}"


def dm_thread(a: str, b: str) -> str:
    """X's id of the one-to-one DM conversation between users `a` and `b`."""
    low, high = sorted((a, b), key=int)
    return f"{low}-{high}"


def load(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadPayload(f"not JSON: {exc}") from exc
    return _obj(data, "the payload")


def parse_body(body: bytes, brand_id: str) -> list[Incoming]:
    """Any payload we store for an X channel → items. `brand_id` is the channel's X user id."""
    data = load(body)
    if "x_poll" in data:
        page = _obj(data["x_poll"], "x_poll")
        items = []
        if page.get("mentions") is not None:
            items += parse_v2_tweets(_obj(page["mentions"], "mentions"), brand_id)
        if page.get("dm_events") is not None:
            items += parse_v2_dm_events(_obj(page["dm_events"], "dm_events"), brand_id)
        return items
    if "for_user_id" in data or any(key in data for key in ACTIVITY_KEYS):
        return parse_activity(data, brand_id)
    raise BadPayload("neither an Account Activity delivery nor a polled page")


# --- Account Activity (webhooks, v1.1 objects) ------------------------------------------


def parse_activity(data: Mapping[str, Any], brand_id: str) -> list[Incoming]:
    """One Account Activity delivery → items (other event kinds, likes, follows…, are ignored)."""
    for_user = _id(data.get("for_user_id"), "for_user_id")
    if brand_id and for_user != brand_id:
        # One app webhook serves every subscribed account: this one is another channel's.
        return []
    brand = brand_id or for_user
    items: list[Incoming] = []
    for tweet in _list(data.get("tweet_create_events"), "tweet_create_events"):
        item = _v1_tweet(_obj(tweet, "a tweet_create_event"), brand)
        if item is not None:
            items.append(item)
    for deletion in _list(data.get("tweet_delete_events"), "tweet_delete_events"):
        status = _obj(
            _obj(deletion, "a tweet_delete_event").get("status"), "tweet_delete_event.status"
        )
        items.append(
            Incoming(external_id=_id(status.get("id"), "status.id"), kind="mention", op=Op.DELETE)
        )
    users = data.get("users") or {}
    users = _obj(users, "users")
    for event in _list(data.get("direct_message_events"), "direct_message_events"):
        item = _v1_dm(_obj(event, "a direct_message_event"), users, brand)
        if item is not None:
            items.append(item)
    return items


def _v1_author(user: Any) -> Author:
    u = _obj(user, "tweet.user")
    handle = _str(u.get("screen_name"), 100)
    return Author(
        external_id=_id(u.get("id_str") or u.get("id"), "user.id_str"),
        name=_str(u.get("name"), 200),
        handle=handle,
        avatar_url=_str(u.get("profile_image_url_https"), 500),
        profile_url=f"{WEB}/{handle}" if handle else "",
    )


def _v1_text(tweet: Mapping[str, Any]) -> str:
    extended = tweet.get("extended_tweet")
    if isinstance(extended, dict) and extended.get("full_text"):
        return _text(extended["full_text"])
    return _text(tweet.get("full_text") or tweet.get("text"))


def _v1_post(tweet: Mapping[str, Any]) -> PostRef:
    author = _v1_author(tweet.get("user"))
    post_id = _id(tweet.get("id_str") or tweet.get("id"), "post id")
    return PostRef(
        external_id=post_id,
        text=_v1_text(tweet),
        url=tweet_url(post_id, author.handle),
        published_at=_v1_time(tweet.get("created_at")),
    )


def _v1_tweet(tweet: Mapping[str, Any], brand: str) -> Incoming | None:
    tweet_id = _id(tweet.get("id_str") or tweet.get("id"), "tweet.id_str")
    author = _v1_author(tweet.get("user"))
    from_brand = author.external_id == brand
    edit = tweet.get("edit_history")
    first_id = tweet_id
    if isinstance(edit, dict) and edit.get("initial_tweet_id"):
        first_id = _id(edit.get("initial_tweet_id"), "edit_history.initial_tweet_id")
    common: dict[str, Any] = {
        "external_id": first_id,
        "author": author,
        "sent_at": _v1_time(tweet.get("created_at")) or _epoch_ms(tweet.get("timestamp_ms")),
        "url": tweet_url(tweet_id, author.handle),
        "from_brand": from_brand,
    }
    retweeted = tweet.get("retweeted_status")
    if retweeted is not None:
        if from_brand:
            return None
        original = _obj(retweeted, "retweeted_status")
        post = _v1_post(original)
        is_ours = _v1_author(original.get("user")).external_id == brand
        return Incoming(kind="share", post=post if is_ours else None, **common)
    quoted = tweet.get("quoted_status")
    if quoted is not None and tweet.get("in_reply_to_status_id_str") is None:
        if from_brand:
            return None
        original = _obj(quoted, "quoted_status")
        if _v1_author(original.get("user")).external_id == brand:
            return Incoming(kind="share", text=_v1_text(tweet), post=_v1_post(original), **common)
        return Incoming(kind="mention", text=_v1_text(tweet), **common)
    parent = _id(
        tweet.get("in_reply_to_status_id_str"), "in_reply_to_status_id_str", required=False
    )
    if parent:
        to_user = _id(
            tweet.get("in_reply_to_user_id_str"), "in_reply_to_user_id_str", required=False
        )
        if to_user == brand and not from_brand:
            post = PostRef(external_id=parent, url=tweet_url(parent))
            return Incoming(
                kind="reply", text=_v1_text(tweet), post=post, parent_external_id=parent, **common
            )
        kind = "reply" if from_brand else "mention"
        return Incoming(kind=kind, text=_v1_text(tweet), parent_external_id=parent, **common)
    if from_brand:
        return None  # the brand's own new post: content, not an interaction
    return Incoming(kind="mention", text=_v1_text(tweet), **common)


def _v1_dm(event: Mapping[str, Any], users: Mapping[str, Any], brand: str) -> Incoming | None:
    if event.get("type") != "message_create":
        return None
    create = _obj(event.get("message_create"), "message_create")
    sender = _id(create.get("sender_id"), "message_create.sender_id")
    recipient = _id(
        _obj(create.get("target"), "message_create.target").get("recipient_id"),
        "target.recipient_id",
    )
    data = _obj(create.get("message_data"), "message_create.message_data")
    user = users.get(sender)
    if isinstance(user, dict):
        handle = _str(user.get("screen_name"), 100)
        author = Author(
            external_id=sender,
            name=_str(user.get("name"), 200),
            handle=handle,
            avatar_url=_str(user.get("profile_image_url_https"), 500),
            profile_url=f"{WEB}/{handle}" if handle else "",
        )
    else:
        author = Author(external_id=sender)
    thread = dm_thread(sender, recipient)
    return Incoming(
        external_id=_id(event.get("id"), "direct_message_event.id"),
        kind="message",
        author=author,
        text=_text(data.get("text")),
        sent_at=_epoch_ms(event.get("created_timestamp")),
        thread_ref=thread,
        is_private=True,
        url=f"{WEB}/messages/{thread}",
        from_brand=sender == brand,
    )


# --- API v2 (polling) ------------------------------------------------------------------


def _v2_users(answer: Mapping[str, Any]) -> dict[str, Author]:
    includes = _obj(answer.get("includes") or {}, "includes")
    users: dict[str, Author] = {}
    for raw in _list(includes.get("users"), "includes.users"):
        u = _obj(raw, "a user")
        uid = _id(u.get("id"), "user.id")
        handle = _str(u.get("username"), 100)
        users[uid] = Author(
            external_id=uid,
            name=_str(u.get("name"), 200),
            handle=handle,
            avatar_url=_str(u.get("profile_image_url"), 500),
            profile_url=f"{WEB}/{handle}" if handle else "",
        )
    return users


def _v2_refs(tweet: Mapping[str, Any]) -> dict[str, str]:
    refs: dict[str, str] = {}
    for raw in _list(tweet.get("referenced_tweets"), "referenced_tweets"):
        ref = _obj(raw, "a referenced tweet")
        refs[_str(ref.get("type"), 20)] = _id(ref.get("id"), "referenced_tweets.id")
    return refs


def _v2_post(
    tweet_id: str, included: Mapping[str, Mapping[str, Any]], users: Mapping[str, Author]
) -> PostRef:
    found = included.get(tweet_id) or {}
    author = users.get(str(found.get("author_id", "")))
    return PostRef(
        external_id=tweet_id,
        text=_text(found.get("text")),
        url=tweet_url(tweet_id, author.handle if author else ""),
        published_at=_v2_time(found.get("created_at")),
    )


def looked_up_posts(answer: Any, asked: set[str], brand: str) -> list[PostRef]:
    """The brand's posts among a `GET /2/tweets?ids=…` answer: text, link, publication time.

    Only ids in `asked`, and only posts written by `brand` when X names their
    author (a reply's parent may be someone else's post: not the brand's
    content). A malformed entry is left out, not the whole answer; deleted
    posts are in `errors` and simply absent here.
    """
    if not isinstance(answer, Mapping) or not isinstance(answer.get("data"), list):
        return []
    try:
        users = _v2_users(answer)
    except BadPayload:
        users = {}
    refs: list[PostRef] = []
    for raw in answer["data"]:
        try:
            tweet = _obj(raw, "a post")
            tweet_id = _id(tweet.get("id"), "post id")
            author_id = _id(tweet.get("author_id"), "author_id", required=False)
            author = users.get(author_id)
            ref = PostRef(
                external_id=tweet_id,
                text=_text(tweet.get("text")),
                url=tweet_url(tweet_id, author.handle if author else ""),
                published_at=_v2_time(tweet.get("created_at")),
            )
        except BadPayload:
            continue
        if tweet_id in asked and (not brand or not author_id or author_id == brand):
            refs.append(ref)
    return refs


def parse_v2_tweets(answer: Mapping[str, Any], brand: str) -> list[Incoming]:
    """A v2 answer listing posts (mentions timeline) with its `includes`."""
    users = _v2_users(answer)
    includes = _obj(answer.get("includes") or {}, "includes")
    included: dict[str, dict[str, Any]] = {}
    for raw in _list(includes.get("tweets"), "includes.tweets"):
        t = _obj(raw, "an included tweet")
        included[_id(t.get("id"), "tweet.id")] = t
    items: list[Incoming] = []
    for raw in _list(answer.get("data"), "data"):
        item = _v2_tweet(_obj(raw, "a tweet"), brand, users, included)
        if item is not None:
            items.append(item)
    return items


def _v2_tweet(
    tweet: Mapping[str, Any],
    brand: str,
    users: Mapping[str, Author],
    included: Mapping[str, Mapping[str, Any]],
) -> Incoming | None:
    tweet_id = _id(tweet.get("id"), "tweet.id")
    history = [
        _id(v, "edit_history_tweet_ids")
        for v in _list(tweet.get("edit_history_tweet_ids"), "edit_history")
    ]
    author_id = _id(tweet.get("author_id"), "tweet.author_id", required=False)
    author = users.get(author_id) or (Author(external_id=author_id) if author_id else None)
    from_brand = bool(author_id) and author_id == brand
    common: dict[str, Any] = {
        "external_id": history[0] if history else tweet_id,
        "author": author,
        "sent_at": _v2_time(tweet.get("created_at")),
        "url": tweet_url(tweet_id, author.handle if author else ""),
        "from_brand": from_brand,
    }
    refs = _v2_refs(tweet)

    def authored_by_brand(ref_id: str) -> bool:
        return str((included.get(ref_id) or {}).get("author_id", "")) == brand

    if "retweeted" in refs:
        if from_brand:
            return None
        original = refs["retweeted"]
        post = _v2_post(original, included, users) if authored_by_brand(original) else None
        return Incoming(kind="share", post=post, **common)
    text = _text(tweet.get("text"))
    if "quoted" in refs and "replied_to" not in refs:
        if from_brand:
            return None
        quoted = refs["quoted"]
        if authored_by_brand(quoted):
            return Incoming(
                kind="share", text=text, post=_v2_post(quoted, included, users), **common
            )
        return Incoming(kind="mention", text=text, **common)
    if "replied_to" in refs:
        parent = refs["replied_to"]
        to_user = _id(tweet.get("in_reply_to_user_id"), "in_reply_to_user_id", required=False)
        if (to_user == brand or authored_by_brand(parent)) and not from_brand:
            post = _v2_post(parent, included, users)
            return Incoming(kind="reply", text=text, post=post, parent_external_id=parent, **common)
        return Incoming(
            kind="reply" if from_brand else "mention",
            text=text,
            parent_external_id=parent,
            **common,
        )
    if from_brand:
        return None
    return Incoming(kind="mention", text=text, **common)


def parse_v2_dm_events(answer: Mapping[str, Any], brand: str, after_id: str = "") -> list[Incoming]:
    """A v2 answer listing DM events; only MessageCreate events newer than `after_id`."""
    users = _v2_users(answer)
    items: list[Incoming] = []
    for raw in _list(answer.get("data"), "data"):
        event = _obj(raw, "a DM event")
        if event.get("event_type") != "MessageCreate":
            continue
        event_id = _id(event.get("id"), "dm_event.id")
        if after_id and int(event_id) <= int(after_id):
            continue
        sender = _id(event.get("sender_id"), "dm_event.sender_id")
        thread = _str(event.get("dm_conversation_id"), 100)
        if not thread or not all(c.isdigit() or c == "-" for c in thread):
            raise BadPayload("a DM event without a valid dm_conversation_id")
        items.append(
            Incoming(
                external_id=event_id,
                kind="message",
                author=users.get(sender) or Author(external_id=sender),
                text=_text(event.get("text")),
                sent_at=_v2_time(event.get("created_at")),
                thread_ref=thread,
                is_private=True,
                url=f"{WEB}/messages/{thread}",
                from_brand=sender == brand,
            )
        )
    return items


def newest_id(ids: Iterable[str]) -> str:
    """The largest of X ids (snowflakes grow with time)."""
    best = ""
    for value in ids:
        if value and (not best or int(value) > int(best)):
            best = value
    return best


def parse_search(
    answer: Mapping[str, Any], brand: str, since: datetime | None = None
) -> list[Incoming]:
    """A recent-search answer (`GET /2/tweets/search/recent`) → one public "mention" per post.

    The brand's own posts are echoes (`from_brand`: listening skips them); a
    post older than `since` is left out. Authors come from `includes.users`
    when the search asked for the `author_id` expansion.
    """
    users = _v2_users(answer)
    items: list[Incoming] = []
    for raw in _list(answer.get("data"), "data"):
        tweet = _obj(raw, "a tweet")
        tweet_id = _id(tweet.get("id"), "tweet.id")
        author_id = _id(tweet.get("author_id"), "tweet.author_id", required=False)
        sent_at = _v2_time(tweet.get("created_at"))
        if since is not None and sent_at is not None and sent_at < since:
            continue
        author = users.get(author_id) or Author(external_id=author_id)
        items.append(
            Incoming(
                external_id=tweet_id,
                kind="mention",
                author=author,
                text=_text(tweet.get("text")),
                sent_at=sent_at,
                url=tweet_url(tweet_id, author.handle),
                from_brand=bool(brand) and author_id == brand,
            )
        )
    return items
