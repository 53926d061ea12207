"""Roles of a member in a workspace, the verbs of the Activity log, and the kinds of automation."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Manager")
    AGENT = "agent", _("Agent")
    VIEWER = "viewer", _("Viewer")


# From the most to the least powerful: a member may grant or change only roles at or below their own.
ROLE_RANK: dict[str, int] = {
    Role.OWNER: 4,
    Role.ADMIN: 3,
    Role.MANAGER: 2,
    Role.AGENT: 1,
    Role.VIEWER: 0,
}


class Availability(models.TextChoices):
    """Whether a member takes new work now (assignment reads it)."""

    ONLINE = "online", _("Online")
    AWAY = "away", _("Away")
    OFF = "off", _("Off")


AVAILABILITY_COLOURS = {
    Availability.ONLINE: "green",
    Availability.AWAY: "amber",
    Availability.OFF: "grey",
}


class NotificationEvent(models.TextChoices):
    """What a member may be told about (the notifications themselves come with the workflow)."""

    MENTION = "mention", _("Someone mentions me or my team")
    ASSIGNMENT = "assignment", _("A conversation is assigned to me")
    SLA = "sla", _("A conversation of mine is at risk or past its due time")
    DIGEST = "digest", _("Daily digest")
    WEEKLY_REPORT = "weekly_report", _("Weekly report (insights)")


class NotificationMedium(models.TextChoices):
    IN_APP = "in_app", _("In the app")
    EMAIL = "email", _("By e-mail")


# The preferences of a new member: everything in the app, mentions and assignments by e-mail.
DEFAULT_NOTIFICATIONS: dict[str, dict[str, bool]] = {
    NotificationEvent.MENTION: {NotificationMedium.IN_APP: True, NotificationMedium.EMAIL: True},
    NotificationEvent.ASSIGNMENT: {NotificationMedium.IN_APP: True, NotificationMedium.EMAIL: True},
    NotificationEvent.SLA: {NotificationMedium.IN_APP: True, NotificationMedium.EMAIL: False},
    NotificationEvent.DIGEST: {NotificationMedium.IN_APP: False, NotificationMedium.EMAIL: False},
    NotificationEvent.WEEKLY_REPORT: {
        NotificationMedium.IN_APP: False,
        NotificationMedium.EMAIL: False,
    },
}


class Permission(models.TextChoices):
    """What an actor may do; a role is a set of these (ROLE_PERMISSIONS)."""

    VIEW = "view", _("Read the inbox")
    REPLY = "reply", _("Reply")
    NOTE = "note", _("Write notes")
    ASSIGN = "assign", _("Assign, tag, change status")
    MODERATE = "moderate", _("Moderate on the platforms")
    MANAGE_CHANNELS = "manage_channels", _("Manage channels")
    MANAGE_WORKFLOW = "manage_workflow", _("Manage business hours and SLA policies")
    MANAGE_MEMBERS = "manage_members", _("Manage members")
    MANAGE_WORKSPACE = "manage_workspace", _("Manage the workspace")
    MANAGE_SAVED_REPLIES = "manage_saved_replies", _("Manage saved replies")
    APPROVE_REPLIES = "approve_replies", _("Approve replies (four eyes)")


# What each role may do. Checked by `Member.can`, in views and in actions.
_AGENT = frozenset(
    {Permission.VIEW, Permission.REPLY, Permission.NOTE, Permission.ASSIGN, Permission.MODERATE}
)
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: _AGENT
    | {
        Permission.MANAGE_CHANNELS,
        Permission.MANAGE_WORKFLOW,
        Permission.MANAGE_MEMBERS,
        Permission.MANAGE_WORKSPACE,
        Permission.MANAGE_SAVED_REPLIES,
        Permission.APPROVE_REPLIES,
    },
    Role.ADMIN: _AGENT
    | {
        Permission.MANAGE_CHANNELS,
        Permission.MANAGE_WORKFLOW,
        Permission.MANAGE_MEMBERS,
        Permission.MANAGE_SAVED_REPLIES,
        Permission.APPROVE_REPLIES,
    },
    Role.MANAGER: _AGENT
    | {
        Permission.MANAGE_CHANNELS,
        Permission.MANAGE_WORKFLOW,
        Permission.MANAGE_SAVED_REPLIES,
        Permission.APPROVE_REPLIES,
    },
    Role.AGENT: _AGENT,
    Role.VIEWER: frozenset({Permission.VIEW, Permission.NOTE}),
}


class AutomationKind(models.TextChoices):
    """The automations that act through the same actions as people (see workspaces.actors)."""

    PIPELINE = "pipeline", _("Inbound pipeline")
    RULE = "rule", _("Rule")
    SLA_POLICY = "sla_policy", _("SLA policy")
    ROUTING = "routing", _("Routing")
    IMPORT = "import", _("Import")
    SYSTEM = "system", _("Cercle")


class Verb(models.TextChoices):
    RECEIVED = "received", _("received")
    EDITED = "edited", _("edited on the platform")
    DELETED = "deleted", _("deleted on the platform")
    CLASSIFIED = "classified", _("classified")
    REPLIED = "replied", _("replied")
    NOTE_ADDED = "note_added", _("added a note")
    ASSIGNED = "assigned", _("assigned")
    UNASSIGNED = "unassigned", _("unassigned")
    STATUS_CHANGED = "status_changed", _("changed the status")
    TAGGED = "tagged", _("tagged")
    UNTAGGED = "untagged", _("untagged")
    DELIVERED = "delivered", _("delivered")
    DELIVERY_FAILED = "delivery_failed", _("delivery failed")
    DELIVERY_WAITING = "delivery_waiting", _("waiting for reconnection")
    MODERATION_REQUESTED = "moderation_requested", _("asked the platform to moderate")
    MODERATED = "moderated", _("moderated on the platform")
    RULE_FIRED = "rule_fired", _("rule fired")
    UNDONE = "undone", _("undid an automated action")
    PRIORITY_CHANGED = "priority_changed", _("changed the priority")
    SLA_AT_RISK = "sla_at_risk", _("response due soon")
    SLA_BREACHED = "sla_breached", _("response overdue")
    CHANNEL_HEALTH = "channel_health", _("channel health changed")
    CHANNEL_CONNECTED = "channel_connected", _("connected the channel")
    CHANNEL_DISCONNECTED = "channel_disconnected", _("disconnected the channel")
    CHANNEL_PAUSED = "channel_paused", _("channel paused by the platform's rate limit")
    CREDENTIALS_STORED = "credentials_stored", _("stored new credentials")
    DELIVERY_RETRIED = "delivery_retried", _("asked to try the delivery again")
    WORKSPACE_CREATED = "workspace_created", _("created the workspace")
    WORKSPACE_CHANGED = "workspace_changed", _("changed the workspace's settings")
    MEMBER_ADDED = "member_added", _("added a member")
    MEMBER_ROLE_CHANGED = "member_role_changed", _("changed a member's role")
    MEMBER_INVITED = "member_invited", _("invited a member")
    INVITATION_REVOKED = "invitation_revoked", _("revoked an invitation")
    MEMBER_JOINED = "member_joined", _("joined the workspace")
    MEMBER_DEACTIVATED = "member_deactivated", _("deactivated a member")
    MEMBER_REACTIVATED = "member_reactivated", _("reactivated a member")
    PROFILE_CHANGED = "profile_changed", _("changed their profile")
    TEAM_CREATED = "team_created", _("created a team")
    TEAM_CHANGED = "team_changed", _("changed a team")
    TEAM_DELETED = "team_deleted", _("deleted a team")
    MERGED = "merged", _("merged conversations")
    CONTACTS_MERGED = "contacts_merged", _("merged contacts")
    CRISIS_STARTED = "crisis_started", _("raised a crisis alert")
    CRISIS_ENDED = "crisis_ended", _("ended a crisis alert")
    CRISIS_ACKNOWLEDGED = "crisis_acknowledged", _("acknowledged a crisis alert")
    LABEL_CORRECTED = "label_corrected", _("corrected a label")
    CUSTOM_LABEL_SAVED = "custom_label_saved", _("saved a custom label")
    MODEL_TRAINED = "model_trained", _("trained the workspace's model")
    REPLY_SUBMITTED = "reply_submitted", _("wrote a reply awaiting approval")
    REPLY_APPROVED = "reply_approved", _("approved a reply")
    REPLY_REJECTED = "reply_rejected", _("rejected a reply")
    REPLY_WITHDRAWN = "reply_withdrawn", _("withdrew a reply awaiting approval")
    # Sign-in security (cercle.accounts) and privacy (cercle.privacy).
    LOGIN_UNLOCKED = "login_unlocked", _("unlocked a login")
    TWO_FACTOR_ENABLED = "two_factor_enabled", _("turned on two-factor authentication")
    TWO_FACTOR_DISABLED = "two_factor_disabled", _("turned off two-factor authentication")
    TWO_FACTOR_RESET = "two_factor_reset", _("reset a member's two-factor authentication")
    SIGN_IN_POLICY_CHANGED = "sign_in_policy_changed", _("changed the sign-in requirements")
    CONTACT_EXPORTED = "contact_exported", _("exported a contact's data")
    CONTACT_ERASED = "contact_erased", _("erased a contact")
    RETENTION_CHANGED = "retention_changed", _("changed the retention policy")
    MESSAGES_PURGED = "messages_purged", _("deleted old messages (retention)")
    API_TOKEN_CREATED = "api_token_created", _("created an API token")
    API_TOKEN_REVOKED = "api_token_revoked", _("revoked an API token")
