"""Saved replies (one version per language) and the four-eyes approval of replies."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from cercle.core import clock

from .choices import PendingState


class SavedReply(models.Model):
    """A reusable answer of a workspace, with variables, written once per language."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="saved_replies"
    )
    title = models.CharField(_("title"), max_length=120)
    # Typed after `/` in the reply box to find it at once ("delivery", "merci").
    shortcut = models.SlugField(_("shortcut"), max_length=40, blank=True, default="")
    tags = models.JSONField(_("tags"), default=list, blank=True)
    # How many sent replies used it (counted when the reply is sent, or approved).
    usage_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        "workspaces.Member", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name_plural = "saved replies"
        constraints = [
            # One shortcut names one saved reply in a workspace (empty shortcuts excepted).
            models.UniqueConstraint(
                fields=["workspace", "shortcut"],
                condition=~models.Q(shortcut=""),
                name="savedreply_ws_shortcut_uniq",
            ),
        ]
        indexes = [
            # The settings list and the picker: WHERE workspace=? ORDER BY usage_count DESC, title.
            models.Index(
                fields=["workspace", "-usage_count", "title"], name="savedreply_ws_usage_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class SavedReplyVersion(models.Model):
    """The text of a saved reply in one language (ISO 639-1 code)."""

    saved_reply = models.ForeignKey(SavedReply, on_delete=models.CASCADE, related_name="versions")
    language = models.CharField(_("language"), max_length=8)
    text = models.TextField(_("text"))

    class Meta:
        ordering = ["language"]
        constraints = [
            # One version per language; the picker looks it up by (saved_reply, language).
            models.UniqueConstraint(
                fields=["saved_reply", "language"], name="savedreplyversion_lang_uniq"
            ),
        ]


class ApprovalPolicy(models.Model):
    """Whose replies, or replies to which channels, wait for an approver (one per workspace).

    A reply is held when its author's role is listed, or the author is listed,
    or the conversation's channel is listed. Members whose role may approve
    replies (`approve_replies`) are never held.
    """

    workspace = models.OneToOneField(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="approval_policy"
    )
    roles = models.JSONField(_("roles"), default=list, blank=True)
    members = models.ManyToManyField("workspaces.Member", blank=True, related_name="+")
    channels = models.ManyToManyField("connectors.Channel", blank=True, related_name="+")
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name_plural = "approval policies"


class PendingReply(models.Model):
    """A reply held for approval: never a Message, never in the Outbox, until approved."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    conversation = models.ForeignKey(
        "inbox.Conversation", on_delete=models.CASCADE, related_name="pending_replies"
    )
    author = models.ForeignKey(
        "workspaces.Member", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField()
    is_private = models.BooleanField(default=False)
    # The saved replies it was written from: counted as used once it is sent.
    saved_reply_ids = models.JSONField(default=list, blank=True)
    state = models.CharField(
        max_length=16, choices=PendingState.choices, default=PendingState.PENDING
    )
    created_at = models.DateTimeField(default=clock.now)
    decided_by = models.ForeignKey(
        "workspaces.Member", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True, default="")
    # The Message sent on approval.
    message = models.ForeignKey(
        "inbox.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name_plural = "pending replies"
        indexes = [
            # The approvals queue: WHERE workspace=? AND state='pending' ORDER BY id.
            models.Index(fields=["workspace", "state", "id"], name="pendingreply_ws_state_idx"),
            # The conversation pane: WHERE conversation=? AND state='pending'.
            models.Index(fields=["conversation", "state"], name="pendingreply_conv_state_idx"),
        ]
