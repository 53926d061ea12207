"""The sign-in requirements of a workspace."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SignInPolicy(models.Model):
    """What a workspace asks of its members when they sign in (set by an owner)."""

    workspace = models.OneToOneField(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="sign_in_policy"
    )
    require_two_factor = models.BooleanField(_("require two-factor authentication"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.workspace_id}: 2FA {'required' if self.require_two_factor else 'optional'}"
