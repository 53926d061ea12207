"""Rules (conditions → actions, live / suggest only / off), their suggestions, and house rules."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from cercle.core import clock

from .choices import RuleMode, SuggestionState


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
    """What a suggest-only rule would have done to a message, waiting for a person's decision."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="suggestions")
    message = models.ForeignKey("inbox.Message", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        "inbox.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(
        max_length=16, choices=SuggestionState.choices, default=SuggestionState.PENDING
    )
    created_at = models.DateTimeField(default=clock.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A rule suggests once per message, however often it is evaluated.
            models.UniqueConstraint(
                fields=["rule", "message"], name="suggestion_rule_message_uniq"
            ),
        ]
        indexes = [
            # The moderation queue: WHERE workspace=? AND state='pending' ORDER BY id.
            models.Index(fields=["workspace", "state", "id"], name="suggestion_queue_idx"),
        ]
