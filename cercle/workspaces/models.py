"""Workspaces (one organisation each), the members who work in them, and the Activity log."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cercle.core import clock

from .choices import ROLE_PERMISSIONS, AutomationKind, Role, Verb


class Workspace(models.Model):
    """One organisation: a brand, or an agency's client. Every row belongs to one."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris")
    language = models.CharField(_("language"), max_length=8, default="fr")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    """A user's membership in a workspace, with a role."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    display_name = models.CharField(_("display name"), max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Serves the membership lookup done on every request (workspace, user).
            models.UniqueConstraint(
                fields=["workspace", "user"], name="member_workspace_user_uniq"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or self.user.get_full_name() or self.user.get_username()

    @property
    def initials(self) -> str:
        parts = self.name.split()
        return "".join(p[0] for p in parts[:2]).upper() or "?"

    def can(self, permission: str) -> bool:
        """Whether this member's role allows `permission` (see choices.ROLE_PERMISSIONS)."""
        return permission in ROLE_PERMISSIONS.get(self.role, frozenset())


class AppendOnly(TypeError):
    """An Activity row was about to be changed: the log is append-only."""


class ActivityQuerySet(models.QuerySet["Activity"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnly("the Activity log is append-only: write a new row instead")


class Activity(models.Model):
    """Append-only log of every state change: timeline, audit, metrics and live updates.

    It lives here, at the bottom of the domain, because every layer writes it:
    workspace and member changes, channel health, the inbox, rules and policies.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        "inbox.Conversation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
    )
    message = models.ForeignKey(
        "inbox.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.ForeignKey(
        "connectors.Channel", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who acted: a member, or an automation (see workspaces.actors); both empty for the platform.
    actor = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    automation = models.CharField(
        max_length=16, choices=AutomationKind.choices, blank=True, default=""
    )
    automation_name = models.CharField(max_length=200, blank=True, default="")
    # The rule or policy row that acted, when there is one.
    automation_ref = models.BigIntegerField(null=True, blank=True)
    verb = models.CharField(max_length=32, choices=Verb.choices)
    data = models.JSONField(default=dict, blank=True)
    # Set by the action from `core.clock` (an import of history sets the time of the work).
    created_at = models.DateTimeField(default=clock.now)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "activities"
        indexes = [
            # The live stream: WHERE workspace=? AND id > last_seen ORDER BY id.
            models.Index(fields=["workspace", "id"], name="activity_ws_id_idx"),
            # The conversation timeline: WHERE conversation=? ORDER BY id.
            models.Index(fields=["conversation", "id"], name="activity_conv_idx"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly("the Activity log is append-only: write a new row instead")
        super().save(*args, **kwargs)
