"""Forms of the webhook settings page."""

from __future__ import annotations

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cercle.workspaces.choices import Verb


def event_choices() -> list[tuple[str, str | Promise]]:
    """Every Activity verb, by its label (the replies app's approvals included)."""
    extra: list[tuple[str, str | Promise]] = [
        ("reply_submitted", _("reply awaiting approval")),
        ("reply_approved", _("reply approved")),
        ("reply_rejected", _("reply sent back")),
    ]
    known = {value for value, _label in Verb.choices}
    verbs: list[tuple[str, str | Promise]] = [(v, label) for v, label in Verb.choices]
    return verbs + [(v, label) for v, label in extra if v not in known]


class WebhookEndpointForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("A public http(s) address; Cercle posts signed JSON to it."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=event_choices,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("None chosen: every event."),
    )


class WebhookEventsForm(forms.Form):
    is_active = forms.BooleanField(label=_("Active"), required=False)
    events = forms.MultipleChoiceField(choices=event_choices, required=False)
