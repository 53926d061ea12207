"""Completes a two-factor sign-in before any page is served (after django-otp's middleware)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse

from cercle.workspaces.middleware import member_or_none

from .twofactor import has_two_factor, required_for

# Paths a signed-in user may reach before the second factor (prefixes).
_OPEN_PREFIXES = ("/logout/", "/i18n/", "/login/", "/hooks/")


class TwoFactorMiddleware:
    """A login with a confirmed device goes to the verify page until a code is given; a member
    of a workspace that requires two-factor authentication and has none goes to the setup page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = request.user
        verified = getattr(user, "is_verified", lambda: False)  # django-otp's accessor
        if user.is_authenticated and not self._open(request.path) and not verified():
            target = self._target(request)
            if target is not None:
                return HttpResponseRedirect(target)
        return self.get_response(request)

    @staticmethod
    def _open(path: str) -> bool:
        static = settings.STATIC_URL or "/static/"
        return path.startswith((*_OPEN_PREFIXES, static))

    @staticmethod
    def _target(request: HttpRequest) -> str | None:
        has_device, required = _two_factor_facts(request)
        # With a device, even the setup page waits for a code: knowing the password must not be
        # enough to add a second authenticator.
        if has_device:
            return f"{reverse('accounts:verify')}?{urlencode({'next': request.get_full_path()})}"
        setup = reverse("accounts:two_factor")
        if request.path != setup and required():
            return setup
        return None


def _two_factor_facts(request: HttpRequest) -> tuple[bool, Callable[[], bool]]:
    """Whether the login has a confirmed device, and (when asked) whether a workspace requires
    one. CurrentWorkspaceMiddleware read both with the member, on this request (no query
    here); a login in no workspace asks the database."""
    member = member_or_none(request)
    if member is not None and hasattr(member, "login_has_two_factor"):
        required = bool(getattr(member, "login_requires_two_factor", True))
        return bool(member.login_has_two_factor), lambda: required
    return has_two_factor(request.user), lambda: required_for(request.user)
