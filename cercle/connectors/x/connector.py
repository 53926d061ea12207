"""The X connector: Account Activity webhooks, API v2 polling as catch-up, replies, DMs and moderation.

See README.md in this package for the endpoints, auth, signature scheme,
limits and what each X error means for the channel.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from cercle.connectors.base import (
    BadPayload,
    BadSignature,
    Capability,
    Connector,
    Delivery,
    Incoming,
    OAuthTokens,
    OutboundAction,
    Page,
    PermissionDenied,
    PostRef,
    RawEventData,
    Rejected,
    SearchTerms,
    or_queries,
)
from cercle.core import clock

from . import outbound
from .client import AUTHORIZE_URL, MAX_LOOKUP_IDS, SCOPES, XClient, token_request
from .inbound import (
    load,
    looked_up_posts,
    newest_id,
    parse_body,
    parse_search,
    parse_v2_dm_events,
    parse_v2_tweets,
)

SIGNATURE_HEADER = "x-twitter-webhooks-signature"
# Recent search: 512 characters of query (Basic and Pro plans), the last 7 days, 100 per page.
MAX_QUERY_LENGTH = 512
SEARCH_WINDOW = timedelta(days=7) - timedelta(minutes=5)
MAX_SEARCH_PAGES = 5
NO_RETWEETS = "-is:retweet"  # a retweet repeats a post already found
# https://docs.x.com/resources/fundamentals/x-ids: milliseconds since this epoch, shifted by 22 bits.
SNOWFLAKE_EPOCH_MS = 1288834974657


def snowflake_at(when: datetime) -> str:
    """The `since_id` that lets through every post created at or after `when`."""
    milliseconds = int(when.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS
    return str(max(0, (milliseconds << 22) - 1))


# Refresh an access token (2 hours of life) when less than this is left.
REFRESH_MARGIN = timedelta(minutes=5)


def signature(secret: str, payload: bytes) -> str:
    """`sha256=` + base64 HMAC-SHA256 of `payload` with the app's consumer secret (webhooks and CRC)."""
    digest = hmac.new(secret.encode(), payload, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


class XConnector(Connector):
    platform = "x"
    label = "X"
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
            Capability.SEARCH,
            Capability.POST_DETAILS,
        }
    )
    max_reply_length = 280
    post_details_batch = MAX_LOOKUP_IDS  # GET /2/tweets?ids=… takes up to 100 ids

    # --- who we are ------------------------------------------------------------------

    @property
    def brand_id(self) -> str:
        """The brand's X user id (the channel's account)."""
        return str(self.channel.external_id or self.channel.credentials.get("user_id", ""))

    def _consumer_secret(self) -> str:
        """The app's consumer secret (API key secret): X signs webhooks and CRC answers with it."""
        from cercle.connectors.oauth import app_settings

        return str(
            self.channel.credentials.get("consumer_secret")
            or app_settings(self.platform).get("consumer_secret")
            or os.environ.get("CERCLE_X_CONSUMER_SECRET", "")
        )

    def _api_base(self) -> str:
        return str(self.channel.config.get("api_base", "") or "")

    # --- inbound ------------------------------------------------------------------------

    def verify(self, request: HttpRequest) -> HttpResponse | None:
        """Answer X's CRC challenge (GET), or check the signature of a delivery (POST)."""
        secret = self._consumer_secret()
        if not secret:
            raise BadSignature("no consumer secret configured for this X channel")
        if request.method == "GET":
            token = request.GET.get("crc_token", "")
            if not token:
                raise BadSignature("GET without crc_token")
            return JsonResponse({"response_token": signature(secret, token.encode())})
        given = request.headers.get(SIGNATURE_HEADER, "")
        expected = signature(secret, request.body)
        if not given or not hmac.compare_digest(expected.encode(), given.encode()):
            raise BadSignature(f"bad {SIGNATURE_HEADER}")
        return None

    def parse(self, raw: RawEventData) -> list[Incoming]:
        return parse_body(raw.body, self.brand_id)

    def poll(self, cursor: str | None) -> Page:
        """Mentions since the last seen id (draining older pages first), then the latest DMs.

        The cursor is JSON: {"m": since_id, "mp": next page while draining, "mn":
        newest id of the drain, "d": newest DM event id seen}.
        """
        state = _load_cursor(cursor)
        brand = self.brand_id
        if not brand:
            raise Rejected("the X channel has no account id")
        client = self._client()
        since, page_token = state.get("m", ""), state.get("mp", "")
        mentions_raw = client.mentions(brand, since_id=since, pagination_token=page_token)
        mentions = load(mentions_raw)
        items = parse_v2_tweets(mentions, brand)
        meta_value = mentions.get("meta")
        meta: dict[str, Any] = meta_value if isinstance(meta_value, dict) else {}
        newest = newest_id([str(meta.get("newest_id", "") or ""), state.get("mn", "")])
        next_token = str(meta.get("next_token", "") or "")
        new_state: dict[str, str] = {"d": state.get("d", "")}
        # Without a since_id (first poll) we start from now: X only keeps 800 mentions anyway.
        if since and next_token:
            new_state.update(m=since, mp=next_token, mn=newest)
            has_more = True
        else:
            new_state["m"] = newest or since
            has_more = False
        dm_answer: dict[str, Any] | None = None
        if not has_more and self.channel.config.get("poll_dms", True):
            dm_answer = load(client.dm_events())
            dms = parse_v2_dm_events(dm_answer, brand, after_id=state.get("d", ""))
            items += dms
            new_state["d"] = newest_id([new_state["d"], *(i.external_id for i in dms)])
        raw = json.dumps(
            {"x_poll": {"mentions": mentions, "dm_events": dm_answer}}, ensure_ascii=False
        )
        return Page(
            items=items,
            cursor=json.dumps(new_state, sort_keys=True),
            raw=raw.encode(),
            has_more=has_more,
        )

    # --- listening ----------------------------------------------------------------------

    def search_queries(self, terms: SearchTerms) -> list[str]:
        """One query per search: `a "b c" (x OR y) -n lang:fr -is:retweet` (split only past 512 characters)."""
        return [
            f"{query} {NO_RETWEETS}"
            for query in or_queries(
                terms,
                max_length=MAX_QUERY_LENGTH - len(NO_RETWEETS) - 1,
                exclude=lambda term: f"-{term}",
                language=lambda code: f"lang:{code}",
            )
        ]

    def search(self, query: str, since: datetime | None = None) -> list[Incoming]:
        """Recent search (`GET /2/tweets/search/recent`): posts of the last 7 days, newest first.

        `since` becomes a `since_id` (X ids are Snowflakes: the time is in their
        high bits), so only newer posts are read; `next_token` pages are followed
        up to MAX_SEARCH_PAGES. A plan without search raises `NotAvailable`.
        """
        client = self._client()
        since_id = snowflake_at(max(since, clock.now() - SEARCH_WINDOW)) if since else ""
        items: list[Incoming] = []
        token = ""
        for _page in range(MAX_SEARCH_PAGES):
            answer = client.search_recent(query, since_id=since_id, next_token=token)
            items += parse_search(answer, self.brand_id, since)
            meta = answer.get("meta")
            token = str(meta.get("next_token", "") or "") if isinstance(meta, dict) else ""
            if not token:
                break
        return items

    def post_details(self, external_ids: list[str]) -> list[PostRef]:
        """`GET /2/tweets?ids=…` (up to 100): the brand's posts' text, time and link."""
        answer = self._client().lookup_tweets(external_ids[:MAX_LOOKUP_IDS])
        return looked_up_posts(answer, set(external_ids), self.brand_id)

    # --- outbound -----------------------------------------------------------------------

    def perform(self, action: OutboundAction) -> Delivery:
        return outbound.perform(self._client(), self._require_brand(), action)

    def reconcile(self, action: OutboundAction) -> Delivery | None:
        return outbound.reconcile(self._client(), self._require_brand(), action)

    def _require_brand(self) -> str:
        if not self.brand_id:
            raise Rejected("the X channel has no account id")
        return self.brand_id

    def _client(self) -> XClient:
        """A client with the stored access token, counting the channel's rate-limit windows.

        The token is refreshed before this connector is used, by the pipeline
        under the channel's row lock (X rotates refresh tokens: one spent twice
        revokes the channel), never here.
        """
        credentials = self.channel.credentials
        return XClient(
            self.http,
            api_base=self._api_base(),
            access_token=str(credentials.get("access_token", "")),
            channel=self.channel,
        )

    # --- connection -------------------------------------------------------------------------

    def _pkce_verifier(self, redirect_uri: str) -> str:
        """The PKCE code verifier, derived so the callback can rebuild it without storage.

        `exchange_code` does not receive the `state`, so the verifier is an HMAC
        of the workspace and redirect URI under the server's SECRET_KEY: secret,
        and the same at the consent step and the callback.
        """
        message = f"cercle-x-pkce:{self.channel.workspace_id}:{redirect_uri}".encode()
        digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def authorize_url(self, state: str, redirect_uri: str) -> str:
        """X's consent page (OAuth 2.0 authorization code with PKCE, S256)."""
        client_id = str(self.channel.credentials.get("client_id", ""))
        if not client_id:
            raise Rejected("no X client id configured")
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(self._pkce_verifier(redirect_uri).encode()).digest()
        ).rstrip(b"=")
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(SCOPES),
            "state": state,
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        }
        base = str(self.channel.config.get("authorize_url", "") or AUTHORIZE_URL)
        return f"{base}?{urlencode(params)}"

    def exchange_code(self, code: str, redirect_uri: str) -> OAuthTokens:
        """Trade the code for an access token (2 h) and a refresh token, and name the account."""
        answer = self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": self._pkce_verifier(redirect_uri),
            }
        )
        tokens = _tokens(answer, {})
        me = XClient(
            self.http, api_base=self._api_base(), access_token=tokens.credentials["access_token"]
        ).me()
        user_id = str(me.get("id", ""))
        return OAuthTokens(
            credentials={**tokens.credentials, "user_id": user_id},
            expires_at=tokens.expires_at,
            account_id=user_id,
            account_name="@" + str(me.get("username", ""))
            if me.get("username")
            else str(me.get("name", "")),
        )

    def refresh_credentials(self, *, force: bool = False) -> OAuthTokens | None:
        """A new token pair when the access token expires within REFRESH_MARGIN (or `force`); else None.

        X rotates the refresh token on each use: the caller (the pipeline, under
        the row lock) must keep the new pair before anything else happens.
        """
        credentials = self.channel.credentials
        refresh = str(credentials.get("refresh_token", ""))
        expires_at = _when(credentials.get("expires_at"))
        if not refresh:
            return None
        if not force and (expires_at is None or expires_at - timezone.now() > REFRESH_MARGIN):
            return None
        answer = self._token({"grant_type": "refresh_token", "refresh_token": refresh})
        return _tokens(answer, {"refresh_token": refresh})

    def _token(self, form: dict[str, str]) -> dict[str, Any]:
        credentials = self.channel.credentials
        client_id = str(credentials.get("client_id", ""))
        if not client_id:
            raise Rejected("no X client id configured")
        return token_request(
            self.http,
            api_base=self._api_base(),
            client_id=client_id,
            client_secret=str(credentials.get("client_secret", "")),
            form=form,
        )

    def test_connection(self) -> str:
        me = self._client().me()
        if self.channel.external_id and str(me.get("id")) != self.channel.external_id:
            raise PermissionDenied("the token belongs to another X account")
        return f"@{me.get('username', '')} ({me.get('name', '')})"

    def setup_instructions(self) -> dict[str, str]:
        return {
            _("Webhook (Account Activity API)"): _(
                "Register this channel's webhook URL for your X app's Account Activity environment and "
                "subscribe the account; X's CRC check is answered automatically with the app's consumer secret."
            ),
            _("Consumer secret"): _(
                "Set CERCLE_X_CONSUMER_SECRET (API key secret of the app) on the server."
            )
            if not self._consumer_secret()
            else _("configured"),
            _("Scopes"): " ".join(SCOPES),
            _("Polling"): _(
                "Mentions and DMs are also polled as a catch-up for missed deliveries."
            ),
        }


# --- helpers ---------------------------------------------------------------------------------


def _load_cursor(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    if cursor.isdigit():  # a bare since_id
        return {"m": cursor}
    try:
        data = json.loads(cursor)
    except json.JSONDecodeError as exc:
        raise BadPayload(f"unreadable X cursor {cursor[:60]!r}") from exc
    if not isinstance(data, dict):
        raise BadPayload("the X cursor must be an object")
    return {k: str(v) for k, v in data.items() if isinstance(v, str | int) and str(v)}


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _tokens(answer: dict[str, Any], fallback: dict[str, str]) -> OAuthTokens:
    credentials: dict[str, Any] = {"access_token": str(answer["access_token"])}
    refresh = answer.get("refresh_token") or fallback.get("refresh_token")
    if refresh:
        credentials["refresh_token"] = str(refresh)
    if answer.get("scope"):
        credentials["scope"] = str(answer["scope"])
    expires_in = answer.get("expires_in")
    expires_at = (
        timezone.now() + timedelta(seconds=int(expires_in))
        if isinstance(expires_in, int | str) and str(expires_in).isdigit()
        else None
    )
    return OAuthTokens(credentials=credentials, expires_at=expires_at)
