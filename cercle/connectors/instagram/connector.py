"""The Instagram connector: Instagram Graph API (Facebook Login), webhooks `object=instagram`.

Credentials (encrypted, `channel.credentials`): `app_id`, `app_secret` (Meta
app), `access_token` (the Page token that acts for the Instagram account),
`user_access_token` (long-lived Facebook user token), `page_id`, and
`expires_at` when the stored token expires. Settings (`channel.config`):
`api_base` (default https://graph.facebook.com; the demo points it at the
simulator), `poll_media` (how many recent media the catch-up poll scans),
`comment_writes_per_hour` (to lower the published limit). The channel's
`external_id` is the Instagram professional account id (IG user id).
See README.md for the platform facts.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from cercle.connectors import quota
from cercle.connectors.base import (
    Capability,
    Connector,
    ConnectorError,
    Delivery,
    Incoming,
    OAuthTokens,
    OutboundAction,
    Page,
    PostRef,
    RawEventData,
    Rejected,
    TokenRevoked,
    UnknownResult,
)
from cercle.connectors.meta import webhooks
from cercle.connectors.meta.graph import usage_recorder
from cercle.connectors.meta.webhooks import SIGNATURE_HEADER, sign, signature_ok
from cercle.connectors.quota import Window

from . import inbound, outbound
from .client import DEFAULT_DIALOG_BASE, InstagramClient, dialog_url

__all__ = ["SIGNATURE_HEADER", "InstagramConnector", "sign", "signature_ok"]

# Permissions asked at consent: read/answer comments, DMs, and find the Page's IG account.
SCOPES = (
    "instagram_basic",
    "instagram_manage_comments",
    "instagram_manage_messages",
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_metadata",
    "business_management",
)
WEBHOOK_FIELDS = ("comments", "live_comments", "mentions", "messages", "message_edit")
REFRESH_MARGIN = timedelta(days=7)
DEFAULT_POLL_MEDIA = 10
# Meta's names of the app credentials → the generic OAuth names (settings.CERCLE_PLATFORM_APPS).
GENERIC_NAMES = {"app_id": "client_id", "app_secret": "client_secret"}


class InstagramConnector(Connector):
    """One Instagram professional account, through the Graph API and Meta webhooks."""

    platform = "instagram"
    label = "Instagram"
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
            Capability.POST_DETAILS,
            # No BAN and no LIKE: the Graph API offers neither for Instagram.
        }
    )
    max_reply_length = outbound.MAX_COMMENT_CHARS
    post_details_batch = 1  # GET /{ig-media-id}: one media per call

    # --- configuration ------------------------------------------------------------

    def _credential(self, name: str) -> str:
        """A credential by its Meta name, or by the generic OAuth name the connect flow stores."""
        credentials, config = self.channel.credentials, self.channel.config
        generic = GENERIC_NAMES.get(name, name)
        value = credentials.get(name) or credentials.get(generic) or config.get(name)
        if not value and generic != name:
            # The operator's Meta app, shared by every Instagram channel (settings.CERCLE_PLATFORM_APPS).
            apps = getattr(settings, "CERCLE_PLATFORM_APPS", {}) or {}
            value = (apps.get(self.platform) or {}).get(generic, "")
        return str(value or "")

    @property
    def ig_user_id(self) -> str:
        """The Instagram professional account id (IG user id) the channel acts as."""
        return str(self.channel.external_id or self.channel.credentials.get("ig_user_id", ""))

    def _api_base(self) -> str:
        apps = getattr(settings, "CERCLE_PLATFORM_APPS", {}) or {}
        return str(
            self.channel.config.get("api_base")
            or (apps.get(self.platform) or {}).get("api_base")
            or ""
        )

    def _client(self, access_token: str | None = None) -> InstagramClient:
        return InstagramClient(
            self.http,
            api_base=self._api_base(),
            access_token=self._credential("access_token") if access_token is None else access_token,
            app_secret=self._credential("app_secret"),
            on_usage=usage_recorder(self.channel),
        )

    # --- inbound -------------------------------------------------------------------

    def verify(self, request: HttpRequest) -> HttpResponse | None:
        """Answer Meta's `hub.challenge` handshake, or check `X-Hub-Signature-256` over the raw body."""
        return webhooks.verify_request(
            request, self.channel.verify_token or "", self._credential("app_secret")
        )

    def accounts(self, raw: RawEventData) -> set[str]:
        """The Instagram accounts a delivery's entries are for (one Meta app serves many)."""
        return webhooks.entry_accounts(raw.body, inbound.WEBHOOK_OBJECT)

    def parse(self, raw: RawEventData) -> list[Incoming]:
        """The entries of this channel's account only (pure). Polled pages are parsed by `poll`."""
        return inbound.parse_webhook(raw.body, (self.ig_user_id,))

    def poll(self, cursor: str | None) -> Page:
        """Catch-up for missed webhooks: new comments on recent media, and media the brand is tagged in.

        One `GET /{ig-user-id}/media` per run (with `comments_count`); the
        comments of a media (`GET /{media-id}/comments`, replies expanded) are
        fetched only when its count changed since the last run, so a quiet
        account costs one or two calls per poll. The cursor is JSON:
        {"since": epoch seconds of the newest item seen, "counts": {media id: comments_count}}.
        """
        state = _cursor_state(cursor)
        since = float(state["since"])
        known_counts: dict[str, Any] = state["counts"]
        client = self._client()
        ig_user_id = _need(self.ig_user_id, "account id")
        limit = int(self.channel.config.get("poll_media", DEFAULT_POLL_MEDIA))
        media_page = client.list_media(ig_user_id, limit)
        brand = {ig_user_id}
        items: list[Incoming] = []
        raw: dict[str, Any] = {"media": media_page, "comments": {}}
        counts: dict[str, int] = {}
        newest = since
        listed = media_page.get("data")
        for media in listed[:limit] if isinstance(listed, list) else []:
            if not isinstance(media, dict):
                continue
            post = inbound.media_post(media)
            count = media.get("comments_count")
            if isinstance(count, int) and not isinstance(count, bool):
                counts[post.external_id] = count
                if count == 0 or known_counts.get(post.external_id) == count:
                    continue  # nothing new under this media: spare the call
            comments = client.list_comments(post.external_id)
            raw["comments"][post.external_id] = comments
            for item in inbound.polled_comments(comments, post, brand):
                stamp = item.sent_at.timestamp() if item.sent_at else 0.0
                if stamp >= since:
                    items.append(item)
                    newest = max(newest, stamp)
        if self.channel.config.get("poll_tags", True):
            tags = client.list_tags(ig_user_id, limit)
            raw["tags"] = tags
            tagged = tags.get("data")
            for media in tagged if isinstance(tagged, list) else []:
                if isinstance(media, dict):
                    items.append(inbound.tagged_media_item(media))
        body = json.dumps(raw, ensure_ascii=False, sort_keys=True).encode()
        next_cursor = json.dumps({"since": int(newest), "counts": counts}, sort_keys=True)
        return Page(items=items, cursor=next_cursor, raw=body, has_more=False)

    def enrich(self, external_ids: list[str]) -> list[Incoming]:
        """Mentions arrive with ids only: fetch each one's text, author and link (one call each)."""
        client = self._client()
        ig_user_id = _need(self.ig_user_id, "account id")
        items = []
        for external_id in external_ids:
            ids = inbound.split_mention_id(external_id)
            if ids is None:
                continue
            try:
                node = client.mentioned(ig_user_id, *ids)
            except Rejected:
                continue  # gone, or comments turned off on that media: left out, not retried
            item = inbound.mentioned_item(external_id, node)
            if item is not None:
                items.append(item)
        return items

    def post_details(self, external_ids: list[str]) -> list[PostRef]:
        """`GET /{ig-media-id}?fields=caption,timestamp,permalink,…`, one media per call.

        A media Instagram no longer has (deleted) or will not show is left out.
        """
        client = self._client()
        refs: list[PostRef] = []
        for media_id in external_ids:
            try:
                data = client.get_media(media_id)
            except Rejected:
                continue
            ref = inbound.media_details(data, media_id)
            if ref is not None:
                refs.append(ref)
        return refs

    # --- outbound ------------------------------------------------------------------

    def _limit(self, bucket: str) -> int:
        configured = self.channel.config.get(f"{bucket}_per_hour")
        default = outbound.DEFAULT_LIMITS[bucket]
        return min(default, int(configured)) if configured else default

    def quota_window(self, bucket: str) -> Window:
        """The rolling-hour window a comment write or a private reply is counted in."""
        return Window(
            name=bucket,
            limit=self._limit(bucket),
            period=outbound.WINDOW,
            rolling=True,
            message=outbound.LIMIT_MESSAGES[bucket],
        )

    def perform(self, action: OutboundAction) -> Delivery:
        """Do the action; comment writes and private replies are counted per rolling hour first."""
        client = self._client()
        bucket = outbound.BUCKET_OF.get(action.kind)
        if bucket is None:
            return outbound.perform(client, self.ig_user_id, action)
        window = self.quota_window(bucket)
        quota.take(self.channel, window)
        try:
            return outbound.perform(client, self.ig_user_id, action)
        except UnknownResult:
            raise  # the write may have happened: it stays counted
        except ConnectorError:
            quota.give_back(self.channel, window)  # refused: nothing was written
            raise

    def reconcile(self, action: OutboundAction) -> Delivery | None:
        """Find what an ambiguous earlier attempt created (Instagram has no idempotency key)."""
        username = str(
            self.channel.credentials.get("username") or self.channel.config.get("username") or ""
        )
        return outbound.reconcile(self._client(), self.ig_user_id, action, username)

    # --- connection ------------------------------------------------------------------

    def authorize_url(self, state: str, redirect_uri: str) -> str:
        """Facebook Login's consent dialog for the Instagram permissions."""
        return dialog_url(
            str(self.channel.config.get("dialog_base", DEFAULT_DIALOG_BASE)),
            {
                "client_id": _need(self._credential("app_id"), "Meta app id"),
                "redirect_uri": redirect_uri,
                "state": state,
                "response_type": "code",
                "scope": ",".join(SCOPES),
            },
        )

    def exchange_code(self, code: str, redirect_uri: str) -> OAuthTokens:
        """Code → short-lived user token → long-lived user token → the Page token of the IG account."""
        app_id = _need(self._credential("app_id"), "Meta app id")
        app_secret = _need(self._credential("app_secret"), "Meta app secret")
        client = self._client(access_token="")
        short = client.oauth_get(
            {
                "client_id": app_id,
                "client_secret": app_secret,
                "redirect_uri": redirect_uri,
                "code": code,
            }
        )
        return self._long_lived(client, str(short.get("access_token", "")), app_id, app_secret)

    def _long_lived(
        self, client: InstagramClient, user_token: str, app_id: str, app_secret: str
    ) -> OAuthTokens:
        if not user_token:
            raise TokenRevoked("Meta returned no access token")
        long = client.oauth_get(
            {
                "grant_type": "fb_exchange_token",
                "client_id": app_id,
                "client_secret": app_secret,
                "fb_exchange_token": user_token,
            }
        )
        long_token = str(long.get("access_token", "")) or user_token
        expires_in = long.get("expires_in")
        user_expires = (
            timezone.now() + timedelta(seconds=int(expires_in))
            if isinstance(expires_in, int)
            else None
        )
        wanted_page = str(
            self.channel.credentials.get("page_id") or self.channel.config.get("page_id") or ""
        )
        for page in client.pages(long_token):
            account = page.get("instagram_business_account")
            if not isinstance(account, dict) or not account.get("id"):
                continue
            if wanted_page and str(page.get("id")) != wanted_page:
                continue
            credentials = {
                "app_id": app_id,
                "app_secret": app_secret,
                # A Page token obtained from a long-lived user token does not expire.
                "access_token": str(page.get("access_token", "")),
                "user_access_token": long_token,
                "page_id": str(page.get("id", "")),
                "ig_user_id": str(account["id"]),
                "username": str(account.get("username", "")),
            }
            if user_expires:
                credentials["user_token_expires_at"] = user_expires.isoformat()
            return OAuthTokens(
                credentials=credentials,
                expires_at=None,
                account_id=str(account["id"]),
                account_name=str(account.get("username", "")),
            )
        raise Rejected(
            _(
                "No Facebook Page with a linked Instagram professional account was granted to Cercle."
            )
        )

    def refresh_credentials(self, *, force: bool = False) -> OAuthTokens | None:
        """Re-exchange the long-lived user token a week before it expires (Page tokens themselves do not)."""
        credentials = self.channel.credentials
        raw_expiry = credentials.get("expires_at") or credentials.get("user_token_expires_at")
        if not raw_expiry:
            return None
        try:
            expiry = datetime.fromisoformat(str(raw_expiry))
        except ValueError:
            return None
        if expiry - timezone.now() > REFRESH_MARGIN:
            return None
        if expiry <= timezone.now():
            raise TokenRevoked(_("The Instagram token expired: reconnect the channel."))
        app_id = _need(self._credential("app_id"), "Meta app id")
        app_secret = _need(self._credential("app_secret"), "Meta app secret")
        user_token = str(
            credentials.get("user_access_token") or credentials.get("access_token") or ""
        )
        return self._long_lived(self._client(access_token=""), user_token, app_id, app_secret)

    def test_connection(self) -> str:
        """One cheap call: who the token acts as."""
        data = self._client().get_user(_need(self.ig_user_id, "account id"))
        return _("Connected to the Instagram account @%(username)s.") % {
            "username": str(data.get("username") or data.get("id") or "")[:100]
        }

    def setup_instructions(self) -> dict[str, str]:
        """What to paste in the Meta app's Webhooks settings (product "Instagram")."""
        return {
            "object": "instagram",
            "callback_url": f"/hooks/{self.channel.uuid}",
            "verify_token": self.channel.verify_token,
            "fields": ", ".join(WEBHOOK_FIELDS),
            "signature": _(
                "Instagram signs every delivery with the app secret (X-Hub-Signature-256)."
            ),
        }


def _need(value: str, what: str) -> str:
    if not value:
        raise Rejected(f"the Instagram channel has no {what} configured")
    return value


def _cursor_state(cursor: str | None) -> dict[str, Any]:
    """The poll cursor as {"since": float, "counts": dict}; an older numeric cursor is a `since`."""
    state: dict[str, Any] = {"since": 0.0, "counts": {}}
    if not cursor:
        return state
    try:
        data = json.loads(cursor)
    except ValueError:
        return state
    if isinstance(data, int | float) and not isinstance(data, bool):
        state["since"] = float(data)
    elif isinstance(data, dict):
        if isinstance(data.get("since"), int | float):
            state["since"] = float(data["since"])
        if isinstance(data.get("counts"), dict):
            state["counts"] = data["counts"]
    return state
