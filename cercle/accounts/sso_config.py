"""The single sign-on (OpenID Connect) configuration, read from the environment.

Imported by `cercle/settings.py`, so it imports nothing from Django. Single
sign-on is on when the issuer, the endpoints and the client are all given
(see docs/operations.md, "Single sign-on"):

- `CERCLE_OIDC_ISSUER`: the provider's issuer (the `iss` of its ID tokens);
- `CERCLE_OIDC_AUTHORIZATION_ENDPOINT`, `CERCLE_OIDC_TOKEN_ENDPOINT`,
  `CERCLE_OIDC_JWKS_URI` (and optionally `CERCLE_OIDC_USERINFO_ENDPOINT`);
- `CERCLE_OIDC_CLIENT_ID`, `CERCLE_OIDC_CLIENT_SECRET`;
- `CERCLE_OIDC_NAME`: the provider's name on the login page's button;
- `CERCLE_OIDC_ALLOWED_DOMAINS`: e-mail domains allowed in (comma-separated; empty: any);
- `CERCLE_OIDC_PROVISION_WORKSPACE`: the slug of the workspace a new person joins on their
  first sign-in, with `CERCLE_OIDC_PROVISION_ROLE` (default `agent`; never `owner`). Without
  it, a person needs an invitation (or an existing membership) first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The roles automatic provisioning may give: an identity provider never makes an owner.
PROVISION_ROLES = ("admin", "manager", "agent", "viewer")


class SsoConfigError(ValueError):
    """The single sign-on variables are incomplete or wrong; the message names the variable."""


@dataclass(frozen=True)
class SsoConfig:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    client_id: str
    client_secret: str
    userinfo_endpoint: str = ""
    name: str = "single sign-on"
    allowed_domains: tuple[str, ...] = ()
    provision_workspace: str = ""
    provision_role: str = "agent"
    sign_algo: str = "RS256"

    def domain_allowed(self, email: str) -> bool:
        if not self.allowed_domains:
            return True
        domain = email.rpartition("@")[2].lower()
        return domain in self.allowed_domains


_REQUIRED = {
    "issuer": "CERCLE_OIDC_ISSUER",
    "authorization_endpoint": "CERCLE_OIDC_AUTHORIZATION_ENDPOINT",
    "token_endpoint": "CERCLE_OIDC_TOKEN_ENDPOINT",
    "jwks_uri": "CERCLE_OIDC_JWKS_URI",
    "client_id": "CERCLE_OIDC_CLIENT_ID",
    "client_secret": "CERCLE_OIDC_CLIENT_SECRET",
}


def sso_from_environ(environ: Mapping[str, str]) -> SsoConfig | None:
    """The configuration, None when no variable is set; SsoConfigError when only some are."""
    values = {field: environ.get(name, "").strip() for field, name in _REQUIRED.items()}
    if not any(values.values()):
        return None
    missing = [_REQUIRED[field] for field, value in values.items() if not value]
    if missing:
        raise SsoConfigError(f"single sign-on needs {', '.join(missing)}")
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not values[field].startswith(("https://", "http://")):
            raise SsoConfigError(f"{_REQUIRED[field]} must be an http(s) URL")
    role = environ.get("CERCLE_OIDC_PROVISION_ROLE", "agent").strip().lower() or "agent"
    if role not in PROVISION_ROLES:
        raise SsoConfigError(
            f"CERCLE_OIDC_PROVISION_ROLE must be one of {', '.join(PROVISION_ROLES)}"
        )
    domains = tuple(
        d.strip().lower().lstrip("@")
        for d in environ.get("CERCLE_OIDC_ALLOWED_DOMAINS", "").split(",")
        if d.strip()
    )
    algo = environ.get("CERCLE_OIDC_SIGN_ALGO", "RS256").strip() or "RS256"
    if not algo.startswith(("RS", "PS", "ES")):
        raise SsoConfigError(
            "CERCLE_OIDC_SIGN_ALGO must be an asymmetric algorithm (RS256, ES256…)"
        )
    return SsoConfig(
        userinfo_endpoint=environ.get("CERCLE_OIDC_USERINFO_ENDPOINT", "").strip(),
        name=environ.get("CERCLE_OIDC_NAME", "").strip() or "single sign-on",
        allowed_domains=domains,
        provision_workspace=environ.get("CERCLE_OIDC_PROVISION_WORKSPACE", "").strip(),
        provision_role=role,
        sign_algo=algo,
        **values,
    )
