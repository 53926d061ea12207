"""Feed document (RSS 0.9x/1.0/2.0, Atom 0.3/1.0) → `Incoming` mentions. Pure: no DB, no network.

Parsing is feedparser's (https://feedparser.readthedocs.io), given the bytes in a
BytesIO so it never opens a URL or a file itself. Its strict parser is expat
with external general entities off, and its DOCTYPE handling keeps only plain
text entities: an XXE (`<!ENTITY x SYSTEM "file:///etc/passwd">`) is never
resolved. The HTML of a summary is sanitised (feedparser, then nh3) and kept as
plain text.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser

from cercle.connectors.base import Author, BadPayload, Incoming
from cercle.connectors.text import clean, html_to_text, tidy

MAX_ID = 200  # Message.external_id
MAX_URL = 500  # Message.url
MAX_TEXT = 10_000
KIND = "mention"


@dataclass(frozen=True, slots=True)
class Entry:
    """What a feed item gives us, with its three dedupe keys."""

    guid: str
    link: str
    content_hash: str
    title: str
    text: str
    author_name: str
    author_url: str
    published: datetime | None

    @property
    def external_id(self) -> str:
        """guid, else link, else the content hash (each prefixed: the three never collide)."""
        if self.guid:
            return fit_id("guid:", self.guid)
        if self.link:
            return fit_id("link:", self.link)
        return "sha256:" + self.content_hash


def fit_id(prefix: str, value: str) -> str:
    """`prefix + value`, or `prefix` + its SHA-256 when too long for an external id."""
    if len(prefix) + len(value) <= MAX_ID:
        return prefix + value
    return prefix + "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


def parse_keywords(value: Any) -> list[str]:
    """The channel's keywords: a comma- or line-separated string (or a list)."""
    raw = value if isinstance(value, list) else re.split(r"[,\n;]", str(value or ""))
    return [k.strip().casefold() for k in raw if isinstance(k, str) and k.strip()]


def matches(entry: Entry, keywords: Sequence[str]) -> bool:
    """No keywords: every item. Otherwise at least one, case-insensitive, in title, text or link."""
    if not keywords:
        return True
    haystack = f"{entry.title}\n{entry.text}\n{entry.link}".casefold()
    return any(k in haystack for k in keywords)


def _http_url(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    value = clean(value).strip()
    if urlsplit(value).scheme not in {"http", "https"} or len(value) > MAX_URL:
        return ""
    return str(value)


def _when(entry: Any) -> datetime | None:
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(name)
        if isinstance(value, time.struct_time):
            return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    return None


def _body_html(entry: Any) -> str:
    content = entry.get("content")
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("value"), str) and part["value"]:
                return str(part["value"])
    summary = entry.get("summary")
    return summary if isinstance(summary, str) else ""


# Character references no text may hold: NUL and UTF-16 surrogates (decimal 55296–57343).
_BAD_REFS = re.compile(
    rb"&#(?:[xX]0*(?:[dD][89a-fA-F][0-9a-fA-F]{2}|0)|0*(?:5529[6-9]|55[3-9]\d\d|56\d\d\d|57[0-2]\d\d|573[0-3]\d|5734[0-3])|0+);"
)


def scrub(body: bytes) -> bytes:
    """Take out NUL bytes and references to NUL or lone surrogates before parsing."""
    return _BAD_REFS.sub(b"", body.replace(b"\x00", b""))


def read_entries(body: bytes, base_url: str = "") -> list[Entry]:
    """Every item of a feed document, in document order; BadPayload when it is not a feed."""
    headers = {"content-location": base_url} if base_url else {}
    try:
        parsed = feedparser.parse(io.BytesIO(scrub(body)), response_headers=headers)
    except Exception as exc:  # feedparser is lenient; anything it raises is a broken document
        raise BadPayload(f"unreadable feed: {exc}") from exc
    entries = parsed.get("entries") or []
    if not parsed.get("version") and not entries:
        reason = parsed.get("bozo_exception")
        raise BadPayload(f"not an RSS or Atom feed{f': {reason}' if reason else ''}")
    out: list[Entry] = []
    for raw in entries:
        title = tidy(html_to_text(str(raw.get("title") or "")))
        text = html_to_text(_body_html(raw))[:MAX_TEXT]
        link = _http_url(raw.get("link"))
        guid = clean(str(raw.get("id") or "")).strip()
        detail = raw.get("author_detail") if isinstance(raw.get("author_detail"), dict) else {}
        author_name = tidy(str(detail.get("name") or raw.get("author") or ""))[:200]
        digest = hashlib.sha256(f"{title}\n{text}".encode("utf-8", "replace")).hexdigest()
        out.append(
            Entry(
                guid=guid,
                link=link,
                content_hash=digest,
                title=title,
                text=text,
                author_name=author_name,
                author_url=_http_url(detail.get("href")),
                published=_when(raw),
            )
        )
    return out


def site_of(feed_url: str) -> str:
    return (urlsplit(feed_url).hostname or "feed").lower()


def to_incoming(entry: Entry, feed_url: str) -> Incoming:
    """One feed item → a mention, its own conversation; the author is the byline on that site."""
    site = site_of(feed_url)
    name = entry.author_name or site
    author = Author(
        external_id=fit_id(f"{site}/", entry.author_name or "-"),
        name=name[:200],
        handle=site[:200],
        profile_url=entry.author_url,
    )
    text = entry.title if not entry.text else f"{entry.title}\n\n{entry.text}".strip()
    return Incoming(
        external_id=entry.external_id,
        kind=KIND,
        author=author,
        text=text[:MAX_TEXT],
        sent_at=entry.published,
        url=entry.link,
    )


def select(entries: Iterable[Entry], keywords: Sequence[str]) -> list[Entry]:
    """Entries that match the keywords, one per dedupe key (the first seen wins)."""
    out: list[Entry] = []
    guids: set[str] = set()
    links: set[str] = set()
    hashes: set[str] = set()
    for entry in entries:
        if not matches(entry, keywords):
            continue
        if (
            (entry.guid and entry.guid in guids)
            or (entry.link and entry.link in links)
            or entry.content_hash in hashes
        ):
            continue
        guids.add(entry.guid)
        links.add(entry.link)
        hashes.add(entry.content_hash)
        out.append(entry)
    return out


def parse_feed(body: bytes, feed_url: str, keywords: Sequence[str] = ()) -> list[Incoming]:
    """A stored feed document → its matching items (replaying it upserts the same ids)."""
    return [
        to_incoming(entry, feed_url) for entry in select(read_entries(body, feed_url), keywords)
    ]
