"""Goals and personas of a workspace: what the team aims for, and who it talks to."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from cercle.workspaces.models import Member, Workspace


class Kpi(models.TextChoices):
    """The figures a goal can aim at; each is computed by `insights.goals` from the metrics."""

    ANSWERED_WITHIN = "answered_within", _("Share of conversations answered within N minutes")
    QUESTIONS_ANSWERED_WITHIN = (
        "questions_within",
        _("Share of questions answered within N minutes"),
    )
    ANSWER_RATE = "answer_rate", _("Answer rate")
    NEGATIVE_SHARE = "negative_share", _("Negative share of messages")
    MEDIAN_FIRST_RESPONSE = "median_first_response", _("Median first response time (minutes)")
    RETURNING_GROWTH = (
        "returning_growth",
        _("Growth of returning contributors against the period before (%)"),
    )


# The KPIs whose value is a share (between 0 and 100 %).
SHARE_KPIS = frozenset(
    {Kpi.ANSWERED_WITHIN, Kpi.QUESTIONS_ANSWERED_WITHIN, Kpi.ANSWER_RATE, Kpi.NEGATIVE_SHARE}
)
# The KPIs shown and targeted in percent: the shares and the growths (which may be negative or
# above 100 %); the others are minutes.
PERCENT_KPIS = SHARE_KPIS | {Kpi.RETURNING_GROWTH}
# The KPIs that need a number of minutes.
WITHIN_KPIS = frozenset({Kpi.ANSWERED_WITHIN, Kpi.QUESTIONS_ANSWERED_WITHIN})


class Comparison(models.TextChoices):
    AT_LEAST = "gte", "≥"
    AT_MOST = "lte", "≤"


class GoalPeriod(models.TextChoices):
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")


class Goal(models.Model):
    """A KPI with a target, a period and an owner, e.g. 90 % of questions answered within 1 h."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    kpi = models.CharField(_("KPI"), max_length=32, choices=Kpi.choices)
    # For the "answered within" KPIs: the delay, counted in business hours or around the clock.
    minutes = models.PositiveIntegerField(_("within (minutes)"), null=True, blank=True)
    business_hours = models.BooleanField(_("count in business hours"), default=False)
    comparison = models.CharField(
        _("comparison"), max_length=3, choices=Comparison.choices, default=Comparison.AT_LEAST
    )
    # A percentage for the share KPIs (90 means 90 %), minutes for the median.
    target = models.FloatField(_("target"))
    period = models.CharField(
        _("period"), max_length=8, choices=GoalPeriod.choices, default=GoalPeriod.MONTH
    )
    owner = models.ForeignKey(
        Member,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kpi in WITHIN_KPIS and not self.minutes:
            raise ValidationError({"minutes": _("Say within how many minutes.")})
        if self.kpi in SHARE_KPIS and not 0 <= self.target <= 100:
            raise ValidationError({"target": _("A share is between 0 and 100 %.")})
        if self.target < 0 and self.kpi != Kpi.RETURNING_GROWTH:
            raise ValidationError({"target": _("The target cannot be negative.")})

    @property
    def is_share(self) -> bool:
        """Whether the goal's value and target are in percent (else minutes)."""
        return self.kpi in PERCENT_KPIS

    def meets(self, value: float) -> bool:
        """Whether `value` (in the goal's unit) is on the right side of the target."""
        if self.comparison == Comparison.AT_LEAST:
            return value >= self.target
        return value <= self.target

    def describe(self) -> dict[str, Any]:
        return {"id": self.pk, "name": self.name, "kpi": self.kpi, "target": self.target}


class ConditionKind(models.TextChoices):
    """What a persona's condition looks at (see `insights.personas` for how each is read)."""

    LANGUAGE = "language", _("Language")
    PLATFORM = "platform", _("Platform")
    TAG = "tag", _("Tag of their conversations")
    ACTIVITY = "activity", _("Activity")
    NEGATIVE = "negative", _("Negative share")
    RETURNING = "returning", _("First-time or returning")
    TOPIC = "topic", _("Topics they write about")
    FOLLOWERS = "followers", _("Followers")


class Persona(models.Model):
    """A target group: who these people are (the team's words), and the conditions that find them.

    `conditions` is a list of objects, all of which must hold:
    `{"kind": "language"|"platform"|"tag", "values": [...]}`,
    `{"kind": "activity", "days": N, "min": k}` (k inbound messages or more in the last N days),
    `{"kind": "negative", "percent": x}` (x % or more of their judged messages are negative),
    `{"kind": "returning", "value": true|false}` (returning: more than one conversation).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(
        _("description"),
        blank=True,
        default="",
        help_text=_("Who these people are, what motivates them, why they joined the community."),
    )
    conditions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the worker last counted its contacts (`actions.do_count_persona_members`), and
    # whether it kept them (`PersonaMember`): only a persona slow to evaluate live is kept.
    # Saving the persona clears both.
    members_at = models.DateTimeField(null=True, blank=True)
    members_kept = models.BooleanField(default=False)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class PersonaMember(models.Model):
    """One contact a persona held when the worker last counted it (`Persona.members_at`)."""

    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="+")
    contact_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["persona", "contact_id"], name="persona_member_uniq")
        ]


# --- pre-aggregation (see `insights.rollup`) ---------------------------------------------------


class WaitRecord(models.Model):
    """One wait or resolution cycle of a conversation, as `metrics.read_history` cut it.

    Kept by the rollup drain: a conversation's records are replaced whenever its
    log grows, so they are the raw computation stored. `day` is the local date
    (workspace time zone) the wait or cycle started on; the durations are bucketed
    (`metrics.bucket`) around the clock and in the workspace's business hours.
    """

    class Metric(models.TextChoices):
        WAIT = "wait"
        CYCLE = "cycle"

    class State(models.TextChoices):
        OPEN = "open"  # waiting (or, for a cycle, not closed)
        ANSWERED = "answered"  # by a member (a cycle: closed)
        AUTOMATED = "automated"
        UNANSWERED = "unanswered"  # closed without a reply

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation_id = models.BigIntegerField()
    metric = models.CharField(max_length=5, choices=Metric.choices)
    day = models.DateField()
    # When the wait (or cycle) started: the goals read the open waits of the last days by it.
    started_at = models.DateTimeField(null=True)
    first = models.BooleanField(default=False)
    # Whether the conversation holds an inbound question (the questions' goal).
    question = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=State.choices)
    channel_id = models.BigIntegerField(null=True)
    kind = models.CharField(max_length=32, blank=True, default="")
    responder_id = models.BigIntegerField(null=True)
    # The conversation's contact (the persona breakdown groups by it; a contacts' merge
    # computes the records again).
    contact_id = models.BigIntegerField(null=True)
    # Bucketed durations of an answered wait (by the team or an automation) or a closed cycle.
    seconds = models.BigIntegerField(null=True)
    business_seconds = models.BigIntegerField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "day"], name="insights_wait_day"),
            models.Index(fields=["conversation_id"], name="insights_wait_conv"),
        ]


class DailyRollup(models.Model):
    """Waits or cycles of one local day and one combination of what the breakdowns group by:
    how many, and the histograms of their durations (bucket → count) for medians and p90."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    metric = models.CharField(max_length=5, choices=WaitRecord.Metric.choices)
    first = models.BooleanField(default=False)
    question = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=WaitRecord.State.choices)
    channel_id = models.BigIntegerField(null=True)
    kind = models.CharField(max_length=32, blank=True, default="")
    responder_id = models.BigIntegerField(null=True)
    count = models.PositiveIntegerField(default=0)
    # {"bucket seconds": count}
    plain = models.JSONField(default=dict, blank=True)
    business = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "day"], name="insights_rollup_day")]


