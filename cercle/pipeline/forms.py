"""The manual connection form, built from the fields a connector declares (`setup_fields`).

Platforms connected through OAuth need no form: the flow brings the credentials.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cercle.connectors.base import Connector


class ManualChannelForm(forms.Form):
    """Name the channel, then the connector's own fields (secrets go to encrypted credentials)."""

    name = forms.CharField(label=_("Channel name"), max_length=200)
    external_id = forms.CharField(
        label=_("Account id on the platform"),
        max_length=200,
        required=False,
        help_text=_("Optional; prevents connecting the same account twice."),
    )

    def __init__(self, connector_cls: type[Connector], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connector_cls = connector_cls
        for spec in connector_cls.setup_fields:
            field: forms.Field
            if spec.url:
                # The egress guard still vets the host when the connector calls it.
                field = forms.URLField(
                    assume_scheme="https",
                    label=spec.label,
                    required=spec.required,
                    help_text=spec.help_text,
                    max_length=500,
                )
            elif spec.secret:
                field = forms.CharField(
                    label=spec.label,
                    required=spec.required,
                    help_text=spec.help_text,
                    max_length=2000,
                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                )
            else:
                field = forms.CharField(
                    label=spec.label,
                    required=spec.required,
                    help_text=spec.help_text,
                    max_length=500,
                )
            self.fields[f"setup_{spec.name}"] = field

    def config(self) -> dict[str, Any]:
        """Non-secret values, for the channel's config."""
        return {
            spec.name: self.cleaned_data[f"setup_{spec.name}"]
            for spec in self.connector_cls.setup_fields
            if not spec.secret and self.cleaned_data.get(f"setup_{spec.name}")
        }

    def credentials(self) -> dict[str, Any]:
        """Secret values, for the channel's encrypted credentials."""
        return {
            spec.name: self.cleaned_data[f"setup_{spec.name}"]
            for spec in self.connector_cls.setup_fields
            if spec.secret and self.cleaned_data.get(f"setup_{spec.name}")
        }
