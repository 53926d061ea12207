"""Channels (connected presences), raw inbound events and the outbound outbox."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from cercle.crypto import decrypt_json, encrypt_json

from .choices import Health, OutboxState, RawEventStatus


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


class RawEvent(models.Model):
    """An inbound payload exactly as received (webhook body or polled page), kept for replay and audit."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="raw_events")
    received_at = models.DateTimeField(auto_now_add=True)
    # Where it came from: "webhook" or "poll".
    source = models.CharField(max_length=16, default="webhook")
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField()
    status = models.CharField(
        max_length=16, choices=RawEventStatus.choices, default=RawEventStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The ingest worker drains pending events oldest first: WHERE status='pending' ORDER BY id.
            models.Index(
                fields=["id"], name="rawevent_pending_idx", condition=models.Q(status="pending")
            ),
        ]


class Outbox(models.Model):
    """One outbound action to perform on a platform, written with its Message in one transaction."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="outbox")
    message = models.ForeignKey(
        "inbox.Message", on_delete=models.CASCADE, null=True, blank=True, related_name="outbox"
    )
    conversation = models.ForeignKey(
        "inbox.Conversation", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=32)
    # The OutboundAction's fields (see connectors.base.OutboundAction).
    payload = models.JSONField(default=dict)
    # Sent to the platform where it supports one, and used to reconcile otherwise.
    idempotency_key = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=16, choices=OutboxState.choices, default=OutboxState.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    platform_id = models.CharField(max_length=200, blank=True, default="")
    platform_url = models.URLField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The sender picks due rows: WHERE state IN (queued, unknown) ORDER BY next_attempt_at.
            models.Index(
                fields=["next_attempt_at", "id"],
                name="outbox_due_idx",
                condition=models.Q(state__in=[OutboxState.QUEUED, OutboxState.UNKNOWN]),
            ),
            # Waiting rows are released per channel when it is reconnected.
            models.Index(
                fields=["channel", "state"],
                name="outbox_channel_state_idx",
            ),
        ]
