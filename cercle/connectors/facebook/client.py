"""The Graph API, as the Facebook connector uses it: one constant per endpoint.

The client itself (token, `appsecret_proof`, usage headers, the one error
table) is Meta's, shared with Instagram: see `cercle.connectors.meta.graph`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cercle.connectors.base import Rejected
from cercle.connectors.meta import graph as meta
from cercle.connectors.meta.graph import (
    DIALOG_BASE,
    GRAPH_BASE,
    GRAPH_VERSION,
    ME_ACCOUNTS,
    OAUTH_ACCESS_TOKEN,
    OAUTH_DIALOG,
    appsecret_proof,
    classify_error,
    throttled_until,
    usage_from_headers,
)

__all__ = [
    "DIALOG_BASE",
    "GRAPH_BASE",
    "GRAPH_VERSION",
    "ME_ACCOUNTS",
    "OAUTH_ACCESS_TOKEN",
    "OAUTH_DIALOG",
    "GraphClient",
    "appsecret_proof",
    "classify_error",
    "throttled_until",
    "usage_from_headers",
]

# Endpoints, relative to {api_base}/{GRAPH_VERSION}. Docs:
# https://developers.facebook.com/docs/graph-api/reference/page/
PAGE = "/{page_id}"
# https://developers.facebook.com/docs/graph-api/reference/page/feed/
PAGE_FEED = "/{page_id}/feed"
# https://developers.facebook.com/docs/graph-api/reference/object/comments/
OBJECT_COMMENTS = "/{object_id}/comments"
# https://developers.facebook.com/docs/graph-api/reference/post/ (a Page post's details)
POST = "/{post_id}"
# https://developers.facebook.com/docs/graph-api/reference/comment/ (read, hide, delete)
COMMENT = "/{comment_id}"
# https://developers.facebook.com/docs/graph-api/reference/object/likes/
OBJECT_LIKES = "/{object_id}/likes"
# https://developers.facebook.com/docs/messenger-platform/reference/send-api/ and
# https://developers.facebook.com/docs/messenger-platform/discovery/private-replies/
PAGE_MESSAGES = "/{page_id}/messages"
# https://developers.facebook.com/docs/graph-api/reference/page/conversations/
PAGE_CONVERSATIONS = "/{page_id}/conversations"
# https://developers.facebook.com/docs/graph-api/reference/page/blocked/
PAGE_BLOCKED = "/{page_id}/blocked"


class GraphClient(meta.GraphClient):
    """Calls of one Page's token against the Graph API (or the simulator's fake of it)."""

    label = "Facebook"

    def url(self, path: str, **ids: str) -> str:
        """The full URL of an endpoint constant, ids filled in (and kept to one path segment)."""
        for name, value in ids.items():
            if not value or "/" in value or "?" in value or "#" in value or value in {".", ".."}:
                raise Rejected(f"invalid Facebook id for {name}: {value!r}")
        return self.base + path.format(**ids)

    def call(
        self,
        method: str,
        path: str,
        *,
        ids: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        authenticated: bool = True,
    ) -> dict[str, Any]:
        """One Graph call; returns the decoded JSON object or raises a classified error."""
        return self.send(
            method,
            self.url(path, **(ids or {})),
            params=params,
            data=data,
            json_body=json_body,
            authenticated=authenticated,
        )

    def get(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.call("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.call("DELETE", path, **kwargs)
