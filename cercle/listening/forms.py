"""The search form of the listening page (managers)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cercle.connectors.models import Channel

from .actions import SearchFields
from .models import ListeningSearch, PromoteWhen

TERMS_HELP = _("Separated by commas or one per line; #hashtags match only the hashtag.")


class SearchForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    all_of = forms.CharField(
        label=_("All of these words"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=TERMS_HELP,
    )
    any_of = forms.CharField(
        label=_("Any of these words"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=TERMS_HELP,
    )
    none_of = forms.CharField(
        label=_("None of these words"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    languages = forms.CharField(
        label=_("Languages"),
        required=False,
        max_length=200,
        help_text=_("Language codes such as fr, en; empty: every language."),
    )
    channels = forms.MultipleChoiceField(
        label=_("Search on"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every channel that can search."),
    )
    promote_when = forms.ChoiceField(
        label=_("Promote to the inbox by itself"),
        required=False,
        choices=PromoteWhen.choices,
        help_text=_("New mentions that meet this become conversations in the inbox."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(
        self,
        *args: Any,
        channels: list[Channel],
        search: ListeningSearch | None = None,
        **kwargs: Any,
    ) -> None:
        if search is not None and not args:
            kwargs["initial"] = {
                "name": search.name,
                "all_of": ", ".join(search.all_of),
                "any_of": ", ".join(search.any_of),
                "none_of": ", ".join(search.none_of),
                "languages": ", ".join(search.languages),
                "channels": [str(c.pk) for c in search.channels.all()],
                "active": search.active,
                "promote_when": search.promote_when,
            }
        super().__init__(*args, **kwargs)
        field = self.fields["channels"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(str(c.pk), f"{c.name} ({c.platform})") for c in channels]

    def fields_to_save(self) -> SearchFields:
        data = self.cleaned_data
        return SearchFields(
            name=data["name"],
            all_of=data["all_of"],
            any_of=data["any_of"],
            none_of=data["none_of"],
            languages=data["languages"],
            channel_ids=[int(pk) for pk in data["channels"]],
            active=data["active"],
            promote_when=data["promote_when"] or "",
        )