class VolumeRollup(models.Model):
    """Inbound messages of one local day and hour (workspace time zone) on one channel, and
    how many of them may need a reply (`needs_reply` not false: the staffing estimate)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    hour = models.PositiveSmallIntegerField()
    channel_id = models.BigIntegerField(null=True)
    count = models.PositiveIntegerField(default=0)
    needing = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["workspace", "day"], name="insights_volume_day")]


class PostRollup(models.Model):
    """Inbound messages under one of the brand's posts on one local day, by kind, intent and
    sentiment (the per-post table)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    post_id = models.BigIntegerField()
    kind = models.CharField(max_length=32, blank=True, default="")
    intent = models.CharField(max_length=32, blank=True, default="")
    sentiment = models.CharField(max_length=16, blank=True, default="")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["workspace", "day"], name="insights_post_day")]


class MessageRollup(models.Model):
    """Inbound messages of one local day on one channel by kind, intent, sentiment and star
    rating (the ratings table, each platform's kinds and intents, the negative share of the
    goals and of the spikes)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    channel_id = models.BigIntegerField(null=True)
    kind = models.CharField(max_length=32, blank=True, default="")
    intent = models.CharField(max_length=32, blank=True, default="")
    sentiment = models.CharField(max_length=16, blank=True, default="")
    rating = models.SmallIntegerField(null=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["workspace", "day"], name="insights_message_day")]


class TermRollup(models.Model):
    """How many inbound messages of one local day and language hold one term (a word or a
    two-word phrase, folded: `trends.phrases`), with its most frequent spelling that day.

    Only the `trends.TERMS_PER_DAY` most frequent terms of a day and language are kept (the
    rows stay bounded however much the community writes). The row whose `term` is empty counts
    the day's inbound messages with text (the denominator of the lift).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    language = models.CharField(max_length=8, blank=True, default="")
    term = models.CharField(max_length=200, blank=True, default="")
    label = models.CharField(max_length=200, blank=True, default="")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["workspace", "day"], name="insights_term_day")]


class RollupState(models.Model):
    """Whether a workspace's rollups are complete, and for which clock they were counted.

    A new workspace, or one whose time zone or business hours changed, is rebuilt
    conversation by conversation (`rebuilt_upto`); until `ready`, the dashboard
    reads the raw rows.
    """

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    clock_key = models.CharField(max_length=64, blank=True, default="")
    ready = models.BooleanField(default=False)
    rebuilt_upto = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)


class RollupCursor(models.Model):
    """How far the rollup drain read the Activity log (one row), with the ids left behind
    by transactions that committed out of order (as `notifications.LogCursor`)."""

    name = models.CharField(max_length=32, unique=True)
    last_id = models.BigIntegerField(default=0)
    gaps = models.JSONField(default=list, blank=True)


class CommunityType(models.TextChoices):
    SUPPORT = "support", _("Customer support")
    FANS = "fans", _("Fans of a brand or a title")
    AUDIENCE = "audience", _("News or blog audience")
    INTEREST = "interest", _("Thematic interest group")
    PRODUCT = "product", _("A product's users")


class CommunityProfile(models.Model):
    """The kind of community a workspace runs (`insights.community.CommunityType`)."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind of community"), max_length=16, choices=CommunityType.choices)
    chosen_at = models.DateTimeField(auto_now=True)


class WeeklyReportSent(models.Model):
    """A member's weekly report of one week (its Monday, workspace time zone): sent once."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    week = models.DateField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "week"], name="weekly_report_member_week_uniq"
            )
        ]


class GoalWatch(models.Model):
    """When the goals of a workspace were last checked for conversations that endanger them."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    checked_at = models.DateTimeField()
