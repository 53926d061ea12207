"""The website: a signed generic webhook for any site or tool, and a comment and contact widget.

Facts (signature, replay window, widget endpoints, limits) are in README.md.
Config: `site_url` (the site, whose origin may call the widget endpoints),
`allowed_origins` (other origins, space-separated), `callback_url` (optional:
where answers to site-pushed items are POSTed). Credentials: `webhook_secret`.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cercle.connectors.base import (
    Capability,
    Connector,
    Delivery,
    Incoming,
    OutboundAction,
    RawEventData,
    SetupField,
)

from . import outbound
from .client import SIGNATURE_HEADER, SiteClient, check_signature
from .inbound import parse_site, parse_widget

WIDGET_SOURCE = "widget"


def origin_of(url: str) -> str:
    """`https://www.example.com/blog/x` → `https://www.example.com` (what browsers send as Origin)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


class WebsiteConnector(Connector):
    """One website: items pushed by the site (signed), and the widget's visitors."""

    platform = "website"
    # Not a brand name: shown in the team's language ("Site web").
    label = gettext_lazy("Website")
    capabilities = frozenset(
        {
            Capability.WEBHOOK,
            Capability.REPLY,
            Capability.SEND_PRIVATE,
            Capability.HIDE,
            Capability.UNHIDE,
            Capability.DELETE,
        }
    )
    max_reply_length = 5000
    setup_fields = (
        SetupField(
            "site_url",
            gettext_lazy("Site address"),
            url=True,
            help_text=gettext_lazy(
                "The site that embeds the widget, e.g. https://www.example.com; "
                "only pages of this site may use it."
            ),
        ),
        SetupField(
            "webhook_secret",
            gettext_lazy("Signing secret"),
            secret=True,
            help_text=gettext_lazy(
                "A long random string shared with your site: it signs what the site sends "
                "(X-Cercle-Signature) and what Cercle sends back."
            ),
        ),
        SetupField(
            "allowed_origins",
            gettext_lazy("Other allowed origins"),
            required=False,
            help_text=gettext_lazy(
                "Other sites that may embed the widget, separated by spaces "
                "(e.g. https://shop.example.com)."
            ),
        ),
        SetupField(
            "callback_url",
            gettext_lazy("Callback URL"),
            url=True,
            required=False,
            help_text=gettext_lazy(
                "Optional: where Cercle POSTs the team's answers to items your site sent. "
                "Widget answers need none."
            ),
        ),
    )

    # --- settings ------------------------------------------------------------------

    def _secret(self) -> str:
        return str(self.channel.credentials.get("webhook_secret", ""))

    def allowed_origins(self) -> frozenset[str]:
        """Origins whose pages may call the widget endpoints."""
        config = self.channel.config
        urls = [str(config.get("site_url", "")), *str(config.get("allowed_origins", "")).split()]
        return frozenset(o for o in (origin_of(u) for u in urls) if o)

    def _site(self) -> SiteClient | None:
        url = str(self.channel.config.get("callback_url", ""))
        if not url:
            return None
        return SiteClient(self.http, callback_url=url, secret=self._secret())

    # --- inbound -----------------------------------------------------------------

    def verify(self, request: HttpRequest) -> HttpResponse | None:
        """`X-Cercle-Signature` over the timestamp and the raw body, at most 5 minutes old."""
        check_signature(request.headers.get(SIGNATURE_HEADER, ""), request.body, self._secret())
        return None

    def delivery_id(self, raw: RawEventData) -> str:
        """The signature itself: a delivery replayed inside its 5 minutes is stored once."""
        header = raw.headers.get(SIGNATURE_HEADER.lower(), "")
        return "sig:" + hashlib.sha256(header.encode()).hexdigest() if header else ""

    def parse(self, raw: RawEventData) -> list[Incoming]:
        if raw.source == WIDGET_SOURCE:
            return parse_widget(raw.body)
        return parse_site(raw.body)

    # --- outbound ----------------------------------------------------------------

    def perform(self, action: OutboundAction) -> Delivery:
        return outbound.perform(self._site(), action)

    # --- connection ------------------------------------------------------------

    def test_connection(self) -> str:
        if not self._secret():
            return _("No signing secret: the site cannot send anything yet.")
        return _("Ready: the widget and the signed webhook accept %(origins)s.") % {
            "origins": ", ".join(sorted(self.allowed_origins())) or "—"
        }

    def setup_instructions(self) -> dict[str, str]:
        return {
            "widget": f'<script src="/w/{self.channel.uuid}/widget.js" async></script>',
            "webhook_url": f"/hooks/{self.channel.uuid}",
            "signature": _(
                "Sign each delivery: X-Cercle-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "
                "“<t>.<raw body>” with the signing secret>. Deliveries older than 5 minutes are refused."
            ),
        }
