"""Business hours with holidays, and SLA policies: when the team works and how fast it answers."""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

# A weekly schedule: {"0": [["09:00", "18:00"]], …} with Monday = "0"; a missing day is closed.
WeeklyHours = dict[str, list[list[str]]]


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(_("Unknown time zone: %(zone)s"), params={"zone": value}) from exc


def validate_weekly_hours(value: object) -> None:
    """Each day's intervals are ["HH:MM", "HH:MM"] pairs, opening before closing, not overlapping."""
    if not isinstance(value, dict):
        raise ValidationError(_("The hours must map weekdays to intervals."))
    for day, intervals in value.items():
        if day not in {str(d) for d in range(7)} or not isinstance(intervals, list):
            raise ValidationError(_("Unknown weekday: %(day)s"), params={"day": day})
        previous_close: time | None = None
        for interval in sorted(intervals):
            try:
                opening, closing = (time.fromisoformat(t) for t in interval)
            except (TypeError, ValueError) as exc:
                raise ValidationError(_("Times are written HH:MM.")) from exc
            if opening >= closing:
                raise ValidationError(_("A day's hours must open before they close."))
            if previous_close is not None and opening < previous_close:
                raise ValidationError(_("A day's hours must not overlap."))
            previous_close = closing


class BusinessHours(models.Model):
    """When a team works: weekly hours in a time zone, minus holidays."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="business_hours"
    )
    name = models.CharField(_("name"), max_length=120)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Paris", validators=[validate_time_zone]
    )
    weekly = models.JSONField(
        _("weekly hours"), default=dict, blank=True, validators=[validate_weekly_hours]
    )
    # The team whose hours these are: an SLA counted "in business hours" uses them for the
    # conversations of that team (the policy's own hours for the rest).
    team = models.OneToOneField(
        "workspaces.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="business_hours",
        verbose_name=_("team"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "business hours"

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    """A day the team does not work (the weekly hours do not apply)."""

    business_hours = models.ForeignKey(
        BusinessHours, on_delete=models.CASCADE, related_name="holidays"
    )
    day = models.DateField(_("day"))
    name = models.CharField(_("name"), max_length=120, blank=True, default="")

    class Meta:
        ordering = ["day"]
        constraints = [
            # One entry per day; the SLA clock loads all of a schedule's holidays at once.
            models.UniqueConstraint(
                fields=["business_hours", "day"], name="holiday_hours_day_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.name}"


class SlaPolicy(models.Model):
    """Response targets for the conversations it matches (the first matching policy wins).

    Empty conditions match everything. Without business hours the clock runs
    around the clock. A breach is logged, and can raise the priority and
    reassign the conversation.
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="sla_policies"
    )
    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    # Conditions (empty: any).
    priority = models.SmallIntegerField(_("priority"), null=True, blank=True)
    channel = models.ForeignKey(
        "connectors.Channel",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("channel"),
    )
    conversation_kind = models.CharField(_("conversation kind"), max_length=16, blank=True)
    intent = models.CharField(_("intent"), max_length=32, blank=True)
    # Targets, in minutes of the clock below.
    first_response_minutes = models.PositiveIntegerField(_("first response within (minutes)"))
    next_response_minutes = models.PositiveIntegerField(
        _("next response within (minutes)"), null=True, blank=True
    )
    business_hours = models.ForeignKey(
        BusinessHours,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business hours"),
    )
    at_risk_minutes = models.PositiveIntegerField(_("warn this many minutes before"), default=15)
    # On breach.
    raise_priority = models.BooleanField(_("raise the priority on breach"), default=True)
    reassign_to = models.ForeignKey(
        "workspaces.Member",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reassign on breach to"),
    )

    class Meta:
        ordering = ["position", "id"]
        indexes = [
            # The routing stage loads a workspace's active policies in order.
            models.Index(
                fields=["workspace", "is_active", "position"], name="sla_ws_active_pos_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.name


def holiday_days(hours: BusinessHours) -> frozenset[date]:
    return frozenset(h.day for h in hours.holidays.all())


# The most open conversations a member gets from automatic assignment, unless set otherwise.
DEFAULT_CAPACITY = 10
# How long a member may be "off" before their unanswered conversations go back to the team.
DEFAULT_OFF_GRACE_MINUTES = 15


def validate_skill_map(value: object) -> None:
    """{conversation kind: [skill, …]}: the skills each kind of conversation needs."""
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(s, str) for s in v)
        for k, v in value.items()
    ):
        raise ValidationError(_("Required skills map a kind of conversation to a list of skills."))


class RoutingSettings(models.Model):
    """How a workspace hands out its conversations (one row per workspace; none: nothing automatic).

    Automatic assignment gives each conversation that waits, unassigned, to an
    online member under capacity who speaks its language and has the skills it
    needs, least recently assigned first. What cannot be placed waits in the
    backlog, oldest first. Channels may override it (`ChannelRouting`).
    """

    workspace = models.OneToOneField(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="routing"
    )
    auto_assign = models.BooleanField(_("assign automatically"), default=False)
    default_capacity = models.PositiveSmallIntegerField(
        _("default capacity (open conversations per member)"), default=DEFAULT_CAPACITY
    )
    off_grace_minutes = models.PositiveSmallIntegerField(
        _("minutes before an “off” member's unanswered work goes back"),
        default=DEFAULT_OFF_GRACE_MINUTES,
    )
    # {conversation kind: [skills]}: e.g. {"review": ["reviews"]}.
    kind_skills = models.JSONField(
        _("skills needed per kind of conversation"),
        default=dict,
        blank=True,
        validators=[validate_skill_map],
    )
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "routing settings"

    def __str__(self) -> str:
        return f"routing of workspace {self.workspace_id}"


class ChannelRouting(models.Model):
    """A channel's own routing: assignment on or off (empty: as the workspace), skills, who works it."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    channel = models.OneToOneField(
        "connectors.Channel", on_delete=models.CASCADE, related_name="routing"
    )
    auto_assign = models.BooleanField(_("assign automatically"), null=True, blank=True)
    skills = models.JSONField(_("skills needed"), default=list, blank=True)
    # Who may be given this channel's conversations (none: every member).
    members = models.ManyToManyField("workspaces.Member", related_name="+", blank=True)

    def __str__(self) -> str:
        return f"routing of channel {self.channel_id}"
