"""Single sign-on (OpenID Connect) against a fake provider at the HTTP boundary.

The provider is a real HTTP server on loopback: a token endpoint that checks the
client secret, the redirect URI and the PKCE verifier and answers with an ID token
signed RS256 by a key generated here, a JWKS endpoint publishing that key, and a
userinfo endpoint. Each test plays the browser: it starts the sign-in, reads what
Cercle sent to the provider (state, nonce, PKCE challenge) and comes back to the
callback with a code, tampering with one thing at a time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from axes.models import AccessAttempt
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from cercle.accounts.sso_config import SsoConfigError, sso_from_environ
from cercle.workspaces.actions import (
    do_add_member,
    do_create_user,
    do_create_workspace,
    do_deactivate_member,
    do_invite_member,
)
from cercle.workspaces.choices import Role, Verb
from cercle.workspaces.models import Activity, Invitation, Member

CLIENT_ID = "cercle-test"
CLIENT_SECRET = "s3cret-of-the-client"
INBOX = reverse("inbox:index")
LOGIN = reverse("workspaces:login")
START = reverse("accounts:sso_start")
CALLBACK = reverse("accounts:sso_callback")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Provider:
    """What the fake provider knows: its key, the codes it issued, the requests it received."""

    issuer: str = ""
    key: Any = None
    kid: str = "key-1"
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    userinfo: dict[str, Any] | None = None

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk]}

    def id_token(self, claims: dict[str, Any], *, key: Any = None) -> str:
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": self.kid})


class _Handler(BaseHTTPRequestHandler):
    provider: Provider

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/jwks":
            return self._json(200, self.provider.jwks())
        if self.path == "/userinfo" and self.provider.userinfo is not None:
            return self._json(200, self.provider.userinfo)
        return self._json(404, {"error": "not_found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.provider.token_requests.append(form)
        issued = self.provider.codes.pop(form.get("code", ""), None)
        if (
            self.path != "/token"
            or issued is None
            or form.get("client_secret") != CLIENT_SECRET
            or form.get("client_id") != CLIENT_ID
            or form.get("redirect_uri") != issued["redirect_uri"]
            or _b64(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
            != issued["code_challenge"]
        ):
            return self._json(400, {"error": "invalid_grant"})
        return self._json(200, {"access_token": "at-123", "id_token": issued["id_token"]})


@pytest.fixture(scope="module")
def signing_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def provider(signing_key: Any) -> Iterator[Provider]:
    state = Provider(key=signing_key)
    handler = type("Handler", (_Handler,), {"provider": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _environ(provider: Provider, **extra: str) -> dict[str, str]:
    return {
        "CERCLE_OIDC_ISSUER": provider.issuer,
        "CERCLE_OIDC_AUTHORIZATION_ENDPOINT": f"{provider.issuer}/authorize",
        "CERCLE_OIDC_TOKEN_ENDPOINT": f"{provider.issuer}/token",
        "CERCLE_OIDC_JWKS_URI": f"{provider.issuer}/jwks",
        "CERCLE_OIDC_CLIENT_ID": CLIENT_ID,
        "CERCLE_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "CERCLE_OIDC_NAME": "Lumen ID",
        **extra,
    }


@pytest.fixture
def sso(settings: Any, provider: Provider) -> Provider:
    settings.CERCLE_OIDC = sso_from_environ(_environ(provider))
    return provider


def configure(settings: Any, provider: Provider, **extra: str) -> None:
    settings.CERCLE_OIDC = sso_from_environ(_environ(provider, **extra))


def start(client: Client, next_url: str = "") -> dict[str, str]:
    """The browser goes to the provider: returns the parameters Cercle sent it."""
    response = client.get(START + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def claims_for(provider: Provider, params: dict[str, str], **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": provider.issuer,
        "sub": "user-42",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 300,
        "nonce": params["nonce"],
        "email": "lea@lumen.example",
        "email_verified": True,
        "name": "Léa Martin",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def come_back(
    client: Client,
    provider: Provider,
    params: dict[str, str],
    *,
    id_token: str | None = None,
    state: str | None = None,
    **changes: Any,
) -> Any:
    """The provider sends the browser back with a code that the token endpoint will honour."""
    code = f"code-{len(provider.codes)}-{time.monotonic_ns()}"
    provider.codes[code] = {
        "redirect_uri": params["redirect_uri"],
        "code_challenge": params["code_challenge"],
        "id_token": id_token or provider.id_token(claims_for(provider, params, **changes)),
    }
    query = urlencode({"code": code, "state": state if state is not None else params["state"]})
    return client.get(f"{CALLBACK}?{query}")


def signed_in(client: Client) -> bool:
    return bool(client.get(INBOX).status_code == 200)


@pytest.fixture
def lea(workspace):
    user = do_create_user("lea", "correct horse battery", email="Lea@Lumen.example")
    return do_add_member(workspace, user, Role.AGENT)


def page_text(client: Client) -> str:
    return client.get(LOGIN).content.decode()


# --- configuration and the login page ---------------------------------------------------------


def test_without_configuration_there_is_no_button_and_no_sso_page(db, client):
    assert "Sign in with" not in page_text(client)
    assert client.get(START).status_code == 404
    assert client.get(CALLBACK + "?code=x&state=y").status_code == 404


def test_an_incomplete_or_unsafe_configuration_is_refused_at_start(provider):
    env = _environ(provider)
    del env["CERCLE_OIDC_CLIENT_SECRET"]
    with pytest.raises(SsoConfigError, match="CERCLE_OIDC_CLIENT_SECRET"):
        sso_from_environ(env)
    with pytest.raises(SsoConfigError, match="asymmetric"):
        sso_from_environ(_environ(provider, CERCLE_OIDC_SIGN_ALGO="HS256"))
    with pytest.raises(SsoConfigError, match="PROVISION_ROLE"):
        sso_from_environ(_environ(provider, CERCLE_OIDC_PROVISION_ROLE="owner"))
    assert sso_from_environ({}) is None


def test_the_login_page_offers_the_provider_and_the_start_uses_state_nonce_and_pkce(
    db, sso, client
):
    assert "Sign in with Lumen ID" in page_text(client)
    params = start(client)
    assert params["client_id"] == CLIENT_ID and params["response_type"] == "code"
    assert params["redirect_uri"].endswith(CALLBACK)
    assert "openid" in params["scope"].split() and "email" in params["scope"].split()
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    assert params["code_challenge_method"] == "S256"
    assert start(client)["state"] != params["state"]


# --- the way in --------------------------------------------------------------------------------


def test_an_existing_member_is_matched_by_verified_email(sso, client, lea):
    params = start(client, next_url="/settings/members/")
    response = come_back(client, sso, params, email="LEA@lumen.example")
    assert response.status_code == 302 and response["Location"] == "/settings/members/"
    assert client.session["_auth_user_id"] == str(lea.user_id)
    assert signed_in(client)
    token_request = sso.token_requests[-1]
    assert token_request["client_secret"] == CLIENT_SECRET
    assert token_request["grant_type"] == "authorization_code"
    assert get_user_model().objects.count() == 1


def test_the_next_parameter_never_leads_to_another_site(sso, client, lea):
    params = start(client, next_url="https://evil.example/phish")
    response = come_back(client, sso, params)
    assert response["Location"] == INBOX


def test_a_userinfo_endpoint_about_someone_else_is_refused(settings, provider, client, lea):
    configure(settings, provider, CERCLE_OIDC_USERINFO_ENDPOINT=f"{provider.issuer}/userinfo")
    provider.userinfo = {"sub": "someone-else", "email": "lea@lumen.example"}
    assert come_back(client, provider, start(client))["Location"] == LOGIN
    assert not signed_in(client)
    provider.userinfo = {"sub": "user-42", "email": "lea@lumen.example", "email_verified": True}
    come_back(client, provider, start(client))
    assert signed_in(client)


# --- attacks and faults: nobody gets in --------------------------------------------------------


def _refused(client: Client, response: Any, reason: str = "Single sign-on failed") -> None:
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert reason in page_text(client)
    assert not signed_in(client)


def test_a_tampered_state_is_refused_before_any_token_is_asked_for(sso, client, lea):
    params = start(client)
    response = come_back(client, sso, params, state=params["state"][:-1] + "x")
    _refused(client, response)
    assert sso.token_requests == []


def test_a_callback_without_a_started_sign_in_is_refused(sso, client, lea):
    other = Client()
    params = start(other)  # the state belongs to another browser's session
    _refused(client, come_back(client, sso, params))
    assert sso.token_requests == []


def test_a_replayed_callback_is_refused(sso, client, lea):
    params = start(client)
    come_back(client, sso, params)
    assert signed_in(client) and len(sso.token_requests) == 1
    replay = come_back(client, sso, params)  # the state was used once
    assert replay.status_code == 302 and replay["Location"] == LOGIN
    assert len(sso.token_requests) == 1


def test_a_wrong_nonce_is_refused(sso, client, lea):
    _refused(client, come_back(client, sso, start(client), nonce="not-the-one-we-sent"))


def test_a_token_for_another_client_is_refused(sso, client, lea):
    _refused(client, come_back(client, sso, start(client), aud="another-app"))


def test_several_audiences_need_azp_to_be_this_client(sso, client, lea):
    _refused(client, come_back(client, sso, start(client), aud=[CLIENT_ID, "other"], azp="other"))
    come_back(client, sso, start(client), aud=[CLIENT_ID, "other"], azp=CLIENT_ID)
    assert signed_in(client)


def test_an_expired_token_is_refused(sso, client, lea):
    old = int(time.time()) - 3600
    _refused(client, come_back(client, sso, start(client), iat=old, exp=old + 300))


def test_a_token_without_expiry_is_refused(sso, client, lea):
    _refused(client, come_back(client, sso, start(client), exp=None))


def test_a_token_from_another_issuer_is_refused(sso, client, lea):
    _refused(client, come_back(client, sso, start(client), iss="https://evil.example"))


def test_a_token_signed_by_another_key_is_refused(sso, client, lea):
    params = start(client)
    forged_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = sso.id_token(claims_for(sso, params), key=forged_key)
    _refused(client, come_back(client, sso, params, id_token=forged))


def test_an_unsigned_or_symmetric_token_is_refused(sso, client, lea):
    params = start(client)
    unsigned = jwt.encode(claims_for(sso, params), None, algorithm="none")
    _refused(client, come_back(client, sso, params, id_token=unsigned))
    params = start(client)
    hs256 = jwt.encode(claims_for(sso, params), CLIENT_SECRET * 3, algorithm="HS256")
    _refused(client, come_back(client, sso, params, id_token=hs256))


def test_an_unverified_email_is_refused(sso, client, lea):
    response = come_back(client, sso, start(client), email_verified=False)
    _refused(client, response, "not verified")
    response = come_back(client, sso, start(client), email_verified=None)
    _refused(client, response, "not verified")


def test_a_person_not_invited_is_refused_and_no_login_is_created(sso, client, workspace):
    response = come_back(client, sso, start(client), email="stranger@lumen.example")
    _refused(client, response, "ask an owner or admin to invite you")
    assert not get_user_model().objects.exists()


def test_a_domain_not_allowed_is_refused(settings, provider, client, lea):
    configure(settings, provider, CERCLE_OIDC_ALLOWED_DOMAINS="maison-lumen.fr, @example.org")
    response = come_back(client, provider, start(client))
    _refused(client, response, "not in a domain allowed here")


def test_an_operator_login_never_signs_in_this_way(sso, client, lea):
    get_user_model().objects.filter(pk=lea.user_id).update(is_staff=True)
    _refused(client, come_back(client, sso, start(client)), "cannot sign in with single sign-on")


def test_the_token_endpoint_refusing_the_code_is_a_refusal_not_a_crash(sso, client, lea):
    params = start(client)
    query = urlencode({"code": "never-issued", "state": params["state"]})
    _refused(client, client.get(f"{CALLBACK}?{query}"))


def test_failed_callbacks_are_not_counted_as_password_guesses(settings, sso, lea):
    for _ in range(settings.AXES_FAILURE_LIMIT + 2):
        browser = Client()
        come_back(browser, sso, start(browser), aud="another-app")
    assert not AccessAttempt.objects.exists()
    browser = Client()
    browser.post(LOGIN, {"username": "lea", "password": "correct horse battery"})
    assert signed_in(browser)
    come_back(browser := Client(), sso, start(browser))
    assert signed_in(browser)


# --- invitations, provisioning, two-factor -----------------------------------------------------


def test_an_invited_person_joins_with_the_invitation_s_role(sso, client, owner, workspace):
    do_invite_member(
        owner, workspace, "nour@lumen.example", Role.VIEWER, accept_url=lambda t: f"/i/{t}"
    )
    response = come_back(
        client, sso, start(client), email="nour@lumen.example", name="Nour", sub="n-1"
    )
    assert response["Location"] == INBOX and signed_in(client)
    member = Member.objects.get(user__email="nour@lumen.example")
    assert (member.workspace_id, member.role, member.display_name) == (
        workspace.pk,
        Role.VIEWER,
        "Nour",
    )
    assert not member.user.has_usable_password()
    assert Invitation.objects.get().accepted_by == member
    assert Activity.objects.filter(verb=Verb.MEMBER_JOINED, actor=member).exists()


def test_provisioning_adds_a_new_person_with_the_default_role(settings, provider, client, owner):
    other = do_create_workspace("Autre")
    configure(
        settings,
        provider,
        CERCLE_OIDC_PROVISION_WORKSPACE=other.slug,
        CERCLE_OIDC_PROVISION_ROLE="viewer",
        CERCLE_OIDC_ALLOWED_DOMAINS="lumen.example",
    )
    come_back(client, provider, start(client), email="new@lumen.example")
    assert signed_in(client)
    member = Member.objects.get(user__email="new@lumen.example")
    assert (member.workspace_id, member.role) == (other.pk, Role.VIEWER)


def test_provisioning_does_not_bring_back_a_deactivated_member(settings, provider, client, owner):
    configure(settings, provider, CERCLE_OIDC_PROVISION_WORKSPACE=owner.workspace.slug)
    user = do_create_user("gone", "correct horse battery", email="gone@lumen.example")
    gone = do_add_member(owner.workspace, user, Role.AGENT)
    do_deactivate_member(owner, gone)
    response = come_back(client, provider, start(client), email="gone@lumen.example")
    _refused(client, response, "invite you")
    gone.refresh_from_db()
    assert not gone.is_active


def test_two_factor_authentication_still_applies_after_single_sign_on(sso, client, lea):
    TOTPDevice.objects.create(user=lea.user, name="Authenticator", confirmed=True)
    come_back(client, sso, start(client))
    response = client.get(INBOX)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:verify"))


def test_a_login_made_inactive_loses_its_single_sign_on_session(sso, client, lea):
    come_back(client, sso, start(client))
    assert signed_in(client)
    get_user_model().objects.filter(pk=lea.user_id).update(is_active=False)
    assert not signed_in(client)
