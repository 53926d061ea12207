"""OutboundActions → Discourse API calls, and finding what an ambiguous attempt created.

| action | call |
|---|---|
| REPLY | `GET /posts/{id}.json` (its topic and number), then `POST /posts.json` with `topic_id`, `raw`, `reply_to_post_number` |
| SEND_PRIVATE | `POST /posts.json` with the personal message topic as `topic_id` |
| HIDE | `POST /post_actions.json` — a staff flag (inappropriate) with `take_action`: the post is hidden at once |
| UNHIDE | `PUT /posts/{id}/unhide` |
| DELETE | `DELETE /posts/{id}.json` |
| BAN | `PUT /admin/users/{id}/silence.json`: the member can read, not post |
| LIKE | `POST /post_actions.json` with type 2 |

Discourse has no idempotency key. It does refuse a post whose text is "too
similar" to one the same user just made; after a timeout, `reconcile` looks
for our post among the forum's latest posts (same topic, our user, same text)
before the sender tries again, and a "too similar" refusal is answered the
same way.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from cercle.connectors.base import ActionKind, Delivery, OutboundAction, Rejected

from . import client as api
from .client import DiscourseClient, Duplicate

SILENCE_REASON = "Silenced by the community team (Cercle)"


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def _require(value: str, what: str, action: OutboundAction) -> str:
    if not value:
        raise Rejected(f"cannot {action.kind} on Discourse without {what}")
    return value


class DiscourseOutbound:
    """The outbound half of the connector, for one forum."""

    def __init__(self, client: DiscourseClient) -> None:
        self.client = client

    def _post_url(self, post: dict[str, Any]) -> str:
        slug = str(post.get("topic_slug") or "-")
        return f"{self.client.site}/t/{slug}/{post.get('topic_id')}/{post.get('post_number')}"

    def _delivery(self, post: dict[str, Any]) -> Delivery:
        post_id = post.get("id")
        if not isinstance(post_id, int) or isinstance(post_id, bool):
            raise Rejected("Discourse did not return the new post's id")
        return Delivery(platform_id=str(post_id), url=self._post_url(post))

    def perform(self, action: OutboundAction) -> Delivery:
        kind = action.kind
        if kind in (ActionKind.REPLY, ActionKind.SEND_PRIVATE):
            try:
                return self._create(action)
            except Duplicate:
                # Same text just posted by us: if it is in this topic, it is this action, done.
                found = self.reconcile(action)
                if found is None:
                    raise
                return found
        if kind == ActionKind.HIDE:
            target = _require(action.target_external_id, "the post to hide", action)
            with suppress(Duplicate):  # already flagged by us: the post is hidden
                self.client.post_action(
                    target, api.FLAG_INAPPROPRIATE, flag_topic=False, take_action=True
                )
            return Delivery(platform_id=target)
        if kind == ActionKind.UNHIDE:
            target = _require(action.target_external_id, "the post to show again", action)
            self.client.unhide(target)
            return Delivery(platform_id=target)
        if kind == ActionKind.DELETE:
            target = _require(action.target_external_id, "the post to delete", action)
            self.client.delete_post(target)
            return Delivery(platform_id=target)
        if kind == ActionKind.BAN:
            user = _require(action.author_external_id, "the member to silence", action)
            if not user.lstrip("-").isdigit():
                raise Rejected("this member has no Discourse user id to silence")
            if int(user) <= 0:
                raise Rejected("Discourse's system users cannot be silenced")
            self.client.silence(user, SILENCE_REASON)
            return Delivery(platform_id=user)
        if kind == ActionKind.LIKE:
            target = _require(action.target_external_id, "the post to like", action)
            with suppress(Duplicate):  # liked already
                self.client.post_action(target, api.LIKE)
            return Delivery(platform_id=target)
        raise Rejected(f"Discourse cannot {kind}")

    def _create(self, action: OutboundAction) -> Delivery:
        if action.kind == ActionKind.SEND_PRIVATE:
            topic = _require(action.thread_ref, "the personal message to answer", action)
            return self._delivery(self.client.create_post(topic, action.text))
        if action.target_external_id:
            target = self.client.post(action.target_external_id)
            topic = str(target.get("topic_id") or "")
            number = target.get("post_number")
            reply_to = number if isinstance(number, int) and number > 1 else None
        else:
            topic, reply_to = action.post_external_id, None
        topic = _require(topic, "the topic to answer in", action)
        return self._delivery(self.client.create_post(topic, action.text, reply_to))

    def reconcile(self, action: OutboundAction) -> Delivery | None:
        """What an earlier, ambiguous attempt of `action` did, or None if it did not happen.

        Flags, likes, unhide and silence set a state (repeating them is
        harmless, "already" answers count as done); a delete is done when the
        post is gone; a post is found among the latest posts.
        """
        if action.kind == ActionKind.DELETE and action.target_external_id:
            try:
                post = self.client.post(action.target_external_id)
            except Rejected:  # 404: gone
                return Delivery(platform_id=action.target_external_id)
            return (
                Delivery(platform_id=action.target_external_id) if post.get("deleted_at") else None
            )
        if action.kind not in (ActionKind.REPLY, ActionKind.SEND_PRIVATE):
            return None
        topic = action.thread_ref if action.kind == ActionKind.SEND_PRIVATE else ""
        latest = self.client.latest_posts(private=bool(topic))
        for post in latest:
            if not isinstance(post, dict):
                continue
            if str(post.get("username", "")).lower() != self.client.api_username.lower():
                continue
            if topic and str(post.get("topic_id")) != topic:
                continue
            if not topic and str(post.get("topic_id")) != action.post_external_id:
                continue
            if _same_text(str(post.get("raw", "")), action.text):
                return self._delivery(post)
        return None
