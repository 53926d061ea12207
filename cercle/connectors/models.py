"""Channels: one connected presence on a platform, with its credentials, cursor, health and quota."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from cercle.core.crypto import decrypt_json, encrypt_json

from .choices import Health


class Channel(models.Model):
    """One connected presence on a platform: a Page, a YouTube channel, a forum…"""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="channels"
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    platform = models.CharField(_("platform"), max_length=32)
    name = models.CharField(_("name"), max_length=200)
    # The platform's id of the account (page id, channel id, user id).
    external_id = models.CharField(_("account id"), max_length=200, blank=True)
    # Non-secret settings: API base URL override, handles, webhook options.
    config = models.JSONField(default=dict, blank=True)
    # Tokens and secrets, encrypted at rest (see cercle.crypto).
    credentials_token = models.TextField(blank=True, default="")
    # Shared secret the platform echoes in its webhook handshake.
    verify_token = models.CharField(max_length=64, blank=True, default="")
    cursor = models.TextField(blank=True, default="")
    health = models.CharField(max_length=16, choices=Health.choices, default=Health.OK)
    health_detail = models.TextField(blank=True, default="")
    # No outbound call before this time (429 or exhausted quota).
    paused_until = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    # The poller polls the channel when this time has passed (None: as soon as possible).
    next_poll_at = models.DateTimeField(null=True, blank=True)
    # Webhook deliveries that reached this channel for accounts no channel owns (stored nowhere).
    unknown_account_deliveries = models.PositiveIntegerField(default=0)
    unknown_account_last = models.CharField(max_length=200, blank=True, default="")
    unknown_account_last_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One channel per platform account in a workspace (add-channel dedupe).
            models.UniqueConstraint(
                fields=["workspace", "platform", "external_id"],
                condition=~models.Q(external_id=""),
                name="channel_ws_platform_account_uniq",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def credentials(self) -> dict[str, Any]:
        return decrypt_json(self.credentials_token)

    def set_credentials(self, value: dict[str, Any]) -> None:
        """Encrypt and keep `value`; callers save through an action."""
        self.credentials_token = encrypt_json(value)


class QuotaWindow(models.Model):
    """How much of one of the platform's quota windows a channel has used (see connectors.quota).

    Rows are changed only by a conditional UPDATE (compare-and-set on `version`),
    so several workers counting calls at once never lose a count.
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="quota_windows")
    # The window's name as the connector declares it: "comment_writes", "units", "GET /2/users/:id/mentions".
    name = models.CharField(max_length=120)
    limit = models.PositiveIntegerField()
    used = models.PositiveIntegerField(default=0)
    # Used in the window before the current one (rolling windows weigh it by the overlap).
    previous_used = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    resets_at = models.DateTimeField()
    # The platform said the window is spent until then (a 429 or its own headers).
    blocked_until = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # One row per window of a channel: the lookup of every counted call.
            models.UniqueConstraint(
                fields=["channel", "name"], name="quotawindow_channel_name_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.used}/{self.limit}"
