"""Roles of a member in a workspace, from most to least powerful."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Manager")
    AGENT = "agent", _("Agent")
    VIEWER = "viewer", _("Viewer")


# What each role may do. Checked by `Member.can`, in views and in actions.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(
        {
            "view",
            "reply",
            "note",
            "assign",
            "moderate",
            "manage_channels",
            "manage_members",
            "manage_workspace",
        }
    ),
    Role.ADMIN: frozenset(
        {"view", "reply", "note", "assign", "moderate", "manage_channels", "manage_members"}
    ),
    Role.MANAGER: frozenset({"view", "reply", "note", "assign", "moderate", "manage_channels"}),
    Role.AGENT: frozenset({"view", "reply", "note", "assign", "moderate"}),
    Role.VIEWER: frozenset({"view", "note"}),
}
