"""Discourse: a forum's posts, topics and flags by webhook, answers and moderation by its REST API.

Facts (auth, signature, limits, error codes) are in README.md next to this file.
Each forum is its own instance, connected with the "Add channel" form:
config `api_base` (the forum URL) and `api_username` (the staff account Cercle
acts as); credentials `api_key` and `webhook_secret` (encrypted).
"""

from __future__ import annotations

import hashlib
import hmac

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cercle.connectors.base import (
    BadSignature,
    Capability,
    Connector,
    Delivery,
    Incoming,
    OutboundAction,
    Page,
    PermissionDenied,
    PostRef,
    RawEventData,
    Rejected,
    SetupField,
)

from .client import DiscourseClient
from .inbound import is_ping, parse_latest, parse_webhook, post_ids, topic_post
from .outbound import DiscourseOutbound

SIGNATURE_HEADER = "X-Discourse-Event-Signature"
EVENT_ID_HEADER = "X-Discourse-Event-Id"
# What to tick in the forum's webhook settings (Admin → API → Webhooks).
WEBHOOK_EVENTS = ("Post Event", "Topic Event", "Flag Event")


def sign(body: bytes, secret: str) -> str:
    """The `X-Discourse-Event-Signature` value Discourse sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class DiscourseConnector(Connector):
    """One Discourse forum: webhooks first, its latest posts as catch-up, the API for every action."""

    platform = "discourse"
    label = "Discourse"
    capabilities = frozenset(
        {
            Capability.WEBHOOK,
            Capability.POLL,
            Capability.REPLY,
            Capability.SEND_PRIVATE,
            Capability.HIDE,
            Capability.UNHIDE,
            Capability.DELETE,
            Capability.BAN,
            Capability.LIKE,
            Capability.POST_DETAILS,
        }
    )
    post_details_batch = 1  # GET /t/{id}.json
    # Discourse's default `max_post_length`.
    max_reply_length = 32_000
    setup_fields = (
        SetupField(
            "api_base",
            gettext_lazy("Forum URL"),
            url=True,
            help_text=gettext_lazy(
                "The address of your Discourse forum, e.g. https://forum.example.com."
            ),
        ),
        SetupField(
            "api_username",
            gettext_lazy("API username"),
            help_text=gettext_lazy(
                "The staff account Cercle answers and moderates as (the API key's user)."
            ),
        ),
        SetupField(
            "api_key",
            gettext_lazy("API key"),
            secret=True,
            help_text=gettext_lazy("Admin → API → New API key, for that user, with global scope."),
        ),
        SetupField(
            "webhook_secret",
            gettext_lazy("Webhook secret"),
            secret=True,
            help_text=gettext_lazy(
                "The secret typed in the forum's webhook (Admin → API → Webhooks); "
                "Cercle refuses deliveries not signed with it."
            ),
        ),
    )

    # --- settings ------------------------------------------------------------------

    @property
    def site(self) -> str:
        return str(self.channel.config.get("api_base", "")).rstrip("/")

    @property
    def api_username(self) -> str:
        return str(self.channel.config.get("api_username", "")) or "system"

    def _client(self) -> DiscourseClient:
        credentials = self.channel.credentials
        return DiscourseClient(
            self.http,
            site=self.site,
            api_key=str(credentials.get("api_key", "")),
            api_username=self.api_username,
        )

    # --- inbound -----------------------------------------------------------------

    def verify(self, request: HttpRequest) -> HttpResponse | None:
        """Check `X-Discourse-Event-Signature` over the raw body; answer the ping without storing it."""
        secret = str(self.channel.credentials.get("webhook_secret", ""))
        if not secret:
            raise BadSignature("the channel has no webhook secret to check signatures with")
        given = request.headers.get(SIGNATURE_HEADER, "").strip().lower()
        if not given.startswith("sha256=") or not hmac.compare_digest(
            sign(request.body, secret).encode(), given.encode()
        ):
            raise BadSignature(f"bad {SIGNATURE_HEADER}")
        headers = {k.lower(): v for k, v in request.headers.items()}
        if is_ping(headers, request.body):
            return HttpResponse("OK", content_type="text/plain; charset=utf-8")
        return None

    def delivery_id(self, raw: RawEventData) -> str:
        """`X-Discourse-Event-Id`: Discourse's retries and "Redeliver" keep it."""
        event_id = raw.headers.get(EVENT_ID_HEADER.lower(), "").strip()
        return f"event:{event_id}" if event_id.isdigit() and len(event_id) <= 20 else ""

    def parse(self, raw: RawEventData) -> list[Incoming]:
        if raw.source == "poll":
            return parse_latest(raw.body, site=self.site, brand_username=self.api_username)
        return parse_webhook(
            raw.body, raw.headers, site=self.site, brand_username=self.api_username
        )

    def poll(self, cursor: str | None) -> Page:
        """Catch-up: the forum's latest posts above `cursor` (the highest post id seen)."""
        after = int(cursor) if cursor and cursor.isdigit() else 0
        body = self._client().latest_page()
        items = parse_latest(body, site=self.site, brand_username=self.api_username, after=after)
        newest = max([after, *post_ids(body)])
        return Page(items=items, cursor=str(newest) if newest else cursor, raw=body)

    def post_details(self, external_ids: list[str]) -> list[PostRef]:
        """`GET /t/{topic-id}.json`, one topic per call: title, link and `created_at`.

        A topic the forum no longer has (404, deleted), or one a member opened, is left out.
        """
        client = self._client()
        refs: list[PostRef] = []
        for topic_id in external_ids:
            if not topic_id.isdigit():
                continue
            try:
                topic = client.topic(topic_id)
            except Rejected:
                continue
            ref = topic_post(topic, topic_id, site=self.site, brand_username=self.api_username)
            if ref is not None:
                refs.append(ref)
        return refs

    # --- outbound ----------------------------------------------------------------

    def perform(self, action: OutboundAction) -> Delivery:
        return DiscourseOutbound(self._client()).perform(action)

    def reconcile(self, action: OutboundAction) -> Delivery | None:
        return DiscourseOutbound(self._client()).reconcile(action)

    # --- connection ------------------------------------------------------------

    def test_connection(self) -> str:
        user = self._client().user(self.api_username)
        if not (user.get("admin") is True or user.get("moderator") is True):
            raise PermissionDenied(
                _("“%(name)s” is not staff on the forum: Cercle could not flag, delete or silence.")
                % {"name": self.api_username}
            )
        return _("Connected to the forum %(site)s as “%(name)s”.") % {
            "site": self.site,
            "name": self.api_username,
        }

    def setup_instructions(self) -> dict[str, str]:
        return {
            "payload_url": f"/hooks/{self.channel.uuid}",
            "content_type": "application/json",
            "events": ", ".join(WEBHOOK_EVENTS),
            "signature": _(
                "Type the channel's webhook secret in the forum's webhook: "
                "Discourse signs every delivery with it (X-Discourse-Event-Signature)."
            ),
        }
