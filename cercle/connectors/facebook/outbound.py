"""OutboundActions → Graph API calls, and finding what an ambiguous earlier attempt did.

The Graph API has no idempotency key, so after an UnknownResult the sender asks
`reconcile` first: our reply is found by listing the replies under the target
(or the messages of the Messenger thread) and matching the Page as author and
the exact text; moderation calls are idempotent and simply run again.
"""

from __future__ import annotations

from typing import Any

from cercle.connectors.base import ActionKind, Delivery, OutboundAction, Rejected

from . import client as graph
from .client import GraphClient
from .inbound import WEB_BASE, comment_url, text

# How many recent replies / messages reconcile reads to find ours.
RECONCILE_WINDOW = 100


def is_messenger_id(external_id: str) -> bool:
    """Messenger message ids ("m_…", "mid.…") are not Graph objects: they cannot be liked, hidden…"""
    return external_id.startswith(("m_", "mid."))


def _same_text(a: str, b: str) -> bool:
    # Facebook trims and normalises line endings of what it stores.
    return " ".join(a.split()) == " ".join(b.split())


class FacebookOutbound:
    """The outbound half of the connector, for one Page."""

    def __init__(self, client: GraphClient, page_id: str) -> None:
        if not page_id:
            raise Rejected("the channel has no Facebook Page id: reconnect the Page")
        self.client = client
        self.page_id = page_id

    # --- perform -------------------------------------------------------------

    def perform(self, action: OutboundAction) -> Delivery:
        handler = {
            ActionKind.REPLY: self.reply,
            ActionKind.PRIVATE_REPLY: self.private_reply,
            ActionKind.SEND_PRIVATE: self.send_private,
            ActionKind.HIDE: self.hide,
            ActionKind.UNHIDE: self.hide,
            ActionKind.DELETE: self.delete,
            ActionKind.BAN: self.ban,
            ActionKind.UNBAN: self.unban,
            ActionKind.LIKE: self.like,
        }.get(action.kind)
        if handler is None:
            raise Rejected(f"Facebook cannot {action.kind}")
        return handler(action)

    def _target(self, action: OutboundAction) -> str:
        if not action.target_external_id:
            raise Rejected("nothing to act on")
        return action.target_external_id

    def reply(self, action: OutboundAction) -> Delivery:
        """`POST /{comment-id}/comments` with `message`: a public reply under the comment."""
        target = self._target(action)
        if is_messenger_id(target):
            raise Rejected("a Messenger message cannot get a public reply")
        data = self.client.post(
            graph.OBJECT_COMMENTS, ids={"object_id": target}, data={"message": action.text}
        )
        created = text(data.get("id"), 200)
        if not created:
            raise Rejected("Facebook did not return the reply's id")
        return Delivery(platform_id=created, url=comment_url(action.post_external_id, created))

    def private_reply(self, action: OutboundAction) -> Delivery:
        """`POST /{page-id}/messages` with `recipient={"comment_id"}`: one Messenger reply to a comment."""
        target = self._target(action)
        data = self.client.post(
            graph.PAGE_MESSAGES,
            ids={"page_id": self.page_id},
            json_body={"recipient": {"comment_id": target}, "message": {"text": action.text}},
        )
        return self._sent(data)

    def send_private(self, action: OutboundAction) -> Delivery:
        """`POST /{page-id}/messages` to the person's PSID, `messaging_type=RESPONSE` (24 h window)."""
        if not action.thread_ref:
            raise Rejected("no Messenger thread to write in")
        data = self.client.post(
            graph.PAGE_MESSAGES,
            ids={"page_id": self.page_id},
            json_body={
                "recipient": {"id": action.thread_ref},
                "messaging_type": "RESPONSE",
                "message": {"text": action.text},
            },
        )
        return self._sent(data)

    def _sent(self, data: dict[str, Any]) -> Delivery:
        mid = text(data.get("message_id"), 200)
        if not mid:
            raise Rejected("Facebook did not return the message id")
        return Delivery(platform_id=mid, url=f"{WEB_BASE}/latest/inbox/all")

    def hide(self, action: OutboundAction) -> Delivery:
        """`POST /{comment-id}` with `is_hidden`, only where Facebook says `can_hide`."""
        target = self._target(action)
        if is_messenger_id(target):
            raise Rejected("a Messenger message cannot be hidden")
        state = self.client.get(
            graph.COMMENT, ids={"comment_id": target}, params={"fields": "can_hide,is_hidden"}
        )
        if state.get("can_hide") is not True:
            raise Rejected(
                "Facebook does not allow hiding this comment (the Page's own, or not a comment)"
            )
        hidden = action.kind == ActionKind.HIDE
        if state.get("is_hidden") is not hidden:
            self._success(
                self.client.post(
                    graph.COMMENT,
                    ids={"comment_id": target},
                    data={"is_hidden": "true" if hidden else "false"},
                )
            )
        return Delivery(platform_id=target)

    def delete(self, action: OutboundAction) -> Delivery:
        """`DELETE /{comment-id}`: remove a comment or visitor post from the Page."""
        target = self._target(action)
        if is_messenger_id(target):
            raise Rejected("Facebook does not let a Page delete Messenger messages")
        self._success(self.client.delete(graph.COMMENT, ids={"comment_id": target}))
        return Delivery(platform_id=target)

    def ban(self, action: OutboundAction) -> Delivery:
        """`POST /{page-id}/blocked`: `psid` for Messenger authors, `asid` for commenters."""
        person = action.author_external_id
        if not person:
            raise Rejected("no author to ban")
        key = "psid" if is_messenger_id(action.target_external_id) else "asid"
        data = self.client.post(
            graph.PAGE_BLOCKED, ids={"page_id": self.page_id}, json_body={key: [person]}
        )
        if data.get(person) is not True and data.get("success") is not True:
            raise Rejected("Facebook did not block this person")
        return Delivery(platform_id=person)

    def unban(self, action: OutboundAction) -> Delivery:
        """`DELETE /{page-id}/blocked` with the same id the ban used (`psid` or `asid`)."""
        person = action.author_external_id
        if not person:
            raise Rejected("no author to unban")
        key = "psid" if is_messenger_id(action.target_external_id) else "asid"
        self._success(
            self.client.delete(
                graph.PAGE_BLOCKED, ids={"page_id": self.page_id}, params={key: person}
            )
        )
        return Delivery(platform_id=person)

    def like(self, action: OutboundAction) -> Delivery:
        """`POST /{object-id}/likes` as the Page."""
        target = self._target(action)
        if is_messenger_id(target):
            raise Rejected("a Messenger message cannot be liked")
        self._success(self.client.post(graph.OBJECT_LIKES, ids={"object_id": target}))
        return Delivery(platform_id=target)

    @staticmethod
    def _success(data: dict[str, Any]) -> None:
        if data.get("success") is not True:
            raise Rejected("Facebook did not confirm the action")

    # --- reconcile -------------------------------------------------------------

    def reconcile(self, action: OutboundAction) -> Delivery | None:
        """What an earlier, unanswered attempt created; None when it did not happen."""
        if action.kind == ActionKind.REPLY:
            return self._find_reply(action)
        if action.kind == ActionKind.SEND_PRIVATE:
            return self._find_message(action)
        if action.kind == ActionKind.PRIVATE_REPLY:
            return self._find_private_reply(action)
        # Hide/unhide/like/ban are idempotent, and delete checks before acting again.
        if action.kind == ActionKind.DELETE:
            return self._find_deleted(action)
        return None

    def _by_page(self, node: dict[str, Any]) -> bool:
        author = node.get("from")
        return isinstance(author, dict) and str(author.get("id", "")) == self.page_id

    def _find_reply(self, action: OutboundAction) -> Delivery | None:
        data = self.client.get(
            graph.OBJECT_COMMENTS,
            ids={"object_id": self._target(action)},
            params={
                "fields": "id,message,from,created_time",
                "order": "reverse_chronological",
                "filter": "stream",
                "limit": RECONCILE_WINDOW,
            },
        )
        for comment in data.get("data") or []:
            if not isinstance(comment, dict):
                continue
            if self._by_page(comment) and _same_text(str(comment.get("message", "")), action.text):
                created = text(comment.get("id"), 200)
                return Delivery(
                    platform_id=created, url=comment_url(action.post_external_id, created)
                )
        return None

    def _find_message(self, action: OutboundAction) -> Delivery | None:
        data = self.client.get(
            graph.PAGE_CONVERSATIONS,
            ids={"page_id": self.page_id},
            params={
                "platform": "messenger",
                "user_id": action.thread_ref,
                "fields": f"messages.limit({RECONCILE_WINDOW}){{id,message,from,created_time}}",
            },
        )
        for conversation in data.get("data") or []:
            messages = conversation.get("messages") if isinstance(conversation, dict) else None
            listed = messages.get("data") if isinstance(messages, dict) else None
            for message in listed if isinstance(listed, list) else []:
                if not isinstance(message, dict):
                    continue
                if self._by_page(message) and _same_text(
                    str(message.get("message", "")), action.text
                ):
                    return Delivery(
                        platform_id=text(message.get("id"), 200), url=f"{WEB_BASE}/latest/inbox/all"
                    )
        return None

    def _find_private_reply(self, action: OutboundAction) -> Delivery | None:
        # A comment takes one private reply only: once sent, `can_reply_privately` turns false.
        data = self.client.get(
            graph.COMMENT,
            ids={"comment_id": self._target(action)},
            params={"fields": "can_reply_privately"},
        )
        if data.get("can_reply_privately") is False:
            return Delivery(platform_id="", url="")
        return None

    def _find_deleted(self, action: OutboundAction) -> Delivery | None:
        try:
            self.client.get(
                graph.COMMENT, ids={"comment_id": self._target(action)}, params={"fields": "id"}
            )
        except Rejected:
            return Delivery(
                platform_id=action.target_external_id
            )  # gone: the earlier delete worked
        return None
