"""Fetching one feed over HTTP: conditional GET, redirects re-checked, errors classified.

There is no API here, only the feed's own URL (given by the team, so it goes
through the egress guard of `PlatformHttp` at every hop of a redirect).

- Conditional requests: RFC 9110 §13.1.1 (`If-None-Match`) and §13.1.3
  (`If-Modified-Since`); a 304 carries no body: https://www.rfc-editor.org/rfc/rfc9110#name-304-not-modified
- `Retry-After` on 429 (RFC 6585 §4) and 503 (RFC 9110 §10.2.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from cercle.connectors.base import (
    PermissionDenied,
    RateLimited,
    Rejected,
    TokenRevoked,
    TransientError,
)
from cercle.connectors.http import EgressRefused, PlatformHttp
from cercle.connectors.ratelimit import retry_at_from_headers

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
MAX_REDIRECTS = 5
# A feed larger than this is not a feed (or is hostile): refused before parsing.
MAX_FEED_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Fetched:
    """One answer of the feed's server: a new document, or 304 (body None)."""

    body: bytes | None
    etag: str = ""
    last_modified: str = ""
    # The URL the document came from after redirects (the base of relative links).
    url: str = ""
    content_type: str = ""


class FeedClient:
    def __init__(self, http: PlatformHttp) -> None:
        self.http = http

    def fetch(self, url: str, *, etag: str = "", last_modified: str = "") -> Fetched:
        """GET the feed, conditionally when validators are known; follow a few redirects."""
        headers = {"Accept": ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            if urlsplit(current).scheme not in {"http", "https"}:
                raise Rejected(f"not an http(s) feed address: {current[:200]}")
            try:
                response = self.http.get(current, headers=headers)
            except EgressRefused as exc:
                # The team typed (or a redirect led to) an internal address.
                raise PermissionDenied(f"feed address refused: {exc}") from exc
            if response.status_code in {301, 302, 303, 307, 308}:
                location = response.headers.get("location", "")
                if not location:
                    raise TransientError(f"feed redirect without Location ({response.status_code})")
                current = urljoin(current, location)
                continue
            return self._answer(response, current, etag, last_modified)
        raise Rejected(f"too many redirects from {url[:200]}")

    @staticmethod
    def _answer(response: httpx.Response, url: str, etag: str, last_modified: str) -> Fetched:
        status = response.status_code
        if status == 304:
            # Validators may be refreshed by a 304; keep the old ones otherwise.
            return Fetched(
                body=None,
                etag=response.headers.get("etag", etag),
                last_modified=response.headers.get("last-modified", last_modified),
                url=url,
            )
        if status == 429 or (status == 503 and "retry-after" in response.headers):
            raise RateLimited(f"feed server {status}", retry_at_from_headers(response.headers))
        if status in {401, 403}:
            # A private feed whose access was withdrawn: the team must give a new address.
            raise TokenRevoked(f"feed server refused access ({status})")
        if status in {404, 410}:
            raise PermissionDenied(f"feed not found ({status}): check its address")
        if status >= 500:
            raise TransientError(f"feed server error {status}")
        if status >= 400 or status < 200:
            raise Rejected(f"feed server answered {status}")
        body = response.content
        if len(body) > MAX_FEED_BYTES:
            raise Rejected(f"feed larger than {MAX_FEED_BYTES // 1024 // 1024} MB")
        return Fetched(
            body=body,
            etag=response.headers.get("etag", ""),
            last_modified=response.headers.get("last-modified", ""),
            url=url,
            content_type=response.headers.get("content-type", ""),
        )
