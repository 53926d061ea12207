"""The retention policy of a workspace."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RetentionPolicy(models.Model):
    """How long a workspace keeps its messages; the worker deletes older ones in batches."""

    workspace = models.OneToOneField(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="retention_policy"
    )
    # Messages older than this many days are deleted; NULL keeps them forever.
    message_days = models.PositiveIntegerField(_("keep messages for (days)"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.message_days or '∞'}"
