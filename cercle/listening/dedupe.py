"""The key a mention is stored once under, in a workspace, whichever search or source found it."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only say where a click came from.
TRACKING = ("utm_", "fbclid", "gclid", "igshid", "ref", "ref_src", "share_id", "context")
MAX_KEY = 500


def normalise_url(url: str) -> str:
    """Scheme-less, lowercase host without `www.`, no fragment, no trailing slash, no tracking."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    host = parts.hostname.lower().removeprefix("www.").removeprefix("old.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(TRACKING)
    ]
    path = parts.path.rstrip("/") or ""
    return urlunsplit(("", host, path, urlencode(sorted(query)), "")).lstrip("/")


def key_of(platform: str, external_id: str, url: str) -> str:
    """The normalised URL, else `platform:id`."""
    return (normalise_url(url) or f"{platform}:{external_id}")[:MAX_KEY]
