"""Workspaces (one organisation each), the members who work in them, and the Activity log."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cercle.core import clock

from .choices import (
    DEFAULT_NOTIFICATIONS,
    ROLE_PERMISSIONS,
    AutomationKind,
    Availability,
    Role,
    Verb,
)


def default_languages() -> list[str]:
    """The languages a new workspace works in (ISO 639-1 codes)."""
    return ["fr", "en"]


def default_notifications() -> dict[str, dict[str, bool]]:
    """A new member's notification preferences: {event: {medium: on}} (see choices)."""
    return {
        str(event): {str(medium): on for medium, on in media.items()}
        for event, media in DEFAULT_NOTIFICATIONS.items()
    }


class Workspace(models.Model):
    """One organisation: a brand, or an agency's client. Every row belongs to one."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris")
    language = models.CharField(_("language"), max_length=8, default="fr")
    # The languages the team answers in (ISO 639-1 codes), the first one the main one.
    languages = models.JSONField(_("languages"), default=default_languages, blank=True)
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
    # A deactivated member keeps their history but can no longer act in this workspace.
    is_active = models.BooleanField(_("active"), default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    # The profile: languages spoken (ISO 639-1 codes), skills (free tags), availability.
    languages = models.JSONField(_("languages spoken"), default=list, blank=True)
    skills = models.JSONField(_("skills"), default=list, blank=True)
    availability = models.CharField(
        _("availability"),
        max_length=8,
        choices=Availability.choices,
        default=Availability.ONLINE,
    )
    # When `availability` last changed: going "off" hands unanswered work back after the
    # routing grace period, counted from here (a stored time, so it survives restarts).
    availability_changed_at = models.DateTimeField(null=True, blank=True)
    # The most open conversations automatic assignment gives them (empty: the workspace's default).
    capacity = models.PositiveSmallIntegerField(_("capacity"), null=True, blank=True)
    # When automatic assignment last gave them a conversation: the round-robin's order
    # (least recently assigned first, ties by id).
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    # {event: {medium: on}}; see choices.NotificationEvent and NotificationMedium.
    notifications = models.JSONField(
        _("notification preferences"), default=default_notifications, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Serves the membership lookup done on every request (workspace, user).
            models.UniqueConstraint(
                fields=["workspace", "user"], name="member_workspace_user_uniq"
            ),
        ]
        indexes = [
            # The members page and the last-owner check: WHERE workspace=? AND is_active AND role=?.
            models.Index(
                fields=["workspace", "is_active", "role"], name="member_ws_active_role_idx"
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


class Team(models.Model):
    """A group of members of one workspace (work can be given to a team, mentions reach it)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(_("name"), max_length=80)
    members = models.ManyToManyField(Member, related_name="teams", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One name per team in a workspace (the teams page lists them by name).
            models.UniqueConstraint(fields=["workspace", "name"], name="team_workspace_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class Invitation(models.Model):
    """An invitation to join a workspace with a role, accepted once through a secret link.

    Only a hash of the link's token is stored: the link is mailed, or shown once
    to the member who invited when no mail server is configured.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail"), max_length=254)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The members page's pending invitations: WHERE workspace=? ORDER BY id DESC.
            models.Index(fields=["workspace", "id"], name="invitation_ws_id_idx"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_pending(self) -> bool:
        return (
            self.accepted_at is None and self.revoked_at is None and self.expires_at > clock.now()
        )


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
    # One of `Verb` (no `choices=` here: a new verb then needs no migration); see `verb_label`.
    verb = models.CharField(max_length=32)
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
            # The audit page filtered by verb: WHERE workspace=? AND verb=? AND id < ? ORDER BY id DESC.
            models.Index(fields=["workspace", "verb", "id"], name="activity_ws_verb_id_idx"),
            # The insights' live tail: WHERE workspace=? AND verb='received' AND created_at >= ?.
            models.Index(
                fields=["workspace", "verb", "created_at"], name="activity_ws_verb_time_idx"
            ),
            # Insights "When": what the members did in a period (WHERE workspace=? AND actor IS
            # NOT NULL AND created_at in [a, b)), answered from the index alone. Partial: the
            # pipeline's and automations' rows, most of the log, are not in it.
            models.Index(
                fields=["workspace", "created_at", "actor", "verb"],
                condition=models.Q(actor__isnull=False),
                name="activity_ws_member_time_idx",
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly("the Activity log is append-only: write a new row instead")
        super().save(*args, **kwargs)

    @property
    def verb_label(self) -> str:
        return str(Verb(self.verb).label) if self.verb in Verb.values else self.verb
