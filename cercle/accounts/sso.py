"""Single sign-on with an OpenID Connect provider (mozilla-django-oidc, authorization code + PKCE).

The flow: `/login/sso/` stores a random `state`, `nonce` and PKCE verifier in the
session and sends the browser to the provider; the provider sends it back to
`/login/sso/callback/` with a code; the code is exchanged at the token endpoint
(with the client secret and the verifier) for an ID token, whose RS256 (or
configured) signature is checked against the provider's JWKS, and whose
issuer, audience (our client id), expiry, issue time and nonce must all be
right. The library checks the state and the nonce; this module adds what it
leaves out (audience, issuer, required claims, `azp`) and Cercle's own rules:

- only a **verified** e-mail (`email_verified` true) of an allowed domain gets in;
- an existing login is matched by that e-mail (case-insensitive); it must be active, and
  an operator (staff) login never signs in this way;
- a person who is not an active member of any workspace gets in only with a pending
  invitation to that e-mail (accepted on the spot) or when the operator turned on
  provisioning (`CERCLE_OIDC_PROVISION_WORKSPACE`, with a role that is never owner); a
  member deactivated there is not brought back;
- two-factor authentication still applies after single sign-on (the middleware asks for
  the code of a member who set it up, and sends members of a workspace that requires it
  to the setup page);
- the callback is not a password guess: django-axes does not count it
  (`not_a_password_attempt`); a forged callback fails on the state, the code or the
  signature, never on a guessable secret.

Every refusal is logged (without tokens) and shown on the login page with its reason.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from cercle.core import clock
from cercle.workspaces.actions import do_accept_invitation_for, do_add_member
from cercle.workspaces.models import Invitation, Member, Workspace

from .sso_config import SsoConfig

logger = logging.getLogger(__name__)

# Clock skew allowed between the provider and us when checking `exp` and `iat` (seconds).
LEEWAY_SECONDS = 60
# Why a sign-in was refused: the login page says it (and the log).
REFUSED = "refused"
UNVERIFIED = "unverified"
DOMAIN = "domain"
NOT_INVITED = "not_invited"
INACTIVE = "inactive"


def sso_config() -> SsoConfig | None:
    config = getattr(settings, "CERCLE_OIDC", None)
    return config if isinstance(config, SsoConfig) else None


def library_settings(config: SsoConfig) -> dict[str, Any]:
    """mozilla-django-oidc's settings, from Cercle's configuration (not Django's settings)."""
    return {
        "OIDC_OP_AUTHORIZATION_ENDPOINT": config.authorization_endpoint,
        "OIDC_OP_TOKEN_ENDPOINT": config.token_endpoint,
        "OIDC_OP_USER_ENDPOINT": config.userinfo_endpoint,
        "OIDC_OP_JWKS_ENDPOINT": config.jwks_uri,
        "OIDC_RP_CLIENT_ID": config.client_id,
        "OIDC_RP_CLIENT_SECRET": config.client_secret,
        "OIDC_RP_SIGN_ALGO": config.sign_algo,
        "OIDC_RP_IDP_SIGN_KEY": None,
        "OIDC_RP_SCOPES": "openid email profile",
        "OIDC_USE_NONCE": True,
        "OIDC_USE_PKCE": True,
        "OIDC_ALLOW_UNSECURED_JWT": False,
        "OIDC_VERIFY_SSL": True,
        "OIDC_TIMEOUT": float(getattr(settings, "CERCLE_HTTP_TIMEOUT", 10)),
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_STORE_ID_TOKEN": False,
        "OIDC_CREATE_USER": True,  # `create_user` below decides who may be created
        "OIDC_AUTHENTICATION_CALLBACK_URL": "accounts:sso_callback",
        "OIDC_REDIRECT_FIELD_NAME": "next",
        "LOGIN_REDIRECT_URL": settings.LOGIN_REDIRECT_URL,
        "LOGIN_REDIRECT_URL_FAILURE": settings.LOGIN_URL,
    }


def _setting(attr: str, *default: Any) -> Any:
    config = sso_config()
    values = library_settings(config) if config is not None else {}
    if attr in values:
        return values[attr]
    return import_from_settings(attr, *default)


def not_a_password_attempt(request: HttpRequest, credentials: dict[str, Any] | None) -> bool:
    """django-axes' whitelist: the single sign-on callback is not counted as a failed login."""
    return bool(request.path == reverse("accounts:sso_callback"))


def _refuse(request: HttpRequest, reason: str) -> None:
    request.sso_refusal = reason  # type: ignore[attr-defined]  # read by the callback view


def _verified(claims: dict[str, Any]) -> bool:
    value = claims.get("email_verified")
    return value is True or (isinstance(value, str) and value.lower() == "true")


class SsoBackend(OIDCAuthenticationBackend):  # type: ignore[misc]  # the library ships no types
    """mozilla-django-oidc's backend with the checks Cercle adds (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Not the library's __init__: it reads Django settings and fails when SSO is off.
        self.config = sso_config()
        self.UserModel = get_user_model()
        if self.config is not None:
            values = library_settings(self.config)
            self.OIDC_OP_TOKEN_ENDPOINT = values["OIDC_OP_TOKEN_ENDPOINT"]
            self.OIDC_OP_USER_ENDPOINT = values["OIDC_OP_USER_ENDPOINT"]
            self.OIDC_OP_JWKS_ENDPOINT = values["OIDC_OP_JWKS_ENDPOINT"]
            self.OIDC_RP_CLIENT_ID = values["OIDC_RP_CLIENT_ID"]
            self.OIDC_RP_CLIENT_SECRET = values["OIDC_RP_CLIENT_SECRET"]
            self.OIDC_RP_SIGN_ALGO = values["OIDC_RP_SIGN_ALGO"]
            self.OIDC_RP_IDP_SIGN_KEY = None

    def get_settings(self, attr: str, *default: Any) -> Any:
        return _setting(attr, *default)

    def get_user(self, user_id: Any) -> Any:
        """The session's user, as Django's ModelBackend: an inactive login's session ends."""
        user = self.UserModel.objects.filter(pk=user_id).first()
        return user if user is not None and user.is_active else None

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:
        # Only the callback passes a nonce; a password login passes through untouched.
        if self.config is None or request is None or "nonce" not in kwargs:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except (SuspiciousOperation, requests.RequestException, ValueError, KeyError) as exc:
            # Our own checks say which one failed; other errors are named by type only (an HTTP
            # error's text could quote the provider's answer).
            detail = str(exc)[:200] if isinstance(exc, SuspiciousOperation) else ""
            logger.warning("single sign-on refused: %s %s", type(exc).__name__, detail)
            if not hasattr(request, "sso_refusal"):
                _refuse(request, REFUSED)
            return None

    # --- the ID token -------------------------------------------------------------------------

    def _verify_jws(self, payload: bytes | str, key: Any) -> dict[str, Any]:
        assert self.config is not None
        try:
            header = jwt.get_unverified_header(payload)
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation("the ID token is not a JWT") from exc
        if header.get("alg") != self.config.sign_algo:
            raise SuspiciousOperation("the ID token is not signed with the configured algorithm")
        try:
            claims: dict[str, Any] = jwt.decode(
                payload,
                key,
                algorithms=[self.config.sign_algo],
                audience=self.config.client_id,
                issuer=self.config.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"ID token refused: {type(exc).__name__}") from exc
        audience = claims.get("aud")
        several = isinstance(audience, list) and len(audience) > 1
        if several and claims.get("azp") != self.config.client_id:
            raise SuspiciousOperation("ID token refused: azp is not this client")
        return claims

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        """The ID token's claims, completed by the userinfo endpoint when there is one (whose
        `sub` must be the token's)."""
        claims = dict(payload)
        if self.config is not None and self.config.userinfo_endpoint:
            info = super().get_userinfo(access_token, id_token, payload)
            if not isinstance(info, dict) or info.get("sub") != payload.get("sub"):
                raise SuspiciousOperation("userinfo is about someone else")
            claims.update(info)
        return claims

    # --- who may come in ----------------------------------------------------------------------

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        assert self.config is not None
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            _refuse(self.request, UNVERIFIED)
            return False
        if not _verified(claims):
            _refuse(self.request, UNVERIFIED)
            return False
        if not self.config.domain_allowed(email):
            _refuse(self.request, DOMAIN)
            return False
        return True

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        return self.UserModel.objects.filter(email__iexact=str(claims["email"]).strip())

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        """An existing login with this e-mail: active, not an operator, and a member (or admitted)."""
        if not user.is_active or user.is_staff or user.is_superuser:
            _refuse(self.request, INACTIVE)
            raise SuspiciousOperation("this login may not use single sign-on")
        with transaction.atomic():
            if not self._admit(user, claims):
                _refuse(self.request, NOT_INVITED)
                raise SuspiciousOperation("not a member and not invited")
        return user

    def create_user(self, claims: dict[str, Any]) -> Any:
        """A new login, only for a person invited or provisioned; no usable password."""
        email = self.UserModel.objects.normalize_email(str(claims["email"]).strip())
        if not _pending_invitations(email) and self._provision_target(None) is None:
            _refuse(self.request, NOT_INVITED)
            raise SuspiciousOperation("not invited")
        with transaction.atomic():
            user = self.UserModel.objects.create_user(
                _free_username(email),
                email=email,
                first_name=str(claims.get("given_name", ""))[:150],
                last_name=str(claims.get("family_name", ""))[:150],
            )
            user.set_unusable_password()
            user.save(update_fields=["password"])
            if not self._admit(user, claims):  # cannot happen: checked above
                raise SuspiciousOperation("not invited")
        return user

    def _provision_target(self, user: Any) -> Workspace | None:
        """The workspace the operator provisions people into, if this user may join it."""
        assert self.config is not None
        if not self.config.provision_workspace:
            return None
        workspace = Workspace.objects.filter(slug=self.config.provision_workspace).first()
        if workspace is None:
            logger.warning("CERCLE_OIDC_PROVISION_WORKSPACE names no workspace")
            return None
        if user is not None and Member.objects.filter(workspace=workspace, user=user).exists():
            return None  # a member there already; a deactivated one is not brought back
        return workspace

    def _admit(self, user: Any, claims: dict[str, Any]) -> bool:
        """Whether the user is (now) an active member of a workspace."""
        display_name = str(claims.get("name", ""))[:120]
        for invitation in _pending_invitations(user.email):
            do_accept_invitation_for(invitation, user, display_name=display_name)
        if Member.objects.filter(user=user, is_active=True).exists():
            return True
        workspace = self._provision_target(user)
        if workspace is None:
            return False
        assert self.config is not None
        do_add_member(workspace, user, self.config.provision_role, display_name=display_name)
        return True


def _pending_invitations(email: str) -> list[Invitation]:
    return list(
        Invitation.objects.filter(
            email__iexact=email,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=clock.now(),
        ).order_by("id")
    )


def _free_username(email: str) -> str:
    """A username from the e-mail's local part, made unique with a random suffix if taken."""
    model = get_user_model()
    base = slugify(email.partition("@")[0])[:40] or "member"
    candidate = base
    while model.objects.filter(username__iexact=candidate).exists():
        candidate = f"{base}-{secrets.token_hex(3)}"
    return candidate


# --- the two views ------------------------------------------------------------------------------


class _Start(OIDCAuthenticationRequestView):  # type: ignore[misc]
    def get_settings(self, attr: str, *default: Any) -> Any:
        return _setting(attr, *default)


class _Callback(OIDCAuthenticationCallbackView):  # type: ignore[misc]
    def get_settings(self, attr: str, *default: Any) -> Any:
        return _setting(attr, *default)

    def get(self, request: HttpRequest) -> HttpResponseBase:
        try:
            response: HttpResponseBase = super().get(request)
        except SuspiciousOperation as exc:  # a state that is not this session's
            logger.warning("single sign-on refused: %s", exc)
            return self.login_failure()
        return response

    def login_failure(self) -> HttpResponseBase:
        reason = getattr(self.request, "sso_refusal", REFUSED)
        text = {
            UNVERIFIED: _("Your e-mail address is not verified by the identity provider."),
            DOMAIN: _("Your e-mail address is not in a domain allowed here."),
            NOT_INVITED: _(
                "You are not a member of a workspace here: ask an owner or admin to invite you."
            ),
            INACTIVE: _("This account cannot sign in with single sign-on."),
        }.get(reason, _("Single sign-on failed. Please try again."))
        messages.error(self.request, text)
        return redirect(settings.LOGIN_URL)


def sso_start(request: HttpRequest) -> HttpResponseBase:
    if sso_config() is None:
        raise Http404
    response: HttpResponse = _Start.as_view()(request)
    return response


def sso_callback(request: HttpRequest) -> HttpResponseBase:
    if sso_config() is None:
        raise Http404
    response: HttpResponseBase = _Callback.as_view()(request)
    return response
