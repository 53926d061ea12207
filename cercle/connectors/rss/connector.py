"""The RSS/Atom connector: external sites and blogs that mention the brand, by polling.

A channel is one feed address (typed by the team, so every fetch goes through
the egress guard) and optional keywords. Each poll is a conditional GET
(`If-None-Match` / `If-Modified-Since`); a 304 costs nothing. Each new item is
a `mention`, its own conversation. Duplicates are recognised by guid, then
link, then a hash of the content. See README.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cercle.connectors.base import (
    Capability,
    Connector,
    Delivery,
    Incoming,
    OutboundAction,
    Page,
    RawEventData,
    Rejected,
    SetupField,
)

from . import outbound
from .client import FeedClient
from .inbound import Entry, parse_feed, parse_keywords, read_entries, select, to_incoming

# How many items the cursor remembers (a feed shows its last 10–50; some, hundreds).
MEMORY = 1000


@dataclass
class Cursor:
    """The channel's cursor (JSON): the HTTP validators and what was already seen."""

    etag: str = ""
    last_modified: str = ""
    # [external_id, link, content hash] of the items seen, oldest first.
    seen: list[list[str]] = field(default_factory=list)

    @classmethod
    def load(cls, text: str | None) -> Cursor:
        try:
            data = json.loads(text) if text else {}
        except json.JSONDecodeError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        seen = data.get("seen")
        return cls(
            etag=str(data.get("etag") or ""),
            last_modified=str(data.get("last_modified") or ""),
            seen=[
                [str(part) for part in row]
                for row in (seen if isinstance(seen, list) else [])
                if isinstance(row, list) and len(row) == 3
            ],
        )

    def dump(self) -> str:
        return json.dumps(
            {"etag": self.etag, "last_modified": self.last_modified, "seen": self.seen[-MEMORY:]},
            ensure_ascii=False,
            separators=(",", ":"),
        )

    def news(self, entries: list[Entry]) -> list[Entry]:
        """The entries not seen before, or seen with another content (an edit); remembers them."""
        known = {row[0]: row[2] for row in self.seen}
        links = {row[1] for row in self.seen if row[1]}
        hashes = {row[2] for row in self.seen}
        out: list[Entry] = []
        for entry in entries:
            key = entry.external_id
            if key in known:
                if known[key] == entry.content_hash:
                    continue
                self.seen = [row for row in self.seen if row[0] != key]
            elif (entry.link and entry.link in links) or entry.content_hash in hashes:
                continue  # the same article under a new guid (or none): already shown
            self.seen.append([key, entry.link, entry.content_hash])
            out.append(entry)
        return out


class RssConnector(Connector):
    platform = "rss"
    label = "RSS / Atom"
    capabilities = frozenset({Capability.POLL, Capability.SEARCH})
    # A feed has no search: listening reads it once per pass and matches every search.
    search_reads_everything = True
    # Someone else's site: once every 15 minutes is polite (a 304 costs it little).
    default_poll_seconds = 15 * 60
    setup_fields = (
        SetupField(
            "feed_url",
            gettext_lazy("Feed address (RSS or Atom)"),
            url=True,
            help_text=gettext_lazy(
                "The address of the site's feed, e.g. https://blog.example/feed."
            ),
        ),
        SetupField(
            "keywords",
            gettext_lazy("Keywords"),
            required=False,
            help_text=gettext_lazy(
                "Separated by commas. Only items that contain at least one of them "
                "are kept; leave blank to keep every item."
            ),
        ),
    )

    @property
    def feed_url(self) -> str:
        url = str(self.channel.config.get("feed_url") or "")
        if not url:
            raise Rejected("the channel has no feed address")
        return url

    @property
    def keywords(self) -> list[str]:
        return parse_keywords(self.channel.config.get("keywords"))

    # -- inbound -------------------------------------------------------------------------

    def parse(self, raw: RawEventData) -> list[Incoming]:
        """A stored feed document → its matching items."""
        return parse_feed(raw.body, self.feed_url, self.keywords)

    def poll(self, cursor: str | None) -> Page:
        """One conditional GET: new and edited items, and the validators for the next one."""
        state = Cursor.load(cursor)
        fetched = FeedClient(self.http).fetch(
            self.feed_url, etag=state.etag, last_modified=state.last_modified
        )
        state.etag, state.last_modified = fetched.etag, fetched.last_modified
        if fetched.body is None:  # 304 Not Modified
            return Page(items=[], cursor=state.dump())
        entries = select(read_entries(fetched.body, self.feed_url), self.keywords)
        items = [to_incoming(entry, self.feed_url) for entry in state.news(entries)]
        return Page(items=items, cursor=state.dump(), raw=fetched.body)

    def search(self, query: str, since: datetime | None = None) -> list[Incoming]:
        """Every item of the feed (not only the channel's keywords), none older than `since`.

        A feed has no search: the caller's matcher picks what answers `query`.
        """
        fetched = FeedClient(self.http).fetch(self.feed_url)
        if fetched.body is None:
            return []
        entries = select(read_entries(fetched.body, self.feed_url), ())
        return [
            to_incoming(entry, self.feed_url)
            for entry in entries
            if since is None or entry.published is None or entry.published >= since
        ]

    # -- outbound ------------------------------------------------------------------------

    def perform(self, action: OutboundAction) -> Delivery:
        return outbound.perform(action)

    # -- connection ----------------------------------------------------------------------

    def test_connection(self) -> str:
        """Fetch and parse the feed once: how many items it has, how many match."""
        fetched = FeedClient(self.http).fetch(self.feed_url)
        entries = read_entries(fetched.body or b"", self.feed_url)
        kept = select(entries, self.keywords)
        return _("%(count)d items in the feed, %(kept)d kept by the keywords.") % {
            "count": len(entries),
            "kept": len(kept),
        }

    def setup_instructions(self) -> dict[str, str]:
        return {
            "poll": _(
                "Nothing to set up on the site: Cercle reads the feed regularly and "
                "asks only for what changed."
            )
        }
