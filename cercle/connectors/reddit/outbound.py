"""Outbound actions on Reddit: `OutboundAction` → API calls → `Delivery`.

* reply (to a comment or a post) and private answer (to a message): `POST /api/comment`;
* hide = remove as moderator (`POST /api/remove`, not as spam); unhide = approve;
* ban: `POST /r/{subreddit}/api/friend` `type=banned` in the subreddit of the
  item (`GET /api/info` names it), where the brand's account must be moderator;
  unban: `POST /r/{subreddit}/api/unfriend` `type=banned`, the same way.
"""

from __future__ import annotations

from typing import Any

from cercle.connectors.base import ActionKind, Delivery, OutboundAction, Rejected

from .client import RedditClient
from .inbound import WEB

BAN_NOTE = "Banned by the community team (Cercle)"


def _require(value: str, what: str) -> str:
    if not value:
        raise Rejected(f"Reddit needs {what}")
    return value


def _things(answer: dict[str, Any]) -> list[dict[str, Any]]:
    wrapper = answer.get("json")
    data = wrapper.get("data") if isinstance(wrapper, dict) else None
    things = data.get("things") if isinstance(data, dict) else None
    return [
        t["data"] for t in things or [] if isinstance(t, dict) and isinstance(t.get("data"), dict)
    ]


def _listing(answer: dict[str, Any]) -> list[dict[str, Any]]:
    data = answer.get("data")
    children = data.get("children") if isinstance(data, dict) else None
    return [
        c["data"] for c in children or [] if isinstance(c, dict) and isinstance(c.get("data"), dict)
    ]


def _delivery(thing: dict[str, Any]) -> Delivery:
    name = thing.get("name")
    if not isinstance(name, str) or not name:
        raise Rejected("Reddit's answer names no comment")
    permalink = thing.get("permalink")
    url = f"{WEB}{permalink}" if isinstance(permalink, str) and permalink.startswith("/") else ""
    return Delivery(platform_id=name, url=url)


def _same(a: object, b: str) -> bool:
    return isinstance(a, str) and " ".join(a.split()) == " ".join(b.split())


class RedditOutbound:
    def __init__(self, client: RedditClient, username: str) -> None:
        self.client = client
        self.username = username

    def perform(self, action: OutboundAction) -> Delivery:
        kind = action.kind
        if kind in (ActionKind.REPLY, ActionKind.SEND_PRIVATE):
            target = action.target_external_id or action.thread_ref or action.post_external_id
            things = _things(
                self.client.comment(_require(target, "the item to answer"), action.text)
            )
            if not things:
                raise Rejected("Reddit created nothing")
            return _delivery(things[0])
        if kind == ActionKind.HIDE:
            target = _require(action.target_external_id, "the item to remove")
            self.client.remove(target)
            return Delivery(platform_id=target)
        if kind == ActionKind.UNHIDE:
            target = _require(action.target_external_id, "the item to approve")
            self.client.approve(target)
            return Delivery(platform_id=target)
        if kind == ActionKind.BAN:
            user = _require(action.author_external_id, "the account to ban")
            target = _require(action.target_external_id, "the item its author wrote")
            found = _listing(self.client.info(target))
            subreddit = str(found[0].get("subreddit") or "") if found else ""
            self.client.ban(_require(subreddit, "the subreddit of the item"), user, BAN_NOTE)
            return Delivery(platform_id=user)
        if kind == ActionKind.UNBAN:
            return self._unban(action)
        raise Rejected(f"Reddit cannot {kind}")

    def _unban(self, action: OutboundAction) -> Delivery:
        """`POST /r/{subreddit}/api/unfriend` `type=banned`, in the subreddit of the item."""
        user = _require(action.author_external_id, "the account to unban")
        target = _require(action.target_external_id, "the item its author wrote")
        found = _listing(self.client.info(target))
        subreddit = str(found[0].get("subreddit") or "") if found else ""
        self.client.unban(_require(subreddit, "the subreddit of the item"), user)
        return Delivery(platform_id=user)

    def reconcile(self, action: OutboundAction) -> Delivery | None:
        """What an earlier, ambiguous attempt did, or None (then `perform` runs again).

        Reddit has no idempotency key: an answer is looked for among our latest
        comments (same parent, same text) or our sent messages. Remove, approve
        and ban set a state: repeating them is harmless.
        """
        if action.kind == ActionKind.REPLY:
            for thing in _listing(self.client.user_comments(self.username)):
                if thing.get("parent_id") == action.target_external_id and _same(
                    thing.get("body"), action.text
                ):
                    return _delivery(thing)
            return None
        if action.kind == ActionKind.SEND_PRIVATE:
            for thing in _listing(self.client.sent()):
                parent = thing.get("parent_id") or thing.get("first_message_name")
                if parent in (action.target_external_id, action.thread_ref) and _same(
                    thing.get("body"), action.text
                ):
                    return _delivery(thing)
            return None
        return None
