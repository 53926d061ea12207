"""The rule form: a name, a mode, up to four conditions and four actions, chosen from lists."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cercle.workspaces.models import Workspace

from .choices import ConditionField, RuleAction, RuleMode
from .models import HouseRule, Rule

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
}


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
                initial[f"condition_value_{i}"] = (
                    ", ".join(value) if isinstance(value, list) else value
                )
            for i, action in enumerate(rule.actions[:ROWS]):
                initial[f"action_{i}"] = action.get("type")
                initial[f"action_value_{i}"] = action.get("value", "")
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
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
                label=_("Action"), choices=[("", "—"), *RuleAction.choices], required=False
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
            if name == ConditionField.FIRST_TIME_AUTHOR:
                value = raw.lower() not in {"no", "non", "false", "0"}
            out.append({"field": name, "value": value})
        return out

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
