"""The rule form: a name, a mode, up to four conditions and four actions, chosen from lists."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cercle.workspaces.models import Workspace

from .choices import ConditionField, RuleAction, RuleMode
from .models import HouseRule, Rule
from .rules import rule_channels, unavailable_actions

ROWS = 4
# Conditions whose value is a list (comma-separated in the form).
LIST_FIELDS = {
    ConditionField.CHANNEL,
    ConditionField.PLATFORM,
    ConditionField.KIND,
    ConditionField.LANGUAGE,
    ConditionField.TEXT_CONTAINS,
    ConditionField.SENTIMENT,
    ConditionField.INTENT,
    ConditionField.CONVERSATION_STATUS,
    ConditionField.PERSONA,
    ConditionField.POST,
    ConditionField.POST_TEXT_CONTAINS,
}
# Conditions on one label's score, typed "negative 0.8" (or "negative: 0.8", "negative >= 0.8").
SCORE_FIELDS = {ConditionField.SENTIMENT_SCORE, ConditionField.INTENT_SCORE}
_SCORE = re.compile(r"\s*([a-z_]+)\s*(?:[:≥>=]+\s*|\s+)([0-9]*[.,]?[0-9]+)\s*", re.IGNORECASE)


def parse_score(raw: str) -> dict[str, Any]:
    """{"label", "at_least"} from what was typed ("negative 0.8"); the action checks the values."""
    found = _SCORE.fullmatch(raw)
    if found is None:
        return {"label": raw.strip()[:40], "at_least": None}
    return {"label": found[1].lower(), "at_least": float(found[2].replace(",", "."))}


def show_value(value: Any) -> Any:
    """A saved condition's value as the form shows it."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return f"{value.get('label', '')} {value.get('at_least', '')}".strip()
    return value


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    mode = forms.ChoiceField(label=_("Mode"), choices=RuleMode.choices, initial=RuleMode.OFF)
    position = forms.IntegerField(label=_("Order"), min_value=0, initial=0)
    stop = forms.BooleanField(label=_("Stop after this rule"), required=False)
    house_rule = forms.ModelChoiceField(
        label=_("House rule it enforces"), queryset=HouseRule.objects.none(), required=False
    )

    def __init__(
        self, *args: Any, workspace: Workspace, rule: Rule | None = None, **kwargs: Any
    ) -> None:
        if rule is not None and "initial" not in kwargs:
            initial: dict[str, Any] = {
                "name": rule.name,
                "mode": rule.mode,
                "position": rule.position,
                "stop": rule.stop,
                "house_rule": rule.house_rule,
            }
            for i, condition in enumerate(rule.conditions[:ROWS]):
                value = condition.get("value")
                initial[f"condition_{i}"] = condition.get("field")
                initial[f"condition_value_{i}"] = show_value(value)
            for i, action in enumerate(rule.actions[:ROWS]):
                initial[f"action_{i}"] = action.get("type")
                initial[f"action_value_{i}"] = action.get("value", "")
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        # Actions offered by what the channels the rule applies to can do (all channels for now).
        self.unavailable = unavailable_actions(
            rule_channels(workspace.pk, rule.conditions if rule is not None else [])
        )
        action_choices = [
            (
                value,
                _("%(action)s (no channel of this rule can do it)") % {"action": label}
                if value in self.unavailable
                else label,
            )
            for value, label in RuleAction.choices
        ]
        self.fields["house_rule"].queryset = HouseRule.objects.filter(workspace=workspace)  # type: ignore[attr-defined]  # a ModelChoiceField
        for i in range(ROWS):
            self.fields[f"condition_{i}"] = forms.ChoiceField(
                label=_("Condition"), choices=[("", "—"), *ConditionField.choices], required=False
            )
            self.fields[f"condition_value_{i}"] = forms.CharField(
                label=_("Value"), required=False, max_length=1000
            )
        for i in range(ROWS):
            self.fields[f"action_{i}"] = forms.ChoiceField(
                label=_("Action"), choices=[("", "—"), *action_choices], required=False
            )
            self.fields[f"action_value_{i}"] = forms.CharField(
                label=_("Value"), required=False, max_length=2000
            )

    def conditions(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i in range(ROWS):
            name = self.cleaned_data.get(f"condition_{i}")
            if not name:
                continue
            raw = str(self.cleaned_data.get(f"condition_value_{i}", "")).strip()
            value: Any = (
                [v.strip() for v in raw.split(",") if v.strip()] if name in LIST_FIELDS else raw
            )
            if name in (ConditionField.FIRST_TIME_AUTHOR, ConditionField.IN_BUSINESS_HOURS):
                value = raw.lower() not in {"no", "non", "false", "0"}
            elif name in SCORE_FIELDS:
                value = parse_score(raw)
            out.append({"field": name, "value": value})
        return out

    def clean(self) -> dict[str, Any]:
        """Refuse an action that no channel the rule applies to can do (and say why)."""
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        channels = rule_channels(self.workspace.pk, self.conditions())
        unavailable = unavailable_actions(channels)
        for i in range(ROWS):
            kind = cleaned.get(f"action_{i}")
            if kind in unavailable:
                self.add_error(
                    f"action_{i}",
                    _(
                        "“%(action)s” is not possible on the channels this rule applies to "
                        "(%(platforms)s): their platform does not allow it."
                    )
                    % {
                        "action": RuleAction(kind).label,
                        "platforms": ", ".join(sorted({c.platform for c in channels}))
                        or _("no channel"),
                    },
                )
        return cleaned

    def actions(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i in range(ROWS):
            kind = self.cleaned_data.get(f"action_{i}")
            if kind:
                out.append(
                    {
                        "type": kind,
                        "value": str(self.cleaned_data.get(f"action_value_{i}", "")).strip(),
                    }
                )
        return out


class HouseRuleForm(forms.Form):
    number = forms.IntegerField(label=_("Number"), min_value=1, max_value=999)
    text_fr = forms.CharField(
        label=_("In French"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    text_en = forms.CharField(
        label=_("In English"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
