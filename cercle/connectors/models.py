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
    # Quota: {"used": int, "limit": int, "resets_at": iso} where the platform counts units.
    quota = models.JSONField(default=dict, blank=True)
    # No outbound call before this time (429 or exhausted quota).
    paused_until = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
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
