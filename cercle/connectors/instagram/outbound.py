"""OutboundActions → Graph API calls, reconciliation after ambiguous results, and the write limits.

Instagram takes no idempotency key, so after an UnknownResult (timeout after
sending) `reconcile` looks for what the earlier attempt may have created:
our own reply with the same text under the same comment thread, our own DM
with the same text in the conversation, or the comment's current hidden /
deleted state. Only when nothing is found does the sender perform again.

Published write limits (`DEFAULT_LIMITS`, per rolling hour) are counted by
the connector in the channel's quota windows (`connectors.quota`): a write
that would exceed one raises RateLimited *before* the call.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cercle.connectors.base import ActionKind, Delivery, OutboundAction, Rejected

from .client import InstagramClient
from .inbound import split_mention_id

WINDOW = timedelta(hours=1)
COMMENT_WRITES = "comment_writes"
PRIVATE_REPLIES = "private_replies"
# Published limits per Instagram professional account and rolling hour:
# 60 comment writes (Instagram Graph API rate limiting, "the /media/comments edge
# limits writes to 60 writes per user per hour"); 750 private replies (Messenger
# Platform rate limits, "Private Replies API").
DEFAULT_LIMITS = {COMMENT_WRITES: 60, PRIVATE_REPLIES: 750}
LIMIT_MESSAGES = {
    COMMENT_WRITES: gettext_lazy(
        "Instagram allows %(limit)d comments per hour: waiting for the window."
    ),
    PRIVATE_REPLIES: gettext_lazy(
        "Instagram allows %(limit)d private replies per hour: waiting for the window."
    ),
}
# Which counter an action spends (hide/unhide/delete are not comment creations).
BUCKET_OF = {ActionKind.REPLY: COMMENT_WRITES, ActionKind.PRIVATE_REPLY: PRIVATE_REPLIES}
# Instagram's longest comment, and the longest DM text (1000 bytes of UTF-8).
MAX_COMMENT_CHARS = 2200
MAX_MESSAGE_BYTES = 1000


# --- perform --------------------------------------------------------------------


def _check_text(action: OutboundAction, private: bool) -> str:
    text = action.text.strip()
    if not text:
        raise Rejected("empty text")
    if private and len(text.encode()) > MAX_MESSAGE_BYTES:
        raise Rejected(
            _("Instagram messages are limited to %(limit)d bytes.") % {"limit": MAX_MESSAGE_BYTES}
        )
    if not private and len(text) > MAX_COMMENT_CHARS:
        raise Rejected(
            _("Instagram comments are limited to %(limit)d characters.")
            % {"limit": MAX_COMMENT_CHARS}
        )
    return text


def _required(value: str, what: str) -> str:
    if not value:
        raise Rejected(f"the action has no {what}")
    return value


def perform(client: InstagramClient, ig_user_id: str, action: OutboundAction) -> Delivery:
    """Do `action` on Instagram; the Delivery carries the id of what was created (or acted on)."""
    kind = action.kind
    mention = split_mention_id(action.target_external_id)
    if mention is not None:
        return _perform_on_mention(client, ig_user_id, action, *mention)
    if kind == ActionKind.REPLY:
        target = _required(action.target_external_id, "comment to answer")
        data = client.reply_to_comment(target, _check_text(action, private=False))
        return Delivery(platform_id=str(data.get("id", "")))
    if kind == ActionKind.PRIVATE_REPLY:
        target = _required(action.target_external_id, "comment to answer")
        data = client.send_message(
            _required(ig_user_id, "account id"),
            {"comment_id": target},
            _check_text(action, private=True),
        )
        return Delivery(platform_id=str(data.get("message_id", "")))
    if kind == ActionKind.SEND_PRIVATE:
        recipient = _required(action.thread_ref or action.author_external_id, "recipient")
        data = client.send_message(
            _required(ig_user_id, "account id"),
            {"id": recipient},
            _check_text(action, private=True),
        )
        return Delivery(platform_id=str(data.get("message_id", "")))
    if kind in (ActionKind.HIDE, ActionKind.UNHIDE):
        target = _required(action.target_external_id, "comment")
        data = client.set_hidden(target, kind == ActionKind.HIDE)
        _require_success(data)
        return Delivery(platform_id=target)
    if kind == ActionKind.DELETE:
        target = _required(action.target_external_id, "comment")
        _require_success(client.delete_comment(target))
        return Delivery(platform_id=target)
    raise Rejected(f"Instagram's API cannot {kind}")


def _perform_on_mention(
    client: InstagramClient, ig_user_id: str, action: OutboundAction, media_id: str, comment_id: str
) -> Delivery:
    """A mention sits on another account's media: only a public answer is possible."""
    if action.kind != ActionKind.REPLY:
        raise Rejected(_("Instagram only allows a public answer on another account's post."))
    data = client.reply_to_mention(
        _required(ig_user_id, "account id"),
        media_id,
        comment_id,
        _check_text(action, private=False),
    )
    return Delivery(platform_id=str(data.get("id", "")))


