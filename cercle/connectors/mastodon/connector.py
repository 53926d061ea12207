"""Mastodon: one account on one instance; its notifications by polling, answers and moderation by the API.

Facts (auth, limits, paging, error codes) are in README.md next to this file.
Every instance is its own server with its own apps, so a channel is connected
with the "Add channel" form: config `api_base` (the instance URL, vetted by the
egress guard on every call) and credentials `access_token` (encrypted), made
in the instance's Preferences → Development.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cercle.connectors.base import (
    ActionKind,
    BadPayload,
    Capability,
    Connector,
    Delivery,
    Incoming,
    OutboundAction,
    Page,
    PostRef,
    RawEventData,
    Rejected,
    SetupField,
)

from .client import NOTIFICATION_TYPES, PAGE_SIZE, SCOPES, MastodonClient, parse_link
from .inbound import (
    envelope,
    load_list,
    parse_notifications,
    parse_poll,
    parse_search,
    status_post,
)
from .outbound import MastodonOutbound


def _load_cursor(cursor: str | None) -> dict[str, str]:
    """`{"min_id": newest notification id read, "me": the brand's account id}`."""
    if not cursor:
        return {}
    if cursor.isdigit():
        return {"min_id": cursor}
    try:
        data = json.loads(cursor)
    except json.JSONDecodeError as exc:
        raise BadPayload(f"unreadable Mastodon cursor {cursor[:60]!r}") from exc
    if not isinstance(data, dict):
        raise BadPayload("the Mastodon cursor must be an object")
    return {k: str(v) for k, v in data.items() if isinstance(v, str | int) and str(v)}


def _newest(ids: list[str]) -> str:
    numeric = [i for i in ids if i.isdigit()]
    return max(numeric, key=int) if numeric else ""


class MastodonConnector(Connector):
    """One Mastodon account: notifications polled with `min_id`, statuses answered with an idempotency key."""

    platform = "mastodon"
    label = "Mastodon"
    capabilities = frozenset(
        {
            Capability.POLL,
            Capability.REPLY,
            Capability.SEND_PRIVATE,
            Capability.DELETE,
            Capability.BAN,
            Capability.LIKE,
            Capability.SEARCH,
            Capability.POST_DETAILS,
        }
    )
    post_details_batch = 1  # GET /api/v1/statuses/:id
    # Mastodon's default `max_characters` per status (instances may allow more).
    max_reply_length = 500
    default_poll_seconds = 60
    # A private mention's author can be blocked (and reported); a favourite or a boost's too.
    moderation_by_kind = {
        "message": frozenset({ActionKind.BAN}),
        "share": frozenset({ActionKind.BAN}),
    }
    setup_fields = (
        SetupField(
            "api_base",
            gettext_lazy("Instance URL"),
            url=True,
            help_text=gettext_lazy(
                "The address of the Mastodon server the account lives on, e.g. https://mastodon.social."
            ),
        ),
        SetupField(
            "access_token",
            gettext_lazy("Access token"),
            secret=True,
            help_text=gettext_lazy(
                "On the instance: Preferences → Development → New application, with the scopes "
                "read, write:statuses, write:favourites, write:blocks and write:reports; "
                "paste “Your access token”."
            ),
        ),
    )

    # --- settings ------------------------------------------------------------------

    @property
    def instance(self) -> str:
        return str(self.channel.config.get("api_base", "")).rstrip("/")

    def _client(self) -> MastodonClient:
        return MastodonClient(
            self.http,
            instance=self.instance,
            access_token=str(self.channel.credentials.get("access_token", "")),
            channel=self.channel if self.channel.pk else None,
        )

    def _brand_id(self, client: MastodonClient) -> str:
        """The brand's account id: from the config, the cursor, else asked of the instance."""
        known = str(self.channel.config.get("account_id", "") or "")
        if known:
            return known
        remembered = _load_cursor(self.channel.cursor or None).get("me", "")
        return remembered or str(client.me()["id"])

    # --- inbound -----------------------------------------------------------------

    def parse(self, raw: RawEventData) -> list[Incoming]:
        return parse_poll(raw.body)

    def poll(self, cursor: str | None) -> Page:
        """The notifications just newer than the cursor, oldest page first (`min_id`).

        Mastodon answers `min_id` with the page right after it and names, in its
        `Link` header, the `min_id` of the next newer page (`rel="prev"`); a full
        page means more are waiting. The first poll reads only the newest page.
        """
        state = _load_cursor(cursor)
        client = self._client()
        me = state.get("me") or self._brand_id(client)
        min_id = state.get("min_id", "")
        response = client.notifications(min_id=min_id)
        notifications = load_list(response.content)
        items = parse_notifications(notifications, me)
        prev = parse_link(response.headers.get("link", "")).get("prev", "")
        linked = parse_qs(urlsplit(prev).query).get("min_id", [""])[0] if prev else ""
        seen = [str(n.get("id", "")) for n in notifications if isinstance(n, dict)]
        newest = _newest([linked, *seen]) or min_id
        return Page(
            items=items,
            cursor=json.dumps({"me": me, "min_id": newest}, sort_keys=True),
            raw=envelope(me, notifications),
            has_more=bool(min_id) and len(notifications) >= PAGE_SIZE,
        )

    def search(self, query: str, since: datetime | None = None) -> list[Incoming]:
        """Public statuses of the instance matching `query` (`GET /api/v2/search`)."""
        return parse_search(self._client().search_statuses(query), since)

    def post_details(self, external_ids: list[str]) -> list[PostRef]:
        """`GET /api/v1/statuses/:id`, one status per call: the brand's statuses only.

        A status the instance no longer has (404, deleted) is left out.
        """
        client = self._client()
        brand = self._brand_id(client)
        refs: list[PostRef] = []
        for status_id in external_ids:
            try:
                status = client.status(status_id)
            except Rejected:
                continue
            ref = status_post(status, status_id, brand)
            if ref is not None:
                refs.append(ref)
        return refs

    # --- outbound ----------------------------------------------------------------

    def _outbound(self) -> MastodonOutbound:
        client = self._client()
        report = self.channel.config.get("report_on_ban", True) is not False
        return MastodonOutbound(client, self._brand_id(client), report_on_ban=report)

    def perform(self, action: OutboundAction) -> Delivery:
        return self._outbound().perform(action)

    def reconcile(self, action: OutboundAction) -> Delivery | None:
        return self._outbound().reconcile(action)

    # --- connection ------------------------------------------------------------

    def test_connection(self) -> str:
        me = self._client().me()
        return _("Connected to %(instance)s as @%(acct)s.") % {
            "instance": self.instance,
            "acct": str(me.get("acct", "")),
        }

    def setup_instructions(self) -> dict[str, Any]:
        return {
            _("Application"): _(
                "Create an application in the instance's Preferences → Development; "
                "Cercle polls the account's notifications, nothing to register."
            ),
            _("Scopes"): " ".join(SCOPES),
            _("Notifications read"): ", ".join(NOTIFICATION_TYPES),
        }
