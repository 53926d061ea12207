"""The form of the API tokens page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cercle.workspaces.choices import Role
from cercle.workspaces.forms import roles_up_to

# Days a new token lives; 0 = until revoked.
EXPIRY_CHOICES = [
    ("30", _("30 days")),
    ("90", _("90 days")),
    ("365", _("1 year")),
    ("0", _("No expiry (until revoked)")),
]


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=80,
        widget=forms.TextInput(
            attrs={"placeholder": _("What the token is for, e.g. “Weekly export script”.")}
        ),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.VIEWER)
    expires_in = forms.ChoiceField(label=_("Expires"), choices=EXPIRY_CHOICES, initial="90")

    def __init__(self, actor_role: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = roles_up_to(actor_role)  # type: ignore[attr-defined]  # ChoiceField
