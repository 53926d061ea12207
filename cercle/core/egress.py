"""The egress guard: every fetch of a URL from outside goes through `check_egress`.

A URL given by a platform or a user (a feed, an avatar, an API base URL) must
never reach a private, loopback or link-local address (SSRF). Hosts listed in
settings.CERCLE_EGRESS_ALLOW_HOSTS are trusted (tests, the demo's loopback
platforms).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class EgressUnresolvable(Exception):
    """The host does not resolve (now): the caller may try again later."""


class EgressRefused(Exception):
    """A request to a private, loopback or otherwise internal address was refused."""


def _host_allowed(host: str) -> bool:
    allowed = set(settings.CERCLE_EGRESS_ALLOW_HOSTS)
    return host in allowed or "*" in allowed


def check_egress(url: str) -> None:
    """Refuse URLs that resolve to non-public addresses (SSRF guard), unless allow-listed."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise EgressRefused(f"refused URL scheme or host: {url!r}")
    host = parts.hostname
    if _host_allowed(host):
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise EgressUnresolvable(f"cannot resolve {host}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise EgressRefused(f"refused non-public address {address} for {host}")
