"""Forms of the workflow settings: business hours (one row per weekday, holidays as lines), SLA
policies, and routing (the workspace's and each channel's)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cercle.connectors.models import Channel
from cercle.inbox.choices import ConversationKind, Priority
from cercle.workspaces.models import Member, Team, Workspace

from .assign import PERSONA_KEY
from .choices import WEEKDAYS
from .models import BusinessHours, RoutingSettings, SlaPolicy, validate_time_zone


def _parse_intervals(text: str) -> list[list[str]]:
    """'09:00-12:00, 14:00-18:00' → [["09:00", "12:00"], ["14:00", "18:00"]]."""
    intervals = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        opening, sep, closing = part.partition("-")
        if not sep:
            raise forms.ValidationError(_("Write hours as 09:00-18:00, separated by commas."))
        intervals.append([opening.strip(), closing.strip()])
    return intervals


class BusinessHoursForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    time_zone = forms.CharField(
        label=_("Time zone"), max_length=64, validators=[validate_time_zone]
    )
    holidays = forms.CharField(
        label=_("Holidays"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line: 2026-12-25 Christmas"),
    )
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.none(),
        required=False,
        empty_label=_("The whole workspace"),
        help_text=_(
            "The hours of one team: targets counted in business hours use them for that "
            "team's conversations."
        ),
    )

    def __init__(
        self,
        *args: Any,
        instance: BusinessHours | None = None,
        workspace_id: int | None = None,
        **kwargs: Any,
    ) -> None:
        if instance is not None and not kwargs.get("initial"):
            kwargs["initial"] = {
                "team": instance.team_id,
                "name": instance.name,
                "time_zone": instance.time_zone,
                "holidays": "\n".join(
                    f"{h.day.isoformat()} {h.name}" for h in instance.holidays.all()
                ),
                **{
                    f"day_{d}": ", ".join(f"{o}-{c}" for o, c in instance.weekly.get(str(d), []))
                    for d, _label in WEEKDAYS
                },
            }
        super().__init__(*args, **kwargs)
        if workspace_id is not None:
            self.fields["team"].queryset = Team.objects.filter(  # type: ignore[attr-defined]  # a ModelChoiceField
                workspace_id=workspace_id
            )
        for day, label in WEEKDAYS:
            self.fields[f"day_{day}"] = forms.CharField(
                label=label,
                required=False,
                help_text=_("e.g. 09:00-12:00, 14:00-18:00; empty: closed"),
            )

    def weekly(self) -> dict[str, list[list[str]]]:
        return {
            str(day): intervals
            for day, _label in WEEKDAYS
            if (intervals := _parse_intervals(self.cleaned_data.get(f"day_{day}", "")))
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for day, _label in WEEKDAYS:
            try:
                _parse_intervals(cleaned.get(f"day_{day}", ""))
            except forms.ValidationError as exc:
                self.add_error(f"day_{day}", exc)
        return cleaned

    def holiday_list(self) -> list[tuple[date, str]]:
        days = []
        for line in self.cleaned_data.get("holidays", "").splitlines():
            line = line.strip()
            if not line:
                continue
            day, _sep, label = line.partition(" ")
            try:
                days.append((date.fromisoformat(day), label.strip()))
            except ValueError as exc:
                raise forms.ValidationError(
                    _("“%(line)s” does not start with a date like 2026-12-25."),
                    params={"line": line},
                ) from exc
        return days


class SlaPolicyForm(forms.ModelForm):  # type: ignore[type-arg]  # generic only in the stubs
    class Meta:
        model = SlaPolicy
        fields = [
            "name",
            "position",
            "is_active",
            "priority",
            "channel",
            "conversation_kind",
            "first_response_minutes",
            "next_response_minutes",
            "business_hours",
            "at_risk_minutes",
            "raise_priority",
            "reassign_to",
        ]

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only this workspace's rows can be chosen.
        self.fields["channel"] = forms.ModelChoiceField(
            label=_("Channel"),
            queryset=Channel.objects.filter(workspace=workspace, is_active=True),
            required=False,
            empty_label=_("Any channel"),
        )
        self.fields["business_hours"] = forms.ModelChoiceField(
            label=_("Business hours"),
            queryset=BusinessHours.objects.filter(workspace=workspace),
            required=False,
            empty_label=_("Around the clock"),
        )
        self.fields["reassign_to"] = forms.ModelChoiceField(
            label=_("Reassign on breach to"),
            queryset=Member.objects.filter(workspace=workspace, is_active=True).select_related(
                "user"
            ),
            required=False,
            empty_label=_("Nobody"),
        )
        self.fields["priority"] = forms.TypedChoiceField(
            label=_("Priority"),
            choices=[("", _("Any")), *Priority.choices],
            coerce=int,
            empty_value=None,
            required=False,
        )
        self.fields["conversation_kind"] = forms.ChoiceField(
            label=_("Conversation kind"),
            choices=[("", _("Any")), *ConversationKind.choices],
            required=False,
        )


def _skill_list(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


class RoutingSettingsForm(forms.Form):
    """Automatic assignment of a workspace: on/off, capacity, grace for "off", skills per kind."""

    auto_assign = forms.BooleanField(
        label=_("Assign new conversations automatically"), required=False
    )
    default_capacity = forms.IntegerField(
        label=_("Default capacity"),
        min_value=0,
        max_value=500,
        help_text=_("The most open conversations a member gets, unless their own capacity is set."),
    )
    off_grace_minutes = forms.IntegerField(
        label=_("Grace period for “off” (minutes)"),
        min_value=0,
        max_value=1440,
        help_text=_(
            "After this, the unanswered conversations of a member who is off go back to the team."
        ),
    )

    persona_skills = forms.CharField(
        label=_("Skills needed by persona"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One persona a line: its name, a colon, the skills (comma-separated)."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind, label in ConversationKind.choices:
            self.fields[f"skills_{kind}"] = forms.CharField(
                label=_("Skills needed: %(kind)s") % {"kind": label},
                required=False,
                max_length=400,
                help_text=_("Comma-separated; empty: none."),
            )

    @staticmethod
    def initial_for(routing: RoutingSettings) -> dict[str, Any]:
        return {
            "auto_assign": routing.auto_assign,
            "default_capacity": routing.default_capacity,
            "off_grace_minutes": routing.off_grace_minutes,
            **{
                f"skills_{kind}": ", ".join(routing.kind_skills.get(kind, []))
                for kind in ConversationKind.values
            },
            "persona_skills": "\n".join(
                f"{key[len(PERSONA_KEY) :]}: {', '.join(skills)}"
                for key, skills in routing.kind_skills.items()
                if key.startswith(PERSONA_KEY)
            ),
        }

    def kind_skills(self) -> dict[str, list[str]]:
        by_kind = {
            kind: skills
            for kind in ConversationKind.values
            if (skills := _skill_list(self.cleaned_data.get(f"skills_{kind}", "")))
        }
        for line in str(self.cleaned_data.get("persona_skills", "")).splitlines():
            persona, _colon, listed = line.partition(":")
            if persona.strip() and (skills := _skill_list(listed)):
                by_kind[PERSONA_KEY + persona.strip()[:120]] = skills
        return by_kind


class ChannelRoutingForm(forms.Form):
    """A channel's own routing (one form per channel on the routing page)."""

    auto_assign = forms.TypedChoiceField(
        label=_("Automatic assignment"),
        choices=[
            ("", _("As the workspace")),
            ("on", pgettext_lazy("setting", "On")),
            ("off", pgettext_lazy("setting", "Off")),
        ],
        coerce=lambda value: {"on": True, "off": False}.get(value),
        empty_value=None,
        required=False,
    )
    skills = forms.CharField(
        label=_("Skills needed"),
        required=False,
        max_length=400,
        help_text=_("Comma-separated; empty: none."),
    )
    members = forms.ModelMultipleChoiceField(
        label=_("Only these members"),
        queryset=Member.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None checked: every member may be given this channel's conversations."),
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        members_field = self.fields["members"]
        assert isinstance(members_field, forms.ModelMultipleChoiceField)
        members_field.queryset = Member.objects.filter(
            workspace=workspace, is_active=True
        ).select_related("user")

    def skill_list(self) -> list[str]:
        return _skill_list(self.cleaned_data.get("skills", ""))
