"""Google Business Profile: one location's reviews and star ratings, polled; the owner's reply upserted.

Facts (auth, limits, paging, errors) are in README.md next to this file.
Connected through OAuth with the operator's Google app (`CERCLE_GOOGLE_BUSINESS_CLIENT_ID`
/ `_SECRET`, scope `business.manage`); the exchange finds the account's first
location (`accounts/{a}/locations/{l}`), which becomes the channel's account.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _

from cercle.connectors.base import (
    ActionKind,
    BadPayload,
    Capability,
    Connector,
    Delivery,
    Incoming,
    OAuthTokens,
    OutboundAction,
    Page,
    RawEventData,
    Rejected,
)
from cercle.connectors.google.oauth import GoogleOAuth, expires_soon, expiry

from .client import SCOPE, GoogleBusinessClient
from .inbound import envelope, load, parse_poll, parse_review, parse_time, reviews_of
from .outbound import GoogleBusinessOutbound


def _load_cursor(cursor: str | None) -> dict[str, str]:
    """`{"since": newest updateTime swept, "pt": next page token mid-sweep, "top": newest seen in it}`."""
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except json.JSONDecodeError as exc:
        raise BadPayload(f"unreadable Google reviews cursor {cursor[:60]!r}") from exc
    if not isinstance(data, dict):
        raise BadPayload("the Google reviews cursor must be an object")
    return {k: str(v) for k, v in data.items() if isinstance(v, str) and v}


class GoogleBusinessConnector(Connector):
    """One Google Business Profile location: reviews polled by update time, replies upserted."""

    platform = "google_business"
    label = "Google Business Profile"
    capabilities = frozenset(
        {Capability.POLL, Capability.OAUTH, Capability.REPLY, Capability.DELETE}
    )
    # ReviewReply.comment: at most 4096 bytes.
    max_reply_length = 4096
    default_poll_seconds = 300
    # Reviews cannot be deleted by the business; its reply can.
    moderation_by_kind = {
        "review": frozenset(),
        "reply": frozenset({ActionKind.DELETE}),
    }

    # --- settings --------------------------------------------------------------------

    @property
    def location(self) -> str:
        return str(
            self.channel.config.get("location")
            or self.channel.credentials.get("location")
            or self.channel.external_id
            or ""
        )

    def _client(self, access_token: str = "") -> GoogleBusinessClient:
        return GoogleBusinessClient(
            self.http,
            access_token=access_token or str(self.channel.credentials.get("access_token", "")),
            api_base=str(self.channel.config.get("api_base", "") or ""),
            channel=self.channel if self.channel.pk else None,
        )

    # --- inbound ----------------------------------------------------------------------

    def parse(self, raw: RawEventData) -> list[Incoming]:
        return parse_poll(raw.body)

    def poll(self, cursor: str | None) -> Page:
        """Reviews updated since the last sweep, newest first, page by page (`pageToken`).

        A sweep reads pages until it meets a review not newer than `since`; the
        cursor moves to the newest update time only when the sweep is over, so a
        crash mid-sweep reads again rather than losing reviews. The first sweep
        reads every page (a location's whole history of reviews).
        """
        location = self.location
        if not location:
            raise Rejected("the channel has no Google Business location")
        state = _load_cursor(cursor)
        since = parse_time(state.get("since"))
        page = load(self._client().reviews_page(location, state.get("pt", "")))
        reviews = reviews_of(page)
        fresh: list[Any] = []
        top = parse_time(state.get("top"))
        reached_known = False
        for review in reviews:
            item = parse_review(review)
            updated = item.changed_at
            if since is not None and (updated is None or updated <= since):
                reached_known = True
                continue
            fresh.append(review)
            if updated is not None and (top is None or updated > top):
                top = updated
        next_token = page.get("nextPageToken") if isinstance(page, dict) else None
        if isinstance(next_token, str) and next_token and not reached_known:
            new_state = {"pt": next_token}
            if since is not None:
                new_state["since"] = since.isoformat()
            if top is not None:
                new_state["top"] = top.isoformat()
            has_more = True
        else:
            newest = max((t for t in (since, top) if t is not None), default=None)
            new_state = {"since": newest.isoformat()} if newest else {}
            has_more = False
        return Page(
            items=[parse_review(r) for r in fresh],
            cursor=json.dumps(new_state, sort_keys=True) if new_state else None,
            raw=envelope(location, fresh),
            has_more=has_more,
        )

    # --- outbound ---------------------------------------------------------------------

    def perform(self, action: OutboundAction) -> Delivery:
        return GoogleBusinessOutbound(self._client(), self.location).perform(action)

    def reconcile(self, action: OutboundAction) -> Delivery | None:
        return GoogleBusinessOutbound(self._client(), self.location).reconcile(action)

    # --- connection -------------------------------------------------------------------

    def _oauth(self) -> GoogleOAuth:
        return GoogleOAuth(self.channel, self.http, self.platform, SCOPE)

    def authorize_url(self, state: str, redirect_uri: str) -> str:
        return self._oauth().consent_url(state, redirect_uri)

    def exchange_code(self, code: str, redirect_uri: str) -> OAuthTokens:
        """Trade the code for tokens, then find the account's first location."""
        data = self._oauth().exchange(code, redirect_uri)
        access = str(data["access_token"])
        client = self._client(access)
        accounts_base = str(self.channel.config.get("accounts_api_base", "") or "")
        info_base = str(self.channel.config.get("information_api_base", "") or "")
        for account in client.accounts(accounts_base):
            account_name = str(account.get("name", ""))
            for location in client.locations(account_name, info_base) if account_name else []:
                # Business Information names a location `locations/{id}`; reviews want the account too.
                location_id = str(location.get("name", "")).rsplit("/", 1)[-1]
                if not location_id:
                    continue
                full = f"{account_name}/locations/{location_id}"
                credentials = {"access_token": access, "location": full}
                if data.get("refresh_token"):
                    credentials["refresh_token"] = str(data["refresh_token"])
                return OAuthTokens(
                    credentials=credentials,
                    expires_at=expiry(data),
                    account_id=full,
                    account_name=str(location.get("title", "")) or full,
                )
        raise Rejected("this Google account manages no Business Profile location")

    def refresh_credentials(self, *, force: bool = False) -> OAuthTokens | None:
        credentials = self.channel.credentials
        refresh = str(credentials.get("refresh_token", ""))
        if not refresh or not (force or expires_soon(credentials)):
            return None
        data = self._oauth().refresh(refresh)
        return OAuthTokens(
            credentials={"access_token": str(data["access_token"])}, expires_at=expiry(data)
        )

    def test_connection(self) -> str:
        page = load(self._client().reviews_page(self.location))
        total = page.get("totalReviewCount") if isinstance(page, dict) else None
        average = page.get("averageRating") if isinstance(page, dict) else None
        return _("%(count)s reviews, average rating %(average)s.") % {
            "count": total if isinstance(total, int) else 0,
            "average": average if isinstance(average, int | float) else "–",
        }

    def setup_instructions(self) -> dict[str, str]:
        return {
            _("Application"): _(
                "Enable the Google Business Profile APIs in your Google Cloud project, create an "
                "OAuth client with this server's callback URL, then set "
                "CERCLE_GOOGLE_BUSINESS_CLIENT_ID and CERCLE_GOOGLE_BUSINESS_CLIENT_SECRET."
            ),
            _("Location"): self.location,
        }
