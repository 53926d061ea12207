"""Privacy pages: the retention setting, a contact's export (download) and erasure."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member
from cercle.workspaces.views import roles_allowed

from .actions import PRIVACY_PERMISSION, do_erase_contact, do_export_contact, do_set_retention
from .queries import contact_in, retention_days


class RetentionForm(forms.Form):
    message_days = forms.IntegerField(
        label=gettext_lazy("Delete messages older than (days)"),
        min_value=1,
        max_value=36500,
        required=False,
        help_text=gettext_lazy("Empty: keep every message."),
    )


@member_required("view")
def privacy_page(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    can_manage = member.can(PRIVACY_PERMISSION)
    form = RetentionForm(initial={"message_days": retention_days(member.workspace)})
    if request.method == "POST":
        form = RetentionForm(request.POST)
        if form.is_valid():
            try:
                do_set_retention(member, member.workspace, form.cleaned_data["message_days"])
            except PermissionDenied:
                form.add_error(None, _("You may not do this."))
            else:
                messages.success(request, _("Retention saved."))
                return redirect("privacy:settings")
    return render(
        request,
        "privacy/settings.html",
        {
            "form": form,
            "can_manage": can_manage,
            "who_may_change": roles_allowed(PRIVACY_PERMISSION),
            "active_tab": "privacy",
        },
        status=422 if form.errors else 200,
    )


@member_required(PRIVACY_PERMISSION)
def export_contact(request: HttpRequest, contact_id: int) -> HttpResponse:
    member = current_member(request)
    contact = contact_in(member.workspace, contact_id)
    data = do_export_contact(member, contact)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@member_required(PRIVACY_PERMISSION)
def erase_contact(request: HttpRequest, contact_id: int) -> HttpResponse:
    member = current_member(request)
    contact = contact_in(member.workspace, contact_id)
    erasure = do_erase_contact(member, contact)
    messages.success(
        request,
        _("The person was erased: %(messages)d messages, %(identities)d accounts.")
        % {"messages": erasure.messages, "identities": erasure.identities},
    )
    return redirect("inbox:index")
