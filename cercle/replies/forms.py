"""Forms of the saved replies settings (one text per language) and of the approval policy."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from cercle.connectors.models import Channel
from cercle.workspaces.choices import ROLE_PERMISSIONS, Permission, Role
from cercle.workspaces.models import Member, Workspace

from .models import ApprovalPolicy, SavedReply
from .variables import VARIABLES, base_language, validate_variables

LANGUAGE_NAMES = {"fr": _("French"), "en": _("English")}


def _language_label(code: str) -> str:
    return str(LANGUAGE_NAMES.get(code, code.upper()))


def used_saved_replies(data: Any) -> list[int]:
    """The ids the `/` picker put in the reply box's hidden `saved_replies` field ("3,7")."""
    ids: list[int] = []
    for part in str(data.get("saved_replies", "") or "").split(",")[:20]:
        if part.strip().isdigit() and len(part.strip()) < 12:
            ids.append(int(part.strip()))
    return ids


class SavedReplyForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    shortcut = forms.SlugField(
        label=_("Shortcut"),
        max_length=40,
        required=False,
        help_text=_("Typed after / in the reply box, e.g. delivery."),
    )
    tags = forms.CharField(
        label=_("Tags"), max_length=400, required=False, help_text=_("Separated by commas.")
    )

    def __init__(
        self, *args: Any, workspace: Workspace, saved_reply: SavedReply | None = None, **kwargs: Any
    ) -> None:
        existing = {v.language: v.text for v in saved_reply.versions.all()} if saved_reply else {}
        if saved_reply is not None:
            kwargs.setdefault(
                "initial",
                {
                    "title": saved_reply.title,
                    "shortcut": saved_reply.shortcut,
                    "tags": ", ".join(saved_reply.tags or []),
                    **{f"text_{code}": text for code, text in existing.items()},
                },
            )
        super().__init__(*args, **kwargs)
        codes: list[str] = []
        for code in [*(workspace.languages or []), workspace.language, *existing]:
            code = base_language(str(code))
            if code and code.isalpha() and code not in codes:
                codes.append(code)
        self.languages = codes
        variables = ", ".join(f"{{{{ {name} }}}}" for name in VARIABLES)
        for code in codes:
            self.fields[f"text_{code}"] = forms.CharField(
                label=_("Text in %(language)s") % {"language": _language_label(code)},
                required=False,
                widget=forms.Textarea(attrs={"rows": 5, "lang": code}),
                validators=[validate_variables],
                help_text=_("Variables: %(variables)s") % {"variables": variables},
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not any((data.get(f"text_{code}") or "").strip() for code in self.languages):
            raise ValidationError(_("Write the text in at least one language."))
        return data

    def versions(self) -> dict[str, str]:
        return {code: self.cleaned_data.get(f"text_{code}") or "" for code in self.languages}

    def tag_list(self) -> list[str]:
        return [t for t in (self.cleaned_data.get("tags") or "").split(",") if t.strip()]


def _roles_that_may_be_held() -> list[tuple[str, Any]]:
    """Roles that reply without approving: the only ones a policy can hold."""
    return [
        (value, label)
        for value, label in Role.choices
        if Permission.REPLY in ROLE_PERMISSIONS[value]
        and Permission.APPROVE_REPLIES not in ROLE_PERMISSIONS[value]
    ]


class MemberChoice(forms.ModelMultipleChoiceField[Member]):
    def label_from_instance(self, obj: Member) -> str:
        return f"{obj.name} ({obj.get_role_display()})"


class ApprovalPolicyForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=_("Every member with the role"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=_roles_that_may_be_held,
    )
    members = MemberChoice(
        label=_("These members"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        queryset=Member.objects.none(),
    )
    channels = forms.ModelMultipleChoiceField(
        label=_("Every reply on these channels"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        queryset=Channel.objects.none(),
    )

    def __init__(
        self, *args: Any, workspace: Workspace, policy: ApprovalPolicy | None = None, **kwargs: Any
    ) -> None:
        if policy is not None:
            kwargs.setdefault(
                "initial",
                {
                    "roles": policy.roles,
                    "members": list(policy.members.all()),
                    "channels": list(policy.channels.all()),
                },
            )
        super().__init__(*args, **kwargs)
        held_roles = [value for value, _label in _roles_that_may_be_held()]
        members = self.fields["members"]
        assert isinstance(members, forms.ModelMultipleChoiceField)
        members.queryset = (
            Member.objects.filter(workspace=workspace, is_active=True, role__in=held_roles)
            .select_related("user")
            .order_by("display_name", "id")
        )
        channels = self.fields["channels"]
        assert isinstance(channels, forms.ModelMultipleChoiceField)
        channels.queryset = Channel.objects.filter(workspace=workspace).order_by("name", "id")
