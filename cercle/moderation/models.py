"""Rules (conditions → actions, live / suggest only / off), their suggestions, and house rules."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from cercle.core import clock

from .choices import CrisisSignal, RuleMode, SuggestionState


class HouseRule(models.Model):
    """One numbered item of the community's guidelines, in French and English.

    Every hide, delete or ban (by a person or a rule) may cite the item it enforces.
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="house_rules"
    )
    number = models.PositiveSmallIntegerField(_("number"))
    text_fr = models.TextField(_("text in French"))
    text_en = models.TextField(_("text in English"))

    class Meta:
        ordering = ["number"]
        constraints = [
            # The public page lists them by number; a number is cited in moderation activities.
            models.UniqueConstraint(
                fields=["workspace", "number"], name="houserule_ws_number_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.text_en[:60]}"

    def text(self, language: str) -> str:
        return self.text_fr if language == "fr" else self.text_en


class Rule(models.Model):
    """Automation: when every condition holds for a new inbound message, do the actions.

    `conditions` is a list of {"field", "value"} (see choices.ConditionField),
    `actions` a list of {"type", "value"} (see choices.RuleAction). Rules run in
    `position` order; `stop` ends the run for that message when the rule fired.
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="rules"
    )
    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    mode = models.CharField(_("mode"), max_length=8, choices=RuleMode.choices, default=RuleMode.OFF)
    stop = models.BooleanField(_("stop after this rule"), default=False)
    conditions = models.JSONField(default=list)
    actions = models.JSONField(default=list)
    house_rule = models.ForeignKey(
        HouseRule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("house rule it enforces"),
    )
    # At most this many automated platform actions (hide, delete, ban, reply) per channel and hour.
    hourly_limit = models.PositiveIntegerField(
        _("platform actions per channel and hour"), default=60
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["position", "id"]
        indexes = [
            # The rules stage loads a workspace's rules that are not off, in order.
            models.Index(fields=["workspace", "mode", "position"], name="rule_ws_mode_pos_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Suggestion(models.Model):
    """What a suggest-only rule would have done to a message, waiting for a person's decision.

    Without a rule, the suggestion is to hide the message, from the workspace's
    "should hide" head (learnt from the team's hides; `score` is its probability).
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    rule = models.ForeignKey(
        Rule, on_delete=models.CASCADE, related_name="suggestions", null=True, blank=True
    )
    message = models.ForeignKey("inbox.Message", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        "inbox.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(
        max_length=16, choices=SuggestionState.choices, default=SuggestionState.PENDING
    )
    created_at = models.DateTimeField(default=clock.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    # A learnt suggestion's probability and the head that gave it (empty for a rule's).
    score = models.FloatField(null=True, blank=True)
    model = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        constraints = [
            # A rule suggests once per message, however often it is evaluated.
            models.UniqueConstraint(
                fields=["rule", "message"], name="suggestion_rule_message_uniq"
            ),
            # The learnt "should hide" head suggests once per message too.
            models.UniqueConstraint(
                fields=["message"],
                condition=models.Q(rule__isnull=True),
                name="suggestion_learnt_message_uniq",
            ),
        ]
        indexes = [
            # The moderation queue: WHERE workspace=? AND state='pending' ORDER BY id.
            models.Index(fields=["workspace", "state", "id"], name="suggestion_queue_idx"),
        ]


class PulseCursor(models.Model):
    """How far the pulse aggregation has read the inbound messages (one row, `name="pulse"`)."""

    name = models.CharField(max_length=32, unique=True)
    last_message_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.last_message_id}"


class Pulse(models.Model):
    """Inbound messages of a channel (post NULL) or of one post, per quarter hour.

    Filled once per message by `actions.do_aggregate_pulses`, after the message
    was labelled: the baseline the crisis alert compares the last hour with,
    without reading weeks of messages again on every check.
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    channel = models.ForeignKey("connectors.Channel", on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(
        "inbox.Post", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    start = models.DateTimeField()
    messages = models.PositiveIntegerField(default=0)
    # Of those, how many were labelled with a sentiment, and how many of them negative.
    classified = models.PositiveIntegerField(default=0)
    negative = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            # The crisis check: WHERE workspace=? AND start >= ? (the last hour, the last week).
            models.Index(fields=["workspace", "start"], name="pulse_ws_start_idx"),
            # The aggregation adds to existing rows: WHERE channel IN (…) AND start IN (…).
            models.Index(fields=["channel", "start"], name="pulse_channel_start_idx"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.channel_id}/{self.post_id or '-'} {self.start:%Y-%m-%d %H:%M} {self.messages}"
        )


class CrisisAlert(models.Model):
    """The volume or the negative share of a channel or a post rose well above its baseline."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    channel = models.ForeignKey("connectors.Channel", on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(
        "inbox.Post", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    signal = models.CharField(_("signal"), max_length=16, choices=CrisisSignal.choices)
    started_at = models.DateTimeField()
    # The last check that still saw it; it ends after a quiet hour.
    last_seen_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # What the last hour showed against what is usual: messages per hour, or a negative share.
    observed = models.FloatField()
    baseline = models.FloatField()
    peak = models.FloatField()
    history_hours = models.PositiveIntegerField(default=0)
    acknowledged_by = models.ForeignKey(
        "workspaces.Member", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            # The banner on every page: WHERE workspace=? AND ended_at IS NULL.
            models.Index(
                fields=["workspace", "started_at"],
                condition=models.Q(ended_at__isnull=True),
                name="crisis_ws_active_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.signal} on {self.channel_id}/{self.post_id or '-'} since {self.started_at}"

    @property
    def is_active(self) -> bool:
        return self.ended_at is None

    @property
    def observed_count(self) -> int:
        """The volume alert's messages in its last hour, as a whole number."""
        return round(self.observed)


class CustomLabel(models.Model):
    """A label the workspace defines for its own messages ("delivery problem", "job application")."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=60)
    description = models.CharField(_("description"), max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="customlabel_ws_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def task(self) -> str:
        return f"custom:{self.pk}"


class LabelExample(models.Model):
    """What a member said a message is: one labelled example for that workspace's own heads.

    `task` is "sentiment", "intent", "needs_reply" or "custom:<CustomLabel id>"; the
    latest correction of a message for a task wins (one row per message and task).
    `vector` caches the message's embedding once the trainer computed it.
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    message = models.ForeignKey("inbox.Message", on_delete=models.CASCADE, related_name="+")
    task = models.CharField(max_length=40)
    label = models.CharField(max_length=40)
    member = models.ForeignKey(
        "workspaces.Member", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    vector = models.BinaryField(null=True, blank=True)
    vector_model = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "task"], name="labelexample_msg_task_uniq"),
        ]
        indexes = [
            # The trainer reads a workspace's examples of one task, newest first.
            models.Index(fields=["workspace", "task", "-id"], name="labelexample_ws_task_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task}={self.label} ({self.message_id})"


class WorkspaceHead(models.Model):
    """A head trained on one workspace's examples for one task, with its held-out evaluation.

    It replaces the shipped model for that workspace only while `active`, which the
    trainer sets when it measured better than the default on the same held-out split.
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    task = models.CharField(max_length=40)
    # The head as a .npz (classifiers.heads.Head), trained on `embedder`'s space.
    weights = models.BinaryField()
    examples = models.PositiveIntegerField(default=0)
    held_out = models.PositiveIntegerField(default=0)
    # {label: {"precision": p, "recall": r, "support": n}} on the held-out split.
    scores = models.JSONField(default=dict)
    accuracy = models.FloatField(default=0.0)
    # What it is compared with on the same split: the shipped model, or always the commonest label.
    baseline_accuracy = models.FloatField(default=0.0)
    baseline = models.CharField(max_length=100, blank=True, default="")
    active = models.BooleanField(default=False)
    trained_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "task"], name="workspacehead_ws_task_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id}/{self.task} {self.accuracy:.2f}"


class MessageLabel(models.Model):
    """A custom label on a message: said by a member, or predicted by the workspace's head."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    message = models.ForeignKey("inbox.Message", on_delete=models.CASCADE, related_name="+")
    label = models.ForeignKey(CustomLabel, on_delete=models.CASCADE, related_name="+")
    applies = models.BooleanField(default=True)
    score = models.FloatField(null=True, blank=True)
    by_member = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "label"], name="messagelabel_msg_label_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label_id} on {self.message_id}"


class MessageVector(models.Model):
    """An inbound message's sentence embedding, kept by the classify drain that computed it.

    Reply suggestions look for the nearest messages the team already answered
    (`suggestions.py`); `model` is the embedder's version (vectors of another
    embedder are not compared).
    """

    message = models.OneToOneField(
        "inbox.Message", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    vector = models.BinaryField()
    model = models.CharField(max_length=100)

    class Meta:
        indexes = [
            # A workspace's index is built from its vectors: WHERE workspace=? AND model=?, and
            # checked for new ones with MAX(message_id) under the same filter.
            models.Index(
                fields=["workspace", "model", "message"], name="messagevector_ws_model_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"vector of {self.message_id}"
