"""Attack 13: errors raised in every connector leak no token, in the exception's text, the logs or
what is stored (the outbox's error, the message's delivery error, the channel's health, the
Activity log).

Each HTTP connector gets a channel whose every secret is a unique marker, and a platform that
fails every request with each common status while **echoing the request back** in its error
body and headers (its URL with any query-string token, its Authorization header, its body): the
worst case of a platform quoting what it received. Then the real paths run: the sender with a
reply (and each moderation the connector can do), the poller, the token refresh and the
connection check.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from django.conf import settings

from cercle.connectors.base import ActionKind, Capability, Incoming, OutboundAction
from cercle.connectors.http import transport
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive, do_reply
from cercle.inbox.models import Message, Outbox
from cercle.pipeline.actions import do_create_channel
from cercle.pipeline.poller import poll_channel
from cercle.pipeline.refresh import refresh_channel
from cercle.pipeline.sender import send_due
from cercle.workspaces.models import Activity

# Platforms reached over HTTP (e-mail speaks IMAP and SMTP: its password is never in an error,
# tests/connectors/email/test_mailbox.py).
PLATFORMS = [
    "simulator",
    "youtube",
    "instagram",
    "facebook",
    "x",
    "discourse",
    "website",
    "mastodon",
    "reddit",
    "google_business",
]
STATUSES = [400, 401, 403, 404, 429, 500]
# Names a connector may keep a secret under; each gets its own marker.
SECRET_NAMES = [
    "access_token",
    "page_access_token",
    "user_access_token",
    "refresh_token",
    "app_secret",
    "client_secret",
    "consumer_secret",
    "access_token_secret",
    "bearer_token",
    "api_key",
    "webhook_secret",
    "password",
    "token",
    "secret",
]


def _marker(platform: str, name: str) -> str:
    return f"ZZ{platform.upper()[:4]}{name.replace('_', '').upper()[:10]}QQ9f3"


def _credentials(platform: str) -> dict[str, Any]:
    creds: dict[str, Any] = {name: _marker(platform, name) for name in SECRET_NAMES}
    creds.update({"app_id": "4242", "client_id": "client-4242", "expires_at": 4102444800})
    connector_class = type(connector_for(Channel(platform=platform)))
    for field in getattr(connector_class, "setup_fields", ()):
        if field.secret:
            creds[field.name] = _marker(platform, field.name)
    return creds


def _config(platform: str) -> dict[str, Any]:
    config: dict[str, Any] = {}
    connector_class = type(connector_for(Channel(platform=platform)))
    for field in getattr(connector_class, "setup_fields", ()):
        if field.secret:
            continue
        config[field.name] = (
            f"https://{platform.replace('_', '-')}.example/" if field.url else "lumen"
        )
    config.setdefault("api_base", f"https://{platform.replace('_', '-')}.example/api")
    config.setdefault("site_url", "https://shop.example")
    config.setdefault("callback_url", "https://shop.example/cercle-callback")
    config.setdefault("allowed_origins", "https://shop.example")
    config.setdefault("instance", "https://mastodon.example")
    config.setdefault("base_url", f"https://{platform.replace('_', '-')}.example")
    return config


class EchoingPlatform:
    """Fails every request with `status`, quoting everything it received."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        echoed = (
            f"{request.method} {request.url} auth={request.headers.get('authorization', '')} "
            f"body={request.content.decode('utf-8', 'replace')}"
        )
        body = {
            "error": {
                "message": f"Invalid request: {echoed}",
                "code": 190,
                "type": "OAuthException",
            },
            "errors": [{"message": echoed, "code": 89}],
            "error_description": echoed,
            "detail": echoed,
            "message": echoed,
        }
        headers = {
            "content-type": "application/json",
            "www-authenticate": f'Bearer error="{echoed}"',
        }
        if self.status == 429:
            headers["retry-after"] = "1"
        return httpx.Response(self.status, content=json.dumps(body).encode(), headers=headers)


def _leaks(platform: str, text: str) -> list[str]:
    markers = {_marker(platform, n) for n in SECRET_NAMES}
    markers |= {v for k, v in _credentials(platform).items() if isinstance(v, str) and "QQ9f3" in v}
    return sorted(m for m in markers if m in text)


def _exception_text(exc: BaseException) -> str:
    parts = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), str(getattr(current, "detail", ""))]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("platform", PLATFORMS)
def test_no_connector_error_carries_a_secret(platform, status, owner, workspace, caplog):
    caplog.set_level(logging.DEBUG)
    assert f"cercle.connectors.{platform}.connector" in " ".join(settings.CERCLE_CONNECTORS)
    channel = do_create_channel(
        workspace,
        platform,
        f"{platform} channel",
        external_id="acct-1",
        config=_config(platform),
        credentials=_credentials(platform),
    )
    connector = connector_for(channel)
    platform_double = EchoingPlatform(status)
    raised: list[str] = []
    with transport(httpx.MockTransport(platform_double)):
        # Replies and moderations through the real sender.
        item = Incoming(
            external_id="item-1",
            kind="comment",
            text="Bonjour",
            author=None,
            url="https://example.com/item-1",
        )
        do_receive(channel, [item])
        message = Message.objects.filter(channel=channel).first()
        if message is not None and connector.can(Capability.REPLY):
            do_reply(owner, message.conversation, "Merci, nous regardons")
            send_due()
        # Each outbound action called directly: what it raises.
        for kind in ActionKind:
            if not connector.can(Capability(kind.value)):
                continue
            action = OutboundAction(
                kind=kind,
                idempotency_key=f"k-{kind}",
                target_external_id="item-1",
                text="x",
                author_external_id="author-1",
                post_external_id="post-1",
            )
            try:
                connector.perform(action)
            except Exception as exc:
                raised.append(_exception_text(exc))
        # The poller, the refresh of an expiring token, the connection check.
        if connector.can(Capability.POLL):
            try:
                poll_channel(Channel.objects.get(pk=channel.pk))
            except Exception as exc:
                raised.append(_exception_text(exc))
        try:
            refresh_channel(Channel.objects.get(pk=channel.pk), force=True)
        except Exception as exc:
            raised.append(_exception_text(exc))
        try:
            connector.test_connection()
        except NotImplementedError:
            pass
        except Exception as exc:
            raised.append(_exception_text(exc))

    assert platform_double.requests, "the connector made no request: nothing was tried"
    channel.refresh_from_db()
    stored = [
        channel.health_detail,
        channel.cursor,
        *Outbox.objects.filter(channel=channel).values_list("last_error", flat=True),
        *Message.objects.filter(channel=channel).values_list("delivery_error", flat=True),
        *(json.dumps(d) for d in Activity.objects.values_list("data", flat=True)),
    ]
    assert _leaks(platform, "\n".join(stored)) == [], "stored"
    assert _leaks(platform, "\n".join(raised)) == [], "raised"
    assert _leaks(platform, caplog.text) == [], "logged"
