"""Facebook Pages: feed comments and replies, mentions, shares, visitor posts and Messenger.

Facts (auth, signature, limits, error codes) are in README.md next to this file.
Credentials (encrypted on the channel): `app_id`, `app_secret`,
`page_access_token`, and after OAuth `user_access_token` and its expiry.
Config: `api_base` (default https://graph.facebook.com), `page_id` (before
the channel knows its account id), `app_id`, `poll_posts`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from cercle.connectors.base import (
    Capability,
    Connector,
    Delivery,
    Incoming,
    OAuthTokens,
    OutboundAction,
    Page,
    PostRef,
    RawEventData,
    Rejected,
)
from cercle.connectors.meta import webhooks
from cercle.connectors.meta.graph import usage_recorder
from cercle.connectors.meta.webhooks import SIGNATURE_HEADER, sign

from . import client as graph
from .client import GraphClient
from .inbound import (
    WEBHOOK_OBJECT,
    graph_post,
    parse_feed_page,
    parse_webhook,
    text,
    timestamp,
)
from .outbound import FacebookOutbound

__all__ = ["SIGNATURE_HEADER", "FacebookConnector", "sign"]

SCOPES = (
    "pages_show_list",
    "pages_manage_metadata",
    "pages_read_engagement",
    "pages_read_user_content",
    "pages_manage_engagement",
    "pages_messaging",
)
WEBHOOK_FIELDS = ("feed", "mention", "ratings", "messages", "message_echoes", "message_edits")
# Fields of a polled comment (https://developers.facebook.com/docs/graph-api/reference/comment/).
COMMENT_FIELDS = "id,message,created_time,from,parent{id},is_hidden,permalink_url"
# Fields of a Page post read by post enrichment (https://developers.facebook.com/docs/graph-api/reference/post/).
POST_FIELDS = "id,message,created_time,permalink_url"
# Messenger text messages are capped at 2000 characters, comments at 8000.
MESSENGER_MAX_TEXT = 2000
# Refresh tokens that expire within this margin.
REFRESH_MARGIN = timedelta(days=7)


class FacebookConnector(Connector):
    """One Facebook Page: webhooks first, a feed poll as catch-up, Graph API calls for every action."""

    platform = "facebook"
    label = "Facebook"
    capabilities = frozenset(
        {
            Capability.WEBHOOK,
            Capability.POLL,
            Capability.OAUTH,
            Capability.REPLY,
            Capability.PRIVATE_REPLY,
            Capability.SEND_PRIVATE,
            Capability.HIDE,
            Capability.UNHIDE,
            Capability.DELETE,
            Capability.BAN,
            Capability.LIKE,
            Capability.POST_DETAILS,
        }
    )
    max_reply_length = 8000
    post_details_batch = 1  # GET /{post-id}: one post per call

    # --- settings ------------------------------------------------------------------

    @property
    def page_id(self) -> str:
        return self.channel.external_id or str(self.channel.config.get("page_id", ""))

    def _credentials(self) -> dict[str, Any]:
        # Decrypting is not free and one action reads several keys: cache per token value.
        token = self.channel.credentials_token
        cached = getattr(self, "_credentials_cache", None)
        if cached is None or cached[0] != token:
            cached = (token, self.channel.credentials)
            self._credentials_cache = cached
        return dict(cached[1])

    def _app_id(self) -> str:
        # `client_id`/`client_secret`: the names the generic platform-app settings copy in.
        credentials = self._credentials()
        return str(
            credentials.get("app_id")
            or credentials.get("client_id")
            or self.channel.config.get("app_id", "")
        )

    def _app_secret(self) -> str:
        credentials = self._credentials()
        return str(credentials.get("app_secret") or credentials.get("client_secret", ""))

    def _client(self, token: str | None = None) -> GraphClient:
        credentials = self._credentials()
        return GraphClient(
            self.http,
            api_base=str(self.channel.config.get("api_base", "")),
            access_token=token
            if token is not None
            else str(credentials.get("page_access_token") or credentials.get("access_token", "")),
            app_secret=self._app_secret(),
            on_usage=usage_recorder(self.channel),
        )

    # --- inbound -----------------------------------------------------------------

    def verify(self, request: HttpRequest) -> HttpResponse | None:
        """Answer the `hub.challenge` handshake, or check `X-Hub-Signature-256` over the raw body."""
        return webhooks.verify_request(request, self.channel.verify_token, self._app_secret())

    def accounts(self, raw: RawEventData) -> set[str]:
        """The Pages a delivery's entries are for (one Meta app serves many Pages)."""
        return webhooks.entry_accounts(raw.body, WEBHOOK_OBJECT)

    def parse(self, raw: RawEventData) -> list[Incoming]:
        """The entries of this channel's Page only; polled pages are parsed inside `poll`."""
        return parse_webhook(raw.body, self.page_id)

    def poll(self, cursor: str | None) -> Page:
        """Catch-up: comments on the Page's recent posts newer than `cursor` (an ISO time)."""
        since = timestamp(cursor) if cursor else None
        limit = int(self.channel.config.get("poll_posts", 10))
        self._client().get(
            graph.PAGE_FEED,
            ids={"page_id": self._require_page()},
            params={
                "fields": (
                    "id,message,created_time,permalink_url,"
                    f"comments.filter(stream).order(reverse_chronological).limit(100){{{COMMENT_FIELDS}}}"
                ),
                "limit": max(1, min(limit, 100)),
            },
        )
        body = self.http.last_response.content if self.http.last_response is not None else b"{}"
        items, newest = parse_feed_page(body, self.page_id, since)
        next_cursor = newest.isoformat() if newest else cursor
        return Page(items=items, cursor=next_cursor, raw=body, has_more=False)

    def post_details(self, external_ids: list[str]) -> list[PostRef]:
        """`GET /{post-id}?fields=message,created_time,permalink_url`, one post per call.

        A post Facebook no longer has (deleted: #100/33) or will not show is left out;
        token, permission, rate-limit and server errors are raised for the whole call.
        """
        client = self._client()
        refs: list[PostRef] = []
        for post_id in external_ids:
            try:
                data = client.get(
                    graph.POST, ids={"post_id": post_id}, params={"fields": POST_FIELDS}
                )
            except Rejected:
                continue
            ref = graph_post(data, post_id)
            if ref is not None:
                refs.append(ref)
        return refs

    # --- outbound ----------------------------------------------------------------

    def _require_page(self) -> str:
        if not self.page_id:
            raise Rejected("the channel has no Facebook Page id: reconnect the Page")
        return self.page_id

    def _outbound(self) -> FacebookOutbound:
        return FacebookOutbound(self._client(), self._require_page())

    def perform(self, action: OutboundAction) -> Delivery:
        if (
            action.kind in {"private_reply", "send_private"}
            and len(action.text) > MESSENGER_MAX_TEXT
        ):
            raise Rejected(f"Messenger accepts at most {MESSENGER_MAX_TEXT} characters")
        return self._outbound().perform(action)

    def reconcile(self, action: OutboundAction) -> Delivery | None:
        return self._outbound().reconcile(action)

    # --- connection ------------------------------------------------------------

    def _dialog_base(self) -> str:
        api_base = str(self.channel.config.get("api_base", ""))
        return api_base.rstrip("/") if api_base else graph.DIALOG_BASE

    def authorize_url(self, state: str, redirect_uri: str) -> str:
        """Facebook Login for Business: the Page permissions Cercle needs."""
        query = urlencode(
            {
                "client_id": self._app_id(),
                "redirect_uri": redirect_uri,
                "state": state,
                "response_type": "code",
                "scope": ",".join(SCOPES),
            }
        )
        return f"{self._dialog_base()}/{graph.GRAPH_VERSION}{graph.OAUTH_DIALOG}?{query}"

    def _token_call(self, params: dict[str, str]) -> tuple[str, datetime | None]:
        data = self._client(token="").get(
            graph.OAUTH_ACCESS_TOKEN, params=params, authenticated=False
        )
        token = text(data.get("access_token"), 1000)
        if not token:
            raise Rejected("Facebook returned no access token")
        expires_in = data.get("expires_in")
        expires_at = (
            timezone.now() + timedelta(seconds=expires_in)
            if isinstance(expires_in, int) and expires_in > 0
            else None
        )
        return token, expires_at

    def _long_lived(self, user_token: str) -> tuple[str, datetime | None]:
        """`grant_type=fb_exchange_token`: a 60-day user token (Page tokens from it do not expire)."""
        return self._token_call(
            {
                "grant_type": "fb_exchange_token",
                "client_id": self._app_id(),
                "client_secret": self._app_secret(),
                "fb_exchange_token": user_token,
            }
        )

    def _page_token(self, user_token: str, user_expires: datetime | None) -> OAuthTokens:
        accounts = self._client(token=user_token).get(
            graph.ME_ACCOUNTS, params={"fields": "id,name,access_token,tasks", "limit": 100}
        )
        pages = [
            p for p in accounts.get("data") or [] if isinstance(p, dict) and p.get("access_token")
        ]
        wanted = self.page_id
        page = (
            next((p for p in pages if str(p.get("id")) == wanted), None)
            if wanted
            else (pages[0] if pages else None)
        )
        if page is None:
            raise Rejected(_("This Facebook account does not manage the Page to connect."))
        credentials = {
            **self._credentials(),
            "app_id": self._app_id(),
            "page_access_token": str(page["access_token"]),
            "user_access_token": user_token,
            "user_token_expires_at": user_expires.isoformat() if user_expires else "",
        }
        credentials.pop("expires_at", None)
        return OAuthTokens(
            credentials=credentials,
            expires_at=None,
            account_id=text(page.get("id"), 200),
            account_name=text(page.get("name"), 200),
        )

    def exchange_code(self, code: str, redirect_uri: str) -> OAuthTokens:
        """Code → user token → long-lived user token → the Page's token (`/me/accounts`)."""
        short, _expires = self._token_call(
            {
                "client_id": self._app_id(),
                "client_secret": self._app_secret(),
                "redirect_uri": redirect_uri,
                "code": code,
            }
        )
        user_token, user_expires = self._long_lived(short)
        return self._page_token(user_token, user_expires)

    def refresh_credentials(self, *, force: bool = False) -> OAuthTokens | None:
        """Renew a Page token that expires (one from a short-lived user token) while the user token lives."""
        credentials = self._credentials()
        expires_at = timestamp(credentials.get("expires_at") or None)
        if expires_at is None or expires_at - timezone.now() > REFRESH_MARGIN:
            return None
        user_token = str(credentials.get("user_access_token", ""))
        if not user_token:
            return None
        user_token, user_expires = self._long_lived(user_token)
        return self._page_token(user_token, user_expires)

    def test_connection(self) -> str:
        data = self._client().get(
            graph.PAGE, ids={"page_id": self._require_page()}, params={"fields": "id,name"}
        )
        return _("Connected to the Facebook Page “%(name)s”.") % {
            "name": text(data.get("name"), 200) or self.page_id
        }

    def setup_instructions(self) -> dict[str, str]:
        return {
            "object": "page",
            "fields": ", ".join(WEBHOOK_FIELDS),
            "verify_token": self.channel.verify_token,
            "callback_url": f"/hooks/{self.channel.uuid}",
            "signature": _(
                "Facebook signs every delivery with the app secret (X-Hub-Signature-256)."
            ),
            "subscribe": f"POST /{graph.GRAPH_VERSION}/{self.page_id or '{page-id}'}/subscribed_apps?subscribed_fields={','.join(WEBHOOK_FIELDS)}",
        }