def _require_success(data: Mapping[str, Any]) -> None:
    if data.get("success") is False:
        raise Rejected("Instagram refused the change")


# --- reconcile ------------------------------------------------------------------


def _same_text(a: Any, b: str) -> bool:
    return isinstance(a, str) and " ".join(a.split()) == " ".join(b.split())


def _from_id(item: Mapping[str, Any]) -> str:
    person = item.get("from")
    return str(person.get("id", "")) if isinstance(person, dict) else ""


def reconcile(
    client: InstagramClient, ig_user_id: str, action: OutboundAction, username: str = ""
) -> Delivery | None:
    """What an earlier, ambiguous attempt of `action` created, or None if it did not happen."""
    kind = action.kind
    mention = split_mention_id(action.target_external_id)
    if mention is not None:
        if kind != ActionKind.REPLY:
            return None
        return _find_mention_reply(client, ig_user_id, action, mention, username)
    if kind == ActionKind.REPLY:
        return _find_reply(client, ig_user_id, action)
    if kind in (ActionKind.PRIVATE_REPLY, ActionKind.SEND_PRIVATE):
        return _find_message(client, ig_user_id, action)
    if kind in (ActionKind.HIDE, ActionKind.UNHIDE):
        return _hidden_as_wanted(client, action)
    if kind == ActionKind.DELETE:
        return _already_deleted(client, action)
    return None


def _find_mention_reply(
    client: InstagramClient,
    ig_user_id: str,
    action: OutboundAction,
    mention: tuple[str, str],
    username: str,
) -> Delivery | None:
    """Our answer under another account's media: known by username only there."""
    for reply in client.mention_replies(ig_user_id, *mention):
        ours = not username or reply.get("username") == username
        if ours and _same_text(reply.get("text"), action.text):
            return Delivery(platform_id=str(reply.get("id", "")))
    return None


def _find_reply(
    client: InstagramClient, ig_user_id: str, action: OutboundAction
) -> Delivery | None:
    """Our reply with the same text in the comment's thread."""
    target = _required(action.target_external_id, "comment to answer")
    # A reply to a reply is attached to the top-level comment: look there.
    parent = str(client.get_comment(target, fields="id,parent_id").get("parent_id") or "")
    for reply in client.list_replies(parent or target):
        if _from_id(reply) == ig_user_id and _same_text(reply.get("text"), action.text):
            return Delivery(platform_id=str(reply.get("id", "")))
    return None


def _find_message(
    client: InstagramClient, ig_user_id: str, action: OutboundAction
) -> Delivery | None:
    """Our DM with the same text in the conversation with the other person."""
    if action.kind == ActionKind.SEND_PRIVATE:
        other = action.thread_ref
    else:
        other = action.author_external_id
    if not other:
        return None
    for message in client.conversation_messages(ig_user_id, other):
        if _from_id(message) == ig_user_id and _same_text(message.get("message"), action.text):
            return Delivery(platform_id=str(message.get("id", "")))
    return None


def _hidden_as_wanted(client: InstagramClient, action: OutboundAction) -> Delivery | None:
    """The comment already has the hidden state the hide/unhide asked for."""
    target = _required(action.target_external_id, "comment")
    hidden = client.get_comment(target, fields="id,hidden").get("hidden")
    if hidden is (action.kind == ActionKind.HIDE):
        return Delivery(platform_id=target)
    return None


def _already_deleted(client: InstagramClient, action: OutboundAction) -> Delivery | None:
    """The comment no longer exists: the earlier attempt deleted it."""
    target = _required(action.target_external_id, "comment")
    try:
        client.get_comment(target, fields="id")
    except Rejected:
        # Code 100 "object does not exist": the earlier attempt deleted it.
        return Delivery(platform_id=target)
    return None
