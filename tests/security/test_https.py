"""HTTPS: behind TLS (CERCLE_HTTPS=1 or a configured proxy header) cookies are Secure, responses
carry HSTS and plain HTTP is redirected; a proxy header is trusted only when configured.

Settings are read once at start, so each configuration runs in a fresh Python process that
serves the login page (no database needed) through Django's test client.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cercle.core.https import ONE_YEAR, proxy_ssl_header, transport_security

ROOT = Path(__file__).resolve().parents[2]

_PROBE = r"""
import json, os
os.environ["DJANGO_SETTINGS_MODULE"] = "cercle.settings"
import django
django.setup()
from django.conf import settings
from django.test import Client

def probe(**extra):
    response = Client().get("/login/", **extra)
    cookie = response.cookies.get("csrftoken")
    return {
        "status": response.status_code,
        "location": response.get("Location", ""),
        "hsts": response.get("Strict-Transport-Security", ""),
        "csrf_cookie_secure": bool(cookie and cookie["secure"]),
    }

print(json.dumps({
    "plain": probe(),
    "tls": probe(secure=True),
    "forwarded": probe(HTTP_X_FORWARDED_PROTO="https"),
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_cookie_secure": settings.CSRF_COOKIE_SECURE,
}))
"""


def serve(tmp_path: Path, **env: str) -> dict:
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CERCLE_", "DJANGO_", "DATABASE_URL"))
    }
    environ.update(
        CERCLE_DATA_DIR=str(tmp_path),
        CERCLE_ALLOWED_HOSTS="testserver",
        DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        **env,
    )
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env=environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_by_default_nothing_claims_https_and_a_forwarded_header_is_not_trusted(tmp_path):
    seen = serve(tmp_path)
    assert seen["plain"] == {
        "status": 200,
        "location": "",
        "hsts": "",
        "csrf_cookie_secure": False,
    }
    # A client saying "I came over HTTPS" is not believed: no HSTS on plain HTTP.
    assert seen["forwarded"]["hsts"] == ""


def test_with_cercle_https_cookies_are_secure_hsts_is_sent_and_http_is_redirected(tmp_path):
    seen = serve(tmp_path, CERCLE_HTTPS="1")
    assert seen["plain"]["status"] == 301
    assert seen["plain"]["location"] == "https://testserver/login/"
    assert seen["tls"]["hsts"] == f"max-age={ONE_YEAR}"
    assert seen["tls"]["csrf_cookie_secure"] is True
    assert seen["session_cookie_secure"] is True
    # CERCLE_HTTPS alone does not make Django trust X-Forwarded-Proto from anyone.
    assert seen["forwarded"]["status"] == 301


def test_a_configured_proxy_header_is_trusted(tmp_path):
    seen = serve(
        tmp_path,
        CERCLE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        CERCLE_HSTS_SECONDS="600",
        CERCLE_HSTS_INCLUDE_SUBDOMAINS="1",
    )
    assert seen["forwarded"]["status"] == 200
    assert seen["forwarded"]["hsts"] == "max-age=600; includeSubDomains"
    assert seen["forwarded"]["csrf_cookie_secure"] is True
    # The same request without the proxy's header is plain HTTP: redirected.
    assert seen["plain"]["status"] == 301


def test_hsts_and_the_redirect_can_be_turned_off_but_cookies_stay_secure():
    settings = transport_security(
        {"CERCLE_HTTPS": "1", "CERCLE_HSTS_SECONDS": "0", "CERCLE_SSL_REDIRECT": "0"}
    )
    assert (settings.hsts_seconds, settings.ssl_redirect, settings.secure_cookies) == (
        0,
        False,
        True,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("X-Forwarded-Proto", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("X-Forwarded-Proto: https", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("X-Forwarded-Ssl=on", ("HTTP_X_FORWARDED_SSL", "on")),
    ],
)
def test_the_proxy_header_setting_is_parsed(value, expected):
    assert proxy_ssl_header(value) == expected


def test_a_malformed_proxy_header_is_refused_at_start():
    with pytest.raises(ValueError, match="not a header name"):
        proxy_ssl_header("X Forwarded Proto")


def test_exempt_paths_are_listed():
    settings = transport_security(
        {"CERCLE_HTTPS": "on", "CERCLE_SSL_REDIRECT_EXEMPT": r"^health$, ^ready$"}
    )
    assert settings.redirect_exempt == ["^health$", "^ready$"]
