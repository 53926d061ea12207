"""OutboundActions → X API v2 calls, and finding what an ambiguous attempt created.

X has no idempotency key. After a timeout on a write we cannot know whether the
post or DM exists, so `reconcile` looks for it among our own recent posts (a
reply to the same post with the same text) or in the DM conversation (a message
of ours with the same text) before the sender tries again. If X then answers
"duplicate content", the earlier attempt did post it: we look once more and
take that post as the delivery.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from cercle.connectors.base import ActionKind, Delivery, OutboundAction, Rejected

from .client import DuplicateContent, XClient
from .inbound import WEB, tweet_url

# X prefixes a reply's text with the @handles it answers and shortens links to t.co.
_LEADING_MENTIONS = re.compile(r"^(?:@\w{1,15}\s+)+")
_LINK = re.compile(r"https?://\S+")


def comparable(text: str) -> str:
    """A text as X would give it back, reduced to what survives the round trip."""
    text = html.unescape(text)
    text = _LEADING_MENTIONS.sub("", text.strip())
    text = _LINK.sub("<link>", text)
    return " ".join(text.split())


def _require(value: str, what: str, action: OutboundAction) -> str:
    if not value:
        raise Rejected(f"cannot {action.kind} on X without {what}")
    return value


def perform(client: XClient, brand_id: str, action: OutboundAction) -> Delivery:
    """Do `action` on X as the brand account `brand_id`."""
    do = _PERFORMERS.get(action.kind)
    if do is None:
        raise Rejected(f"X cannot {action.kind}")
    return do(client, brand_id, action)


def _reply(client: XClient, brand_id: str, action: OutboundAction) -> Delivery:
    target = _require(action.target_external_id, "the post to answer", action)
    try:
        data = client.create_reply(action.text, target)
    except DuplicateContent:
        # Same text already posted: if it is our reply to this post, it is this action, done.
        found = find_reply(client, brand_id, action)
        if found is None:
            raise
        return found
    post_id = str(data.get("id", ""))
    return Delivery(platform_id=post_id, url=tweet_url(post_id))


def _send_dm(client: XClient, brand_id: str, action: OutboundAction) -> Delivery:
    conversation = action.thread_ref if action.kind == ActionKind.SEND_PRIVATE else ""
    participant = (
        ""
        if conversation
        else _require(action.author_external_id, "the person to write to", action)
    )
    data = client.send_dm(action.text, conversation_id=conversation, participant_id=participant)
    thread = str(data.get("dm_conversation_id", "") or conversation)
    return Delivery(
        platform_id=str(data.get("dm_event_id", "")),
        url=f"{WEB}/messages/{thread}" if thread else "",
    )


def _set_hidden(client: XClient, brand_id: str, action: OutboundAction) -> Delivery:
    target = _require(action.target_external_id, "the reply to hide", action)
    wanted = action.kind == ActionKind.HIDE
    data = client.set_hidden(target, wanted)
    if data.get("hidden") is not wanted:
        raise Rejected(f"X did not {action.kind} the reply")
    return Delivery(platform_id=target, url=tweet_url(target))


def _delete(client: XClient, brand_id: str, action: OutboundAction) -> Delivery:
    target = _require(action.target_external_id, "the post to delete", action)
    if action.author_external_id and action.author_external_id != brand_id:
        raise Rejected("X only lets an account delete its own posts; hide the reply instead")
    data = client.delete_tweet(target)
    if data.get("deleted") is not True:
        raise Rejected("X did not delete the post")
    return Delivery(platform_id=target)


def _block(client: XClient, brand_id: str, action: OutboundAction) -> Delivery:
    target = _require(action.author_external_id, "the account to block", action)
    data = client.block(brand_id, target)
    if data.get("blocking") is not True:
        raise Rejected("X did not block the account")
    return Delivery(platform_id=target, url="")


def _like(client: XClient, brand_id: str, action: OutboundAction) -> Delivery:
    target = _require(action.target_external_id, "the post to like", action)
    data = client.like(brand_id, target)
    if data.get("liked") is not True:
        raise Rejected("X did not like the post")
    return Delivery(platform_id=target, url=tweet_url(target))


_PERFORMERS: dict[ActionKind, Callable[[XClient, str, OutboundAction], Delivery]] = {
    ActionKind.REPLY: _reply,
    ActionKind.PRIVATE_REPLY: _send_dm,
    ActionKind.SEND_PRIVATE: _send_dm,
    ActionKind.HIDE: _set_hidden,
    ActionKind.UNHIDE: _set_hidden,
    ActionKind.DELETE: _delete,
    ActionKind.BAN: _block,
    ActionKind.LIKE: _like,
}


def reconcile(client: XClient, brand_id: str, action: OutboundAction) -> Delivery | None:
    """What an earlier, ambiguous attempt of `action` created, or None if it did not happen.

    Hide, unhide, block and like set a state: doing them twice is harmless, so
    there is nothing to find and the sender simply does them again. A delete is
    done when X no longer has the post (deleting it again would be refused).
    """
    if action.kind == ActionKind.DELETE and action.target_external_id:
        if client.tweet_exists(action.target_external_id):
            return None
        return Delivery(platform_id=action.target_external_id)
    if action.kind == ActionKind.REPLY:
        return find_reply(client, brand_id, action)
    if action.kind in (ActionKind.PRIVATE_REPLY, ActionKind.SEND_PRIVATE):
        return find_dm(client, brand_id, action)
    return None


def find_reply(client: XClient, brand_id: str, action: OutboundAction) -> Delivery | None:
    """Our recent post answering the same post with the same text."""
    answer = client.user_tweets(brand_id)
    wanted = comparable(action.text)
    for tweet in _items(answer):
        refs = {
            str(r.get("type")): str(r.get("id"))
            for r in tweet.get("referenced_tweets") or []
            if isinstance(r, dict)
        }
        if refs.get("replied_to") != action.target_external_id:
            continue
        if comparable(str(tweet.get("text", ""))) == wanted:
            post_id = str(tweet.get("id", ""))
            return Delivery(platform_id=post_id, url=tweet_url(post_id))
    return None


def find_dm(client: XClient, brand_id: str, action: OutboundAction) -> Delivery | None:
    """Our recent message in the same DM conversation with the same text."""
    conversation = action.thread_ref if action.kind == ActionKind.SEND_PRIVATE else ""
    if conversation:
        answer = client.conversation_events(conversation_id=conversation)
    elif action.author_external_id:
        answer = client.conversation_events(participant_id=action.author_external_id)
    else:
        return None
    wanted = comparable(action.text)
    for event in _items(answer):
        if str(event.get("sender_id", "")) != brand_id:
            continue
        if comparable(str(event.get("text", ""))) == wanted:
            thread = str(event.get("dm_conversation_id", "") or conversation)
            return Delivery(
                platform_id=str(event.get("id", "")),
                url=f"{WEB}/messages/{thread}" if thread else "",
            )
    return None


def _items(answer: dict[str, Any]) -> list[dict[str, Any]]:
    data = answer.get("data")
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []
