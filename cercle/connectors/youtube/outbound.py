"""OutboundAction → YouTube calls, and finding what an ambiguous earlier attempt did.

YouTube takes no idempotency key, so after a timeout on a reply we list the
replies under the parent and look for ours (our channel, same text) before
posting again. Moderation calls set a state, so repeating them is harmless.
"""

from __future__ import annotations

from typing import Any

from cercle.connectors.base import ActionKind, Delivery, OutboundAction, Rejected

from .client import YouTubeClient
from .inbound import comment_url

# How many pages of replies reconcile reads before concluding the reply was not made.
RECONCILE_PAGES = 3

# Moderation action → (moderationStatus, banAuthor), comments.setModerationStatus.
MODERATION: dict[ActionKind, tuple[str, bool]] = {
    ActionKind.HIDE: ("heldForReview", False),
    ActionKind.UNHIDE: ("published", False),
    ActionKind.DELETE: ("rejected", False),
    ActionKind.BAN: ("rejected", True),
}


def top_level_id(comment_id: str) -> str:
    """A reply's id is `<top-level id>.<suffix>`: YouTube only takes replies under top-level comments."""
    return comment_id.split(".", 1)[0]


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def _delivery(comment: dict[str, Any], fallback_video: str) -> Delivery:
    comment_id = str(comment.get("id", ""))
    snippet: dict[str, Any] = comment["snippet"] if isinstance(comment.get("snippet"), dict) else {}
    video = str(snippet.get("videoId") or fallback_video)
    return Delivery(platform_id=comment_id, url=comment_url(video, comment_id))


def perform(client: YouTubeClient, action: OutboundAction, *, brand_channel_id: str) -> Delivery:
    """Do `action` on YouTube; raise a connector error on failure."""
    target = action.target_external_id
    if not target:
        raise Rejected("no YouTube comment to act on")
    if action.kind == ActionKind.REPLY:
        if not action.text.strip():
            raise Rejected("empty reply")
        created = client.insert_reply(top_level_id(target), action.text)
        if not created.get("id"):
            raise Rejected("YouTube created no comment")
        return _delivery(created, action.post_external_id)
    if action.kind == ActionKind.DELETE and (
        not action.author_external_id or action.author_external_id == brand_channel_id
    ):
        # Our own comment: really delete it. Someone else's: reject it (the owner's delete).
        client.delete_comment(target)
        return Delivery(platform_id=target)
    if action.kind in MODERATION:
        status, ban = MODERATION[action.kind]
        client.set_moderation_status(target, status, ban_author=ban)
        return Delivery(platform_id=target)
    raise Rejected(f"YouTube cannot {action.kind}")


def reconcile(
    client: YouTubeClient, action: OutboundAction, *, brand_channel_id: str
) -> Delivery | None:
    """After an UnknownResult: what the earlier attempt created, or None to perform again."""
    target = action.target_external_id
    if action.kind == ActionKind.REPLY and target:
        parent = top_level_id(target)
        page_token = ""
        for _ in range(RECONCILE_PAGES):
            data = client.json(client.list_replies(parent, page_token))
            for comment in data.get("items") or []:
                if not isinstance(comment, dict) or not isinstance(comment.get("snippet"), dict):
                    continue
                snippet = comment["snippet"]
                author = snippet.get("authorChannelId")
                author_id = author.get("value", "") if isinstance(author, dict) else ""
                if brand_channel_id and author_id != brand_channel_id:
                    continue
                text = str(snippet.get("textOriginal") or snippet.get("textDisplay") or "")
                if _same_text(text, action.text):
                    return _delivery(comment, action.post_external_id)
            page_token = str(data.get("nextPageToken") or "")
            if not page_token:
                break
        return None
    if (
        action.kind == ActionKind.DELETE
        and target
        and (not action.author_external_id or action.author_external_id == brand_channel_id)
    ):
        # Deleting twice is a 404: look whether the first attempt already did it.
        return Delivery(platform_id=target) if client.get_comment(target) is None else None
    # setModerationStatus sets a state: doing it again is harmless.
    return None
