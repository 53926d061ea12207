"""The sign-in security page: lockouts (lifted by owners and admins), two-factor authentication."""

from __future__ import annotations

from base64 import b32encode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from cercle.workspaces.choices import Permission
from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member
from cercle.workspaces.queries import member_in, members_of
from cercle.workspaces.views import roles_allowed

from .actions import (
    do_confirm_two_factor,
    do_disable_two_factor,
    do_reset_two_factor,
    do_set_sign_in_policy,
    do_unlock_login,
)
from .lockout import failure_limit, lockout_minutes
from .models import SignInPolicy
from .queries import lockouts_in
from .twofactor import (
    has_two_factor,
    members_with_two_factor,
    new_recovery_codes,
    pending_authenticator,
    qr_code_data_uri,
    required_for,
    verified_device,
)


@member_required("view")
def security_page(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    can_manage = member.can(Permission.MANAGE_MEMBERS)
    members = members_of(member.workspace)
    policy = SignInPolicy.objects.filter(workspace=member.workspace).first()
    return render(
        request,
        "accounts/security.html",
        {
            "can_manage": can_manage,
            "can_require": member.can(Permission.MANAGE_WORKSPACE),
            "require_two_factor": bool(policy and policy.require_two_factor),
            "members": members if can_manage else [],
            "with_two_factor": members_with_two_factor(members) if can_manage else set(),
            "my_two_factor": has_two_factor(member.user),
            "lockouts": lockouts_in(member.workspace) if can_manage else [],
            "failure_limit": failure_limit(),
            "lockout_minutes": lockout_minutes(),
            "who_may_change": roles_allowed(Permission.MANAGE_MEMBERS),
            "active_tab": "security",
        },
    )


@require_POST
@member_required(Permission.MANAGE_MEMBERS)
def unlock_login(request: HttpRequest, member_id: int) -> HttpResponse:
    actor = current_member(request)
    target = member_in(actor.workspace, member_id)
    try:
        do_unlock_login(actor, target)
    except PermissionDenied:
        messages.error(request, _("You may not do this."))
    else:
        messages.success(request, _("%(name)s can sign in again.") % {"name": target.name})
    return redirect("accounts:security")


# --- two-factor authentication ----------------------------------------------------------------


@member_required("view")
def two_factor_page(request: HttpRequest) -> HttpResponse:
    """Set up, or turn off, the member's own two-factor authentication."""
    member = current_member(request)
    user = member.user
    context: dict[str, object] = {"active_tab": "security", "required": required_for(user)}
    if request.method == "POST" and request.POST.get("action") == "disable":
        if do_disable_two_factor(member, request.POST.get("code", "")):
            messages.success(request, _("Two-factor authentication is off."))
            return redirect("accounts:two_factor")
        context["error"] = _("That code is not valid.")
    elif request.method == "POST" and request.POST.get("action") == "recovery":
        if verified_device(user, request.POST.get("code", "")) is None:
            context["error"] = _("That code is not valid.")
        else:
            context["recovery_codes"] = new_recovery_codes(user)
    elif request.method == "POST":
        device = pending_authenticator(user)
        codes = do_confirm_two_factor(member, device, request.POST.get("code", ""))
        if codes is None:
            context["error"] = _("That code is not valid.")
        else:
            otp_login(request, device)
            context["recovery_codes"] = codes
    enabled = has_two_factor(user)
    context["enabled"] = enabled
    if not enabled:
        device = pending_authenticator(user)
        context["secret"] = b32encode(device.bin_key).decode()
        context["qr_code"] = qr_code_data_uri(device.config_url)
    return render(
        request,
        "accounts/two_factor.html",
        context,
        status=422 if "error" in context else 200,
    )


@login_required
def verify_page(request: HttpRequest) -> HttpResponse:
    """The second step of a sign-in: a code from the authenticator app, or a recovery code."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    error = ""
    if request.method == "POST":
        device = verified_device(request.user, request.POST.get("code", ""))
        if device is not None:
            otp_login(request, device)
            return redirect(next_url or "inbox:index")
        error = _("That code is not valid.")
    return render(
        request,
        "accounts/verify.html",
        {"next": next_url, "error": error, "page_body_class": "page-login"},
        status=422 if error else 200,
    )


@require_POST
@member_required(Permission.MANAGE_MEMBERS)
def reset_two_factor(request: HttpRequest, member_id: int) -> HttpResponse:
    actor = current_member(request)
    target = member_in(actor.workspace, member_id)
    do_reset_two_factor(actor, target)
    messages.success(
        request,
        _("%(name)s's two-factor authentication was removed.") % {"name": target.name},
    )
    return redirect("accounts:security")


@require_POST
@member_required(Permission.MANAGE_WORKSPACE)
def sign_in_policy(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    do_set_sign_in_policy(
        member, member.workspace, require_two_factor=request.POST.get("require_two_factor") == "on"
    )
    messages.success(request, _("Sign-in requirements saved."))
    return redirect("accounts:security")
