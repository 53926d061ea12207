"""HTTP client of the Instagram Graph API (Instagram API with Facebook Login), pinned to one version.

One constant per endpoint, each with a link to Meta's documentation. The
client itself (token, `appsecret_proof`, usage headers, the one Graph error
table) is Meta's, shared with Facebook: `cercle.connectors.meta.graph`.
Nothing here writes rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from cercle.connectors.base import Rejected, TransientError
from cercle.connectors.meta import graph as meta
from cercle.connectors.meta.graph import DIALOG_BASE as DEFAULT_DIALOG_BASE
from cercle.connectors.meta.graph import GRAPH_BASE as DEFAULT_API_BASE
from cercle.connectors.meta.graph import (
    GRAPH_VERSION,
    ME_ACCOUNTS,
    OAUTH_ACCESS_TOKEN,
    OAUTH_DIALOG,
    appsecret_proof,
)

__all__ = [
    "DEFAULT_API_BASE",
    "DEFAULT_DIALOG_BASE",
    "GRAPH_VERSION",
    "InstagramClient",
    "appsecret_proof",
    "dialog_url",
]

# --- endpoints (paths below {api_base}/{GRAPH_VERSION}) ---------------------------
# https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies
COMMENT_REPLIES = "/{comment_id}/replies"  # POST message=…: reply; GET: list replies (reconcile)
# https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment
COMMENT = "/{comment_id}"  # POST hide=true|false; DELETE; GET fields=…
# https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-media/comments
MEDIA_COMMENTS = "/{media_id}/comments"  # GET: comments of one media (poll catch-up)
# https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-media
MEDIA = "/{media_id}"  # GET fields=caption,timestamp,permalink: one post's details (enrichment)
# https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
USER_MEDIA = "/{ig_user_id}/media"  # GET: the account's recent media (poll catch-up)
# https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user
# (also `mentioned_comment` / `mentioned_media` field expansions, to reconcile mention replies)
USER = "/{ig_user_id}"  # GET fields=id,username: test the connection
# https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/tags
USER_TAGS = "/{ig_user_id}/tags"  # GET: media other accounts tagged the brand in (poll)
# https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/mentions
USER_MENTIONS = "/{ig_user_id}/mentions"  # POST media_id, comment_id?, message: answer a mention
# https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message
# https://developers.facebook.com/docs/messenger-platform/instagram/features/private-replies
MESSAGES = "/{ig_user_id}/messages"  # POST: DM or private reply (recipient.comment_id)
# https://developers.facebook.com/docs/messenger-platform/instagram/features/conversation-api
CONVERSATIONS = "/{ig_user_id}/conversations"  # GET platform=instagram&user_id=…: reconcile DMs

COMMENT_FIELDS = "id,text,timestamp,username,from,hidden,parent_id"
MEDIA_FIELDS = (
    "id,caption,permalink,timestamp,media_product_type,thumbnail_url,media_url,comments_count"
)
# The details of one of the account's posts (post enrichment).
POST_FIELDS = "id,caption,permalink,timestamp,thumbnail_url,media_url"
TAG_FIELDS = "id,caption,permalink,timestamp,username,media_type"

SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


def _segment(value: str) -> str:
    """A platform id as one URL path segment: ids are numeric, but never let one escape the path."""
    if not value:
        raise Rejected("missing Instagram id")
    return quote(value, safe="")


class InstagramClient(meta.GraphClient):
    """Authenticated calls to the Graph API for one channel (one Instagram professional account)."""

    label = "Instagram"

    def url(self, template: str, **ids: str) -> str:
        """The absolute URL of an endpoint constant with its ids filled in."""
        return self.base + template.format(**{k: _segment(v) for k, v in ids.items()})

    def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One authenticated request; returns the JSON answer or raises a connector error."""
        return self.send(method, url, params=params, data=data, json_body=json_body)

    # --- comments --------------------------------------------------------------

    def reply_to_comment(self, comment_id: str, text: str) -> dict[str, Any]:
        """POST /{comment-id}/replies → {"id": new comment id}."""
        return self.call(
            "POST", self.url(COMMENT_REPLIES, comment_id=comment_id), data={"message": text}
        )

    def list_replies(self, comment_id: str) -> list[dict[str, Any]]:
        """GET /{comment-id}/replies: the replies under a top-level comment (first page)."""
        data = self.call(
            "GET",
            self.url(COMMENT_REPLIES, comment_id=comment_id),
            params={"fields": COMMENT_FIELDS, "limit": "50"},
        )
        return _data_list(data)

    def get_comment(self, comment_id: str, fields: str = COMMENT_FIELDS) -> dict[str, Any]:
        """GET /{comment-id}?fields=…"""
        return self.call("GET", self.url(COMMENT, comment_id=comment_id), params={"fields": fields})

    def set_hidden(self, comment_id: str, hidden: bool) -> dict[str, Any]:
        """POST /{comment-id} hide=true|false → {"success": true}."""
        return self.call(
            "POST",
            self.url(COMMENT, comment_id=comment_id),
            data={"hide": "true" if hidden else "false"},
        )

    def delete_comment(self, comment_id: str) -> dict[str, Any]:
        """DELETE /{comment-id} → {"success": true}."""
        return self.call("DELETE", self.url(COMMENT, comment_id=comment_id))

    def get_media(self, media_id: str) -> dict[str, Any]:
        """GET /{ig-media-id}?fields=id,caption,permalink,timestamp,…: one post's details."""
        return self.call("GET", self.url(MEDIA, media_id=media_id), params={"fields": POST_FIELDS})

    # --- messaging --------------------------------------------------------------

    def send_message(
        self, ig_user_id: str, recipient: Mapping[str, str], text: str
    ) -> dict[str, Any]:
        """POST /{ig-user-id}/messages → {"recipient_id", "message_id"}.

        `recipient` is {"id": IGSID} for a DM or {"comment_id": …} for a private reply.
        """
        return self.call(
            "POST",
            self.url(MESSAGES, ig_user_id=ig_user_id),
            json_body={"recipient": dict(recipient), "message": {"text": text}},
        )

    def conversation_messages(self, ig_user_id: str, user_id: str) -> list[dict[str, Any]]:
        """The latest messages of our conversation with `user_id` (IGSID), newest first."""
        data = self.call(
            "GET",
            self.url(CONVERSATIONS, ig_user_id=ig_user_id),
            params={
                "platform": "instagram",
                "user_id": user_id,
                "fields": "messages.limit(20){id,message,from,created_time}",
            },
        )
        messages: list[dict[str, Any]] = []
        for conversation in _data_list(data):
            block = conversation.get("messages")
            if isinstance(block, dict):
                messages.extend(_data_list(block))
        return messages

    # --- polling ----------------------------------------------------------------

    def list_media(self, ig_user_id: str, limit: int) -> dict[str, Any]:
        """GET /{ig-user-id}/media: the account's most recent media (raw page)."""
        return self.call(
            "GET",
            self.url(USER_MEDIA, ig_user_id=ig_user_id),
            params={"fields": MEDIA_FIELDS, "limit": str(limit)},
        )

    def list_comments(self, media_id: str, limit: int = 50) -> dict[str, Any]:
        """GET /{media-id}/comments with each comment's replies expanded (raw page)."""
        return self.call(
            "GET",
            self.url(MEDIA_COMMENTS, media_id=media_id),
            params={"fields": f"{COMMENT_FIELDS},replies{{{COMMENT_FIELDS}}}", "limit": str(limit)},
        )

    def list_tags(self, ig_user_id: str, limit: int) -> dict[str, Any]:
        """GET /{ig-user-id}/tags: the latest media the brand was tagged in (raw page)."""
        return self.call(
            "GET",
            self.url(USER_TAGS, ig_user_id=ig_user_id),
            params={"fields": TAG_FIELDS, "limit": str(limit)},
        )

    # --- mentions (on other accounts' media) ----------------------------------------

    def reply_to_mention(
        self, ig_user_id: str, media_id: str, comment_id: str, text: str
    ) -> dict[str, Any]:
        """POST /{ig-user-id}/mentions → {"id": new comment id} under the mentioning comment or caption."""
        data = {"media_id": media_id, "message": text}
        if comment_id:
            data["comment_id"] = comment_id
        return self.call("POST", self.url(USER_MENTIONS, ig_user_id=ig_user_id), data=data)

    def mention_replies(
        self, ig_user_id: str, media_id: str, comment_id: str
    ) -> list[dict[str, Any]]:
        """The replies under a mentioning comment (or the comments of a mentioning caption's media)."""
        for value in (media_id, comment_id):
            # These ids are spliced into a field expansion: never let one close it.
            if value and not SAFE_ID.fullmatch(value):
                raise Rejected(f"not an Instagram id: {value[:40]!r}")
        if comment_id:
            field = "mentioned_comment"
            fields = f"mentioned_comment.comment_id({comment_id}){{id,replies{{id,text,username,timestamp}}}}"
            edge = "replies"
        else:
            field = "mentioned_media"
            fields = (
                f"mentioned_media.media_id({media_id}){{id,comments{{id,text,username,timestamp}}}}"
            )
            edge = "comments"
        data = self.call("GET", self.url(USER, ig_user_id=ig_user_id), params={"fields": fields})
        node = data.get(field)
        block = node.get(edge) if isinstance(node, dict) else None
        return _data_list(block) if isinstance(block, dict) else []

    def mentioned(self, ig_user_id: str, media_id: str, comment_id: str) -> dict[str, Any]:
        """The comment (or caption's media) that @mentioned the account: text, author, time, link.

        `GET /{ig-user-id}?fields=mentioned_comment.comment_id(…){…}` or
        `mentioned_media.media_id(…){…}` (see USER); {} when Meta returns nothing.
        """
        for value in (media_id, comment_id):
            # These ids are spliced into a field expansion: never let one close it.
            if value and not SAFE_ID.fullmatch(value):
                raise Rejected(f"not an Instagram id: {value[:40]!r}")
        if comment_id:
            field = "mentioned_comment"
            fields = f"{field}.comment_id({comment_id}){{id,text,timestamp,username,media{{id,permalink}}}}"
        else:
            field = "mentioned_media"
            fields = f"{field}.media_id({media_id}){{id,caption,timestamp,username,permalink}}"
        data = self.call("GET", self.url(USER, ig_user_id=ig_user_id), params={"fields": fields})
        node = data.get(field)
        return node if isinstance(node, dict) else {}

    def get_user(self, ig_user_id: str) -> dict[str, Any]:
        """GET /{ig-user-id}?fields=id,username,name."""
        return self.call(
            "GET", self.url(USER, ig_user_id=ig_user_id), params={"fields": "id,username,name"}
        )

    # --- OAuth (no channel token yet: app credentials) -------------------------------

    def oauth_get(self, params: Mapping[str, str]) -> dict[str, Any]:
        """GET /oauth/access_token with app credentials in the query (Meta's documented form)."""
        return self.send("GET", self.base + OAUTH_ACCESS_TOKEN, params=params, authenticated=False)

    def pages(self, user_token: str) -> list[dict[str, Any]]:
        """GET /me/accounts: Pages the user manages with their tokens and linked Instagram account."""
        data = self.send(
            "GET",
            self.base + ME_ACCOUNTS,
            params={"fields": "id,name,access_token,instagram_business_account{id,username}"},
            token=user_token,
        )
        return _data_list(data)


def dialog_url(dialog_base: str, params: Mapping[str, str]) -> str:
    """The browser URL of Facebook Login's consent dialog."""
    base = (dialog_base or DEFAULT_DIALOG_BASE).rstrip("/") + "/" + GRAPH_VERSION + OAUTH_DIALOG
    return base + "?" + urlencode(dict(params))


def _data_list(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    listed = data.get("data", [])
    if not isinstance(listed, list):
        raise TransientError("Instagram answered a list without 'data'")
    return [item for item in listed if isinstance(item, dict)]
