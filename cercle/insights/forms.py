"""Forms of the insights pages: a goal, a persona."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cercle.workspaces.models import Member, Workspace

from .models import Goal, Persona


class GoalForm(forms.ModelForm):  # type: ignore[type-arg]  # generic only in the stubs
    class Meta:
        model = Goal
        fields = [
            "name",
            "kpi",
            "minutes",
            "business_hours",
            "comparison",
            "target",
            "period",
            "owner",
        ]
        help_texts = {
            "target": _(
                "In percent for a share or a growth (90 means 90 %), in minutes for a time."
            ),
            "minutes": _("Only for the “answered within” figures."),
        }

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only this workspace's members can own a goal.
        self.fields["owner"] = forms.ModelChoiceField(
            label=_("Owner"),
            queryset=Member.objects.filter(workspace=workspace, is_active=True).select_related(
                "user"
            ),
            required=False,
            empty_label=_("Nobody"),
        )


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.replace(";", ",").split(",") if w.strip()]


class PersonaForm(forms.Form):
    """A persona: the team's description, and its conditions as plain fields (all must hold)."""

    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Who these people are, what motivates them, why they joined the community."),
    )
    languages = forms.CharField(
        label=_("Languages"), required=False, help_text=_("Codes, comma-separated: fr, en")
    )
    platforms = forms.MultipleChoiceField(
        label=_("Platforms"), required=False, widget=forms.CheckboxSelectMultiple
    )
    tags = forms.CharField(
        label=_("Tags of their conversations"), required=False, help_text=_("Comma-separated")
    )
    topics = forms.CharField(
        label=_("Topics they write about"),
        required=False,
        help_text=_(
            "Comma-separated words or phrases (any of them; a phrase needs all its words): "
            "delivery, volt cargo, remboursement"
        ),
    )
    followers_min = forms.IntegerField(
        label=_("Followers at least"),
        required=False,
        min_value=1,
        help_text=_("Where the platform gives it (X, Mastodon); an unknown count never matches."),
    )
    active_days = forms.IntegerField(
        label=_("Active over the last (days)"), required=False, min_value=1, max_value=366
    )
    active_min = forms.IntegerField(
        label=_("with at least (messages)"), required=False, min_value=1
    )
    negative_percent = forms.FloatField(
        label=_("Negative share of their messages at least (%)"),
        required=False,
        min_value=0,
        max_value=100,
    )
    returning = forms.ChoiceField(
        label=_("First-time or returning"),
        required=False,
        choices=[
            ("", _("Either")),
            ("first", _("First-time (one conversation)")),
            ("returning", _("Returning (several conversations)")),
        ],
    )

    def __init__(self, *args: Any, platforms: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["platforms"].choices = platforms  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("active_days")) != bool(data.get("active_min")):
            raise forms.ValidationError(_("Give both the days and the number of messages."))
        return data

    def conditions(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        out: list[dict[str, Any]] = []
        for kind, values in (
            ("language", _words(data["languages"])),
            ("platform", list(data["platforms"])),
            ("tag", _words(data["tags"])),
            ("topic", _words(data["topics"])),
        ):
            if values:
                out.append({"kind": kind, "values": values})
        if data.get("active_days"):
            out.append({"kind": "activity", "days": data["active_days"], "min": data["active_min"]})
        if data.get("negative_percent") is not None:
            out.append({"kind": "negative", "percent": data["negative_percent"]})
        if data.get("returning"):
            out.append({"kind": "returning", "value": data["returning"] == "returning"})
        if data.get("followers_min"):
            out.append({"kind": "followers", "min": data["followers_min"]})
        return out

    @staticmethod
    def initial_for(persona: Persona) -> dict[str, Any]:
        initial: dict[str, Any] = {"name": persona.name, "description": persona.description}
        for condition in persona.conditions:
            kind = condition.get("kind")
            if kind == "language":
                initial["languages"] = ", ".join(condition["values"])
            elif kind == "platform":
                initial["platforms"] = condition["values"]
            elif kind == "tag":
                initial["tags"] = ", ".join(condition["values"])
            elif kind == "topic":
                initial["topics"] = ", ".join(condition["values"])
            elif kind == "activity":
                initial["active_days"], initial["active_min"] = condition["days"], condition["min"]
            elif kind == "negative":
                initial["negative_percent"] = condition["percent"]
            elif kind == "returning":
                initial["returning"] = "returning" if condition["value"] else "first"
            elif kind == "followers":
                initial["followers_min"] = condition["min"]
        return initial
