"""Reddit: the brand account's inbox (replies, mentions, messages) and its subreddits' comments.

Facts (auth, User-Agent, limits, error codes) are in README.md next to this file.
Connected through OAuth with the operator's Reddit app ("web app",
`CERCLE_REDDIT_CLIENT_ID` / `_SECRET`, permanent refresh token); a "script"
app's own account (credentials `username` and `password`) is refreshed with the
password grant instead.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone
from django.utils.translation import gettext as _

from cercle.connectors.base import (
    BadPayload,
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
    SearchTerms,
    or_queries,
)

from .client import (
    AUTHORIZE,
    DEFAULT_AUTH_BASE,
    MAX_INFO_IDS,
    PAGE_SIZE,
    SCOPES,
    RedditClient,
    token_request,
    user_agent,
)
from .inbound import (
    children,
    envelope,
    info_posts,
    is_post_name,
    load,
    newest_name,
    parse_listings,
    parse_poll,
    parse_search,
)
from .outbound import RedditOutbound

# Reddit access tokens live one hour: refresh when less than this is left.
REFRESH_MARGIN = timedelta(minutes=5)
# "mod": Reddit's listing of every subreddit the account moderates.
DEFAULT_SUBREDDIT = "mod"
# `GET /search`: `q` is "a string no longer than 512 characters" (https://www.reddit.com/dev/api#GET_search);
# it takes AND, OR, NOT and parentheses (https://support.reddithelp.com/hc/en-us/articles/19696541895316).
MAX_QUERY_LENGTH = 512


def _load_cursor(cursor: str | None) -> dict[str, str]:
    """`{"i": newest inbox fullname, "c": newest subreddit comment fullname}`."""
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except json.JSONDecodeError as exc:
        raise BadPayload(f"unreadable Reddit cursor {cursor[:60]!r}") from exc
    if not isinstance(data, dict):
        raise BadPayload("the Reddit cursor must be an object")
    return {k: str(v) for k, v in data.items() if isinstance(v, str) and v}


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


class RedditConnector(Connector):
    """One Reddit account: its inbox and the comments of the subreddits it moderates, polled."""

    platform = "reddit"
    label = "Reddit"
    capabilities = frozenset(
        {
            Capability.POLL,
            Capability.OAUTH,
            Capability.REPLY,
            Capability.SEND_PRIVATE,
            Capability.HIDE,
            Capability.UNHIDE,
            Capability.BAN,
            Capability.SEARCH,
            Capability.POST_DETAILS,
        }
    )
    # Reddit's limit on a comment's body.
    max_reply_length = 10_000
    post_details_batch = MAX_INFO_IDS  # /api/info takes up to 100 fullnames
    default_poll_seconds = 60

    # --- settings --------------------------------------------------------------------

    @property
    def username(self) -> str:
        return str(self.channel.credentials.get("username", "") or self.channel.external_id or "")

    @property
    def subreddit(self) -> str:
        """The subreddit whose comments are read: config `subreddit`, else all those moderated."""
        return str(self.channel.config.get("subreddit", "") or DEFAULT_SUBREDDIT)

    def _user_agent(self) -> str:
        return user_agent(str(self.channel.credentials.get("client_id", "")), self.username)

    def _client(self) -> RedditClient:
        return RedditClient(
            self.http,
            api_base=str(self.channel.config.get("api_base", "") or ""),
            access_token=str(self.channel.credentials.get("access_token", "")),
            user_agent=self._user_agent(),
            channel=self.channel if self.channel.pk else None,
        )

    # --- inbound ----------------------------------------------------------------------

    def parse(self, raw: RawEventData) -> list[Incoming]:
        return parse_poll(raw.body)

    def search_queries(self, terms: SearchTerms) -> list[str]:
        """One query per search in Reddit's syntax: `a "b c" (x OR y) NOT n` (split past 512 characters)."""
        return or_queries(terms, max_length=MAX_QUERY_LENGTH, exclude=lambda term: f"NOT {term}")

    def search(self, query: str, since: datetime | None = None) -> list[Incoming]:
        """The newest public posts of Reddit matching `query` (`GET /search?sort=new`)."""
        return parse_search(self._client().search(query), since)

    def poll(self, cursor: str | None) -> Page:
        """The inbox and the subreddit's comments newer than the cursor (`before=<fullname>`).

        Reddit lists newest first and answers `before=<fullname>` with the page
        just newer than it: a full page means more are waiting. The first poll
        reads the newest page of each, no further history.
        """
        if not self.username:
            raise Rejected("the Reddit channel has no account name")
        state = _load_cursor(cursor)
        client = self._client()
        inbox = load(client.inbox(state.get("i", "")), "inbox")
        comments: Any = None
        if self.channel.config.get("read_subreddit", True) is not False:
            comments = load(
                client.subreddit_comments(self.subreddit, state.get("c", "")), "comments"
            )
        items = parse_listings(inbox, comments, self.username)
        new_state = {
            "i": newest_name(inbox, "inbox") or state.get("i", ""),
            "c": (newest_name(comments, "comments") if comments is not None else "")
            or state.get("c", ""),
        }
        full = len(children(inbox, "inbox")) >= PAGE_SIZE or (
            comments is not None and len(children(comments, "comments")) >= PAGE_SIZE
        )
        return Page(
            items=items,
            cursor=json.dumps({k: v for k, v in new_state.items() if v}, sort_keys=True),
            raw=envelope(self.username, inbox, comments),
            has_more=bool(cursor) and full,
        )

    def post_details(self, external_ids: list[str]) -> list[PostRef]:
        """`/api/info?id=t3_…` (up to 100 posts per call): the brand's submissions' title,
        link and `created_utc`."""
        names = [i for i in external_ids if is_post_name(i)][:MAX_INFO_IDS]
        if not names:
            return []
        return info_posts(self._client().infos(names), set(names), self.username)

    # --- outbound ---------------------------------------------------------------------

    def perform(self, action: OutboundAction) -> Delivery:
        return RedditOutbound(self._client(), self.username).perform(action)

    def reconcile(self, action: OutboundAction) -> Delivery | None:
        return RedditOutbound(self._client(), self.username).reconcile(action)

    # --- connection -------------------------------------------------------------------

    def _auth_base(self) -> str:
        return str(self.channel.config.get("auth_base", "") or DEFAULT_AUTH_BASE).rstrip("/")

    def authorize_url(self, state: str, redirect_uri: str) -> str:
        """Reddit's consent page; `duration=permanent` gives a refresh token."""
        client_id = str(self.channel.credentials.get("client_id", ""))
        if not client_id:
            raise Rejected("no Reddit client id configured")
        params = {
            "client_id": client_id,
            "response_type": "code",
            "state": state,
            "redirect_uri": redirect_uri,
            "duration": "permanent",
            "scope": " ".join(SCOPES),
        }
        return f"{self._auth_base()}{AUTHORIZE}?{urlencode(params)}"

    def exchange_code(self, code: str, redirect_uri: str) -> OAuthTokens:
        answer = self._grant(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        )
        tokens = _tokens(answer, {})
        me = RedditClient(
            self.http,
            api_base=str(self.channel.config.get("api_base", "") or ""),
            access_token=tokens.credentials["access_token"],
            user_agent=self._user_agent(),
        ).me()
        name = str(me["name"])
        return OAuthTokens(
            credentials={**tokens.credentials, "username": name},
            expires_at=tokens.expires_at,
            account_id=name,
            account_name=f"u/{name}",
        )

    def refresh_credentials(self, *, force: bool = False) -> OAuthTokens | None:
        """A new access token when it expires within REFRESH_MARGIN (or `force`).

        A web app spends its (permanent) refresh token; a script app asks again
        with its account's password.
        """
        credentials = self.channel.credentials
        expires_at = _when(credentials.get("expires_at"))
        if not force and expires_at is not None and expires_at - timezone.now() > REFRESH_MARGIN:
            return None
        refresh = str(credentials.get("refresh_token", ""))
        password = str(credentials.get("password", ""))
        if refresh:
            form = {"grant_type": "refresh_token", "refresh_token": refresh}
        elif password and self.username:
            form = {"grant_type": "password", "username": self.username, "password": password}
        else:
            return None
        return _tokens(self._grant(form), {"refresh_token": refresh} if refresh else {})

    def _grant(self, form: dict[str, str]) -> dict[str, Any]:
        credentials = self.channel.credentials
        client_id = str(credentials.get("client_id", ""))
        if not client_id:
            raise Rejected("no Reddit client id configured")
        return token_request(
            self.http,
            auth_base=self._auth_base(),
            client_id=client_id,
            client_secret=str(credentials.get("client_secret", "")),
            user_agent=self._user_agent(),
            form=form,
        )

    def test_connection(self) -> str:
        me = self._client().me()
        return _("Connected as u/%(name)s.") % {"name": str(me.get("name", ""))}

    def setup_instructions(self) -> dict[str, str]:
        return {
            _("Application"): _(
                "Create a “web app” at reddit.com/prefs/apps with this server's OAuth callback URL, "
                "then set CERCLE_REDDIT_CLIENT_ID and CERCLE_REDDIT_CLIENT_SECRET."
            ),
            _("Scopes"): " ".join(SCOPES),
            _("Subreddit"): self.subreddit,
        }


def _tokens(answer: dict[str, Any], fallback: dict[str, str]) -> OAuthTokens:
    credentials: dict[str, Any] = {"access_token": str(answer["access_token"])}
    refresh = answer.get("refresh_token") or fallback.get("refresh_token")
    if refresh:
        credentials["refresh_token"] = str(refresh)
    expires_in = answer.get("expires_in")
    expires_at = (
        timezone.now() + timedelta(seconds=int(expires_in))
        if isinstance(expires_in, int | str) and str(expires_in).isdigit()
        else None
    )
    return OAuthTokens(credentials=credentials, expires_at=expires_at)
