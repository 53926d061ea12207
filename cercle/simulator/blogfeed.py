"""A small static RSS 2.0 feed for the demo's external blog (read by the RSS connector).

The demo serves the bytes of `render_feed(...)` at some URL with an `ETag`
(`etag_of`) so the connector's conditional polling is exercised: answer 304
when `If-None-Match` equals it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.etree import ElementTree as ET

DC = "http://purl.org/dc/elements/1.1/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"


@dataclass(frozen=True, slots=True)
class BlogPost:
    guid: str
    title: str
    link: str
    author: str
    published: datetime
    html: str  # the post's body (HTML, sanitised by the connector on the way in)


def render_feed(
    title: str, link: str, description: str, posts: Sequence[BlogPost], language: str = "fr-fr"
) -> bytes:
    """An RSS 2.0 document (UTF-8) with `dc:creator` and `content:encoded`, newest post first."""
    ET.register_namespace("dc", DC)
    ET.register_namespace("content", CONTENT)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    for name, value in (
        ("title", title),
        ("link", link),
        ("description", description),
        ("language", language),
    ):
        ET.SubElement(channel, name).text = value
    for post in sorted(posts, key=lambda p: p.published, reverse=True):
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = post.title
        ET.SubElement(item, "link").text = post.link
        ET.SubElement(item, "guid", {"isPermaLink": "false"}).text = post.guid
        ET.SubElement(item, f"{{{DC}}}creator").text = post.author
        ET.SubElement(item, "pubDate").text = format_datetime(post.published)
        ET.SubElement(item, f"{{{CONTENT}}}encoded").text = post.html
    return bytes(ET.tostring(rss, encoding="utf-8", xml_declaration=True))


def etag_of(body: bytes) -> str:
    """A strong ETag for a feed document."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
