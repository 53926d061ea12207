"""HTTPS settings from the environment: Secure cookies, HSTS and the redirect to HTTPS.

Read by `cercle/settings.py`; no Django import here. Cercle runs behind TLS when

- `CERCLE_HTTPS=1`: the requests reach Django as HTTPS, either because uvicorn
  terminates TLS, or because a reverse proxy on an address uvicorn trusts
  (`FORWARDED_ALLOW_IPS`, loopback by default) sends `X-Forwarded-Proto`; or
- `CERCLE_PROXY_SSL_HEADER` names the header a reverse proxy sets on HTTPS
  requests (`X-Forwarded-Proto`, or `X-Forwarded-Proto: https` to give the
  value too). That header is trusted only when configured, and then from any
  client: the proxy must set or strip it on every request.

Behind TLS, session and CSRF cookies are `Secure`, responses carry HSTS
(`CERCLE_HSTS_SECONDS`, a year by default; 0 turns it off) and plain HTTP is
redirected to HTTPS (`CERCLE_SSL_REDIRECT=0` turns it off,
`CERCLE_SSL_REDIRECT_EXEMPT` lists path regexes that stay reachable over HTTP,
e.g. a health check probed from inside the network).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

ONE_YEAR = 365 * 24 * 3600
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]+$")


def env_bool(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    return env.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class TransportSecurity:
    """The Django settings that depend on whether Cercle is served over HTTPS."""

    https: bool = False
    # SECURE_PROXY_SSL_HEADER: (request.META key, value), or None (no header trusted).
    proxy_ssl_header: tuple[str, str] | None = None
    secure_cookies: bool = False
    hsts_seconds: int = 0
    hsts_include_subdomains: bool = False
    hsts_preload: bool = False
    ssl_redirect: bool = False
    redirect_exempt: list[str] = field(default_factory=list)


def proxy_ssl_header(value: str) -> tuple[str, str] | None:
    """ "X-Forwarded-Proto" or "X-Forwarded-Proto: https" → ("HTTP_X_FORWARDED_PROTO", "https")."""
    value = value.strip()
    if not value:
        return None
    name, _, expected = value.replace("=", ":").partition(":")
    name, expected = name.strip(), expected.strip() or "https"
    if not _HEADER_NAME.match(name):
        raise ValueError(f"CERCLE_PROXY_SSL_HEADER: {name!r} is not a header name")
    return "HTTP_" + name.upper().replace("-", "_"), expected


def transport_security(env: Mapping[str, str]) -> TransportSecurity:
    """The HTTPS settings for this environment (see the module's docstring)."""
    header = proxy_ssl_header(env.get("CERCLE_PROXY_SSL_HEADER", ""))
    https = env_bool(env, "CERCLE_HTTPS") or header is not None
    if not https:
        # CERCLE_SECURE_COOKIES alone (older setting): Secure cookies, nothing else.
        return TransportSecurity(secure_cookies=env_bool(env, "CERCLE_SECURE_COOKIES"))
    return TransportSecurity(
        https=True,
        proxy_ssl_header=header,
        secure_cookies=True,
        hsts_seconds=max(0, int(env.get("CERCLE_HSTS_SECONDS", str(ONE_YEAR)))),
        hsts_include_subdomains=env_bool(env, "CERCLE_HSTS_INCLUDE_SUBDOMAINS"),
        hsts_preload=env_bool(env, "CERCLE_HSTS_PRELOAD"),
        ssl_redirect=env_bool(env, "CERCLE_SSL_REDIRECT", True),
        redirect_exempt=[
            p.strip() for p in env.get("CERCLE_SSL_REDIRECT_EXEMPT", "").split(",") if p.strip()
        ],
    )
