"""Forms of the members, teams, settings and profile pages (actions validate again)."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from .choices import (
    ROLE_RANK,
    Availability,
    NotificationEvent,
    NotificationMedium,
    Role,
)
from .models import Member


def split_list(value: str) -> list[str]:
    """ "fr, en;de" → ["fr", "en", "de"]: the text fields that hold lists."""
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]


def roles_up_to(role: str) -> list[tuple[str, str]]:
    """The roles a member with `role` may grant (their own and below)."""
    rank = ROLE_RANK.get(role, -1)
    return [(value, str(label)) for value, label in Role.choices if ROLE_RANK[value] <= rank]


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.AGENT)

    def __init__(self, actor_role: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = roles_up_to(actor_role)  # type: ignore[attr-defined]  # ChoiceField


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class AcceptForm(forms.Form):
    """A new login for someone who accepts an invitation without one."""

    username = forms.CharField(label=_("Username"), max_length=150)
    display_name = forms.CharField(
        label=_("Name shown to the team"), max_length=120, required=False
    )
    password = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        validate_password(password)
        return password


def _timezone_choices() -> list[tuple[str, str]]:
    return [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]


class WorkspaceForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    timezone = forms.ChoiceField(label=_("Time zone"), choices=_timezone_choices)
    languages = forms.CharField(
        label=_("Languages"),
        max_length=200,
        help_text=_("ISO codes separated by commas, the main one first (e.g. fr, en)."),
    )


class ProfileForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=120, required=False)
    languages = forms.CharField(
        label=_("Languages I speak"),
        max_length=200,
        required=False,
        help_text=_("ISO codes separated by commas (e.g. fr, en, es)."),
    )
    skills = forms.CharField(
        label=_("Skills"),
        max_length=1000,
        required=False,
        help_text=_("Free tags separated by commas (e.g. billing, delivery, German)."),
    )
    availability = forms.ChoiceField(
        label=_("Availability"), choices=Availability.choices, widget=forms.RadioSelect
    )
    capacity = forms.IntegerField(
        label=_("Capacity"),
        min_value=0,
        max_value=500,
        required=False,
        help_text=_(
            "The most open conversations automatic assignment gives you; empty: the workspace's default."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for event, event_label in NotificationEvent.choices:
            for medium, medium_label in NotificationMedium.choices:
                self.fields[f"notify_{event}_{medium}"] = forms.BooleanField(
                    label=f"{event_label} — {medium_label}", required=False
                )

    @staticmethod
    def initial_for(member: Member) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "display_name": member.display_name,
            "languages": ", ".join(member.languages),
            "skills": ", ".join(member.skills),
            "availability": member.availability,
            "capacity": member.capacity,
        }
        for event in NotificationEvent.values:
            for medium in NotificationMedium.values:
                initial[f"notify_{event}_{medium}"] = bool(
                    member.notifications.get(event, {}).get(medium, False)
                )
        return initial

    def notification_rows(self) -> list[tuple[str, list[forms.BoundField]]]:
        """One row per event with a checkbox per medium (the template's table)."""
        return [
            (str(label), [self[f"notify_{event}_{medium}"] for medium in NotificationMedium.values])
            for event, label in NotificationEvent.choices
        ]

    def notifications(self) -> dict[str, dict[str, bool]]:
        return {
            event: {
                medium: bool(self.cleaned_data.get(f"notify_{event}_{medium}"))
                for medium in NotificationMedium.values
            }
            for event in NotificationEvent.values
        }


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Team name"), max_length=80)
    members = forms.TypedMultipleChoiceField(
        label=_("Members"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, members: list[Member], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["members"].choices = [(m.pk, m.name) for m in members]  # type: ignore[attr-defined]  # ChoiceField


class CapacityForm(forms.Form):
    """A member's capacity, set by a manager on the members page (empty: the workspace's default)."""

    capacity = forms.IntegerField(label=_("Capacity"), min_value=0, max_value=500, required=False)
